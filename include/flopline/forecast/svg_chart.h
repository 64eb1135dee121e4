// File: flopline/forecast/svg_chart.h
//
// A self-contained SVG line chart with a logarithmic y axis, for `flopline forecast --svg`: one
// line per series, an optional shaded band (e.g. the 5th-95th percentiles) around a series, and
// dashed reference lines (thresholds, budgets). Opens in any browser.
#pragma once

#include <string>
#include <vector>

namespace flopline::forecast {

struct ChartSeries {
  std::string name;
  std::string color;           // any SVG colour, e.g. "#1f77b4"
  std::vector<double> values;  // one per year; values <= 0 are not drawn
  std::vector<double> band_low, band_high;  // empty, or one per year
  bool dashed = false;         // reference lines
};

struct Chart {
  std::string title;
  std::string y_label;
  std::vector<int> years;
  std::vector<ChartSeries> series;
};

std::string RenderSvg(const Chart& chart);

}  // namespace flopline::forecast
