// File: flopline/server/meter_routes.h
//
// The live compute meter's routes (docs/api.md, docs/meter.md "In the workspace"), part of the
// workspace API's one route table (api.h ApiRoutes): every run that `flopline meter watch --store`
// metered into the workspace, and one run with its lines, projections, duties, crossings and its
// counted FLOP over time. Thin adapters over workspace::MeterView: the figures are the meter's own,
// read from the log with each record's document checked against its leaf.
#pragma once

#include <memory>
#include <vector>

#include "flopline/http/server.h"
#include "flopline/workspace/meter_view.h"
#include "flopline/workspace/workspace.h"

namespace flopline::server {

// The routes; `ws` and `view` may be null for the documented table (handlers never called). With
// no view, the routes answer 503.
std::vector<http::Route> MeterRoutes(workspace::Workspace* ws, std::shared_ptr<workspace::MeterView> view);

}  // namespace flopline::server
