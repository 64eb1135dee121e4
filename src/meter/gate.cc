// Gate mode (gate.h): a shutdown order through the kill switch's controller before a line whose
// prior duties are unmet.
#include "flopline/meter/gate.h"

#include <fmt/format.h>

#include "flopline/core/format.h"
#include "flopline/killswitch/client.h"
#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/protocol.h"

namespace flopline::meter {

using nlohmann::json;

bool GateApplies(const GateOptions& options, const Alert& alert) {
  if (!alert.duties_unmet) return false;
  if (alert.kind == "within" || alert.kind == "crossed") return true;
  return alert.level >= options.at_fraction;
}

std::string GateReason(const Alert& a) {
  const WatchedLine& l = *a.line;
  std::vector<std::string> unmet;
  for (const Duty& d : l.duties) {
    if (d.Unmet()) unmet.push_back(fmt::format("{} ({})", d.id, d.cite));
  }
  std::string reason = fmt::format(
      "flopline meter gate: run {} ({}) at {} of the {} {} line ({}: {} of {} FLOP, {}); duties owed before it "
      "and not recorded as met: {}",
      a.run, a.model, core::Percent(a.projection.fraction), l.regime, l.name, l.cite, core::Sci3(a.projection.value),
      core::Sci3(l.threshold), a.kind, core::Join(unmet, ", "));
  if (reason.size() > killswitch::kMaxReasonBytes) {
    reason.resize(killswitch::kMaxReasonBytes - 3);
    reason += "...";
  }
  return reason;
}

core::Result<GateOrder> Stop(const GateOptions& options, const Alert& alert, ledger::Log* log, core::Instant now) {
  GateOrder order;
  order.scope = options.scope.empty() ? "model:" + alert.model : options.scope;
  order.reason = GateReason(alert);
  killswitch::ShutdownMsg request{0, order.scope, order.reason, options.timeout_ms, 0, false};
  FL_ASSIGN_OR_RETURN(order.report,
                      killswitch::Ask(options.controllers, options.credential, request, options.timeout_ms + 5000));
  order.report.erase("type");
  auto targeted = killswitch::UnsignedField(order.report, "targeted");
  auto not_stopped = killswitch::StringsField(order.report, "not_stopped");
  order.complete = targeted && *targeted > 0 && not_stopped && not_stopped->empty();
  if (log) {
    json doc = {{"scope", order.scope},
                {"reason", order.reason},
                {"ordered_by", "flopline meter gate"},
                {"report", order.report},
                {"alert", AlertToJson(alert)}};
    ledger::RecordInput record{"shutdown-order", alert.model, doc.dump(), now, {}};
    FL_RETURN_IF_ERROR(log->Append({record}));
  }
  return order;
}

}  // namespace flopline::meter
