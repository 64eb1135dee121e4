#include "flopline/killswitch/protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

namespace flopline::killswitch {

using core::Result;
using nlohmann::json;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<Scope> Scope::Parse(std::string_view text) {
  Scope s;
  if (text == "all") return s;
  size_t colon = text.find(':');
  std::string_view kind = text.substr(0, colon);
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return core::InvalidArgument(
        fmt::format("'{}' is not a scope: all, agent:ID, model:ID or lineage:ID", text), "scope");
  }
  s.id = text.substr(colon + 1);
  if (kind == "agent") {
    s.kind = Kind::kAgent;
  } else if (kind == "model") {
    s.kind = Kind::kModel;
  } else if (kind == "lineage") {
    s.kind = Kind::kLineage;
  } else {
    return core::InvalidArgument(
        fmt::format("'{}' is not a scope: all, agent:ID, model:ID or lineage:ID", text), "scope");
  }
  return s;
}

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  return out;
}

std::string Scope::ToString() const {
  switch (kind) {
    case Kind::kAll:
      return "all";
    case Kind::kAgent:
      return "agent:" + id;
    case Kind::kModel:
      return "model:" + id;
    case Kind::kLineage:
      return "lineage:" + id;
  }
  return "all";
}

bool Scope::Matches(const std::string& agent, const std::string& model,
                    const std::vector<std::string>& lineage) const {
  switch (kind) {
    case Kind::kAll:
      return true;
    case Kind::kAgent:
      return agent == id;
    case Kind::kModel:
      return model == id;
    case Kind::kLineage:
      return model == id || std::find(lineage.begin(), lineage.end(), id) != lineage.end();
  }
  return false;
}

std::string Order::Text() const {
  json j = {{"fence", fence},         {"scope", scope},           {"reason", reason},
            {"issued_ms", issued_ms}, {"expires_ms", expires_ms}, {"drain", drain},
            {"drain_ms", drain_ms},   {"targets", targets}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<Order> Order::ParseText(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j["fence"].is_number_unsigned() ||
      !j["scope"].is_string() || !j["reason"].is_string() || !j["issued_ms"].is_number_integer() ||
      !j["expires_ms"].is_number_integer() || !j["drain"].is_array() ||
      !j["drain_ms"].is_number_integer() || !j["targets"].is_array()) {
    return core::InvalidArgument("an order's text is not the order JSON");
  }
  Order o;
  o.fence = j["fence"];
  o.scope = j["scope"];
  o.reason = j["reason"];
  o.issued_ms = j["issued_ms"];
  o.expires_ms = j["expires_ms"];
  o.drain_ms = j["drain_ms"];
  for (const json& d : j["drain"]) {
    if (!d.is_string()) return core::InvalidArgument("an order's drain list holds a non-string");
    o.drain.push_back(d);
  }
  for (const json& t : j["targets"]) {
    if (!t.is_string()) return core::InvalidArgument("an order's target list holds a non-string");
    o.targets.push_back(t);
  }
  return o;
}

Result<std::string> SignOrder(const Order& order, const ledger::Signer& signer) {
  return signer.Sign(order.Text());
}

std::string_view RefusalName(Refusal r) {
  switch (r) {
    case Refusal::kForged:
      return "forged";
    case Refusal::kExpired:
      return "expired";
    case Refusal::kReplayed:
      return "replayed";
    case Refusal::kNotForMe:
      return "not-for-me";
  }
  return "refused";
}

CheckedOrder CheckOrder(std::string_view signed_note, const ledger::Verifier& verifier,
                        std::uint64_t last_fence, std::int64_t now_ms, const std::string& agent,
                        const std::string& model, const std::vector<std::string>& lineage) {
  CheckedOrder out;
  Result<std::string> text = verifier.Open(signed_note);
  if (!text) {
    out.refusal = Refusal::kForged;
    out.detail = text.error().message;
    return out;
  }
  Result<Order> order = Order::ParseText(*text);
  if (!order) {
    out.refusal = Refusal::kForged;
    out.detail = order.error().message;
    return out;
  }
  Result<Scope> scope = Scope::Parse(order->scope);
  if (order->expires_ms <= now_ms) {
    out.refusal = Refusal::kExpired;
    out.detail =
        fmt::format("order {} expired {} ms ago", order->fence, now_ms - order->expires_ms);
  } else if (order->fence <= last_fence) {
    out.refusal = Refusal::kReplayed;
    out.detail =
        fmt::format("fence {} is not above the last one acted on, {}", order->fence, last_fence);
  } else if (!scope || (!scope->Matches(agent, model, lineage) &&
                        std::find(order->targets.begin(), order->targets.end(), agent) ==
                            order->targets.end())) {
    out.refusal = Refusal::kNotForMe;
    out.detail = fmt::format("scope '{}' does not include this agent", order->scope);
  }
  out.order = std::move(*order);
  return out;
}

}  // namespace flopline::killswitch
