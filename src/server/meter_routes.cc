// The meter routes (meter_routes.h): thin adapters from HTTP to workspace::MeterView.
#include "flopline/server/meter_routes.h"

#include "responses.h"

namespace flopline::server {

namespace {

struct MeterApi {
  workspace::Workspace* ws;
  std::shared_ptr<workspace::MeterView> view;

  http::Response Runs(http::Request& req) {
    if (auto bad = OnlyQuery(req, {})) return *bad;
    auto out = view->Runs();
    if (!out) return Fail(out.error(), req);
    return Ok(200, *out);
  }

  http::Response Run(http::Request& req) {
    if (auto bad = OnlyQuery(req, {})) return *bad;
    auto out = view->Run(req.params["run"]);
    if (!out) return Fail(out.error(), req);
    return Ok(200, *out);
  }
};

}  // namespace

std::vector<http::Route> MeterRoutes(workspace::Workspace* ws, std::shared_ptr<workspace::MeterView> view) {
  auto api = std::make_shared<MeterApi>(MeterApi{ws, std::move(view)});
  const std::vector<std::string>& everyone = workspace::kRoles;
  // A read: refused with 503 when the server has no view of the meter's records; an auditor's is
  // logged first (as every read of the workspace API is).
  auto read = [api](http::Response (MeterApi::*f)(http::Request&)) {
    return [api, f](http::Request& req) {
      if (!api->view || !api->ws) {
        return http::Problem(503, TitleOf(503), "this server was started without the meter's view", "", req.path);
      }
      if (req.principal && req.principal->role == "auditor") {
        if (auto r = api->ws->RecordAction(req.principal->name, "read", req.target); !r) return Fail(r.error(), req);
      }
      return ((*api).*f)(req);
    };
  };
  return {
      {"GET", "/api/v1/meter", everyone, false, true,
       "the runs metered into the workspace (`flopline meter watch --store`), each with its model, counted FLOP and "
       "tokens, rate, the line not yet met it is nearest to (fraction, projected crossing with its range), lines "
       "met, whether duties before a line are unmet, and the meter-state record it comes from",
       read(&MeterApi::Runs), {}, 1000},
      {"GET", "/api/v1/meter/runs/{run}", everyone, false, true,
       "one metered run: the meter's report as of its latest state (rate with its range, each regime line with "
       "threshold, fraction, clause, projected crossing and the duties before it, status as if stopped now), its "
       "alerts and crossings with their records, and its counted FLOP over time",
       read(&MeterApi::Run), {}, 1000},
  };
}

}  // namespace flopline::server
