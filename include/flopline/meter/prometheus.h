// File: flopline/meter/prometheus.h
//
// The meter's figures in the Prometheus text exposition format (version 0.0.4), base units and
// `_total` counters, so existing dashboards can chart them (docs/meter.md "Metrics"):
//
//   flopline_run_flop_total{run="r1",model="acme-f2"} 7e+24
//   flopline_line_fraction{run="r1",regime="eu-ai-act-gpai",line="...",param="systemic_flop",readings="as written"} 0.7
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace flopline::meter {

// From a Session::Report(). Label values are escaped (\\, \", \n) as the format asks.
std::string PrometheusText(const nlohmann::json& report);

}  // namespace flopline::meter
