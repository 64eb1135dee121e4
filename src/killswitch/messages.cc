#include "flopline/killswitch/messages.h"

#include <fmt/format.h>

#include <limits>

namespace flopline::killswitch {

using core::Result;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxName = 256;                    // ids, models, scopes
constexpr std::size_t kMaxList = 256;                    // lineage entries
constexpr std::int64_t kMaxTimeoutMs = 86'400'000;       // one day
constexpr std::int64_t kMaxSentMs = 10'000'000'000'000;  // Unix ms, the year 2286

tl::unexpected<core::Error> Bad(std::string_view key, std::string_view want) {
  return core::InvalidArgument(fmt::format("must be {}", want), std::string(key));
}

const json* Find(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// A short name: non-empty, printable, no spaces.
Result<std::string> NameField(const json& j, std::string_view key) {
  FL_ASSIGN_OR_RETURN(std::string s, StringField(j, key));
  bool ok = !s.empty() && s.size() <= kMaxName;
  for (char c : s) ok = ok && static_cast<unsigned char>(c) > ' ' && c != 0x7f;
  if (!ok)
    return Bad(key, "a non-empty name of printable characters without spaces, at most 256 bytes");
  return s;
}

std::string OptionalString(const json& j, std::string_view key, Result<bool>& ok) {
  const json* v = Find(j, key);
  if (v == nullptr) return "";
  if (!v->is_string()) {
    ok = Bad(key, "a string");
    return "";
  }
  return v->get<std::string>();
}

}  // namespace

Result<std::string> StringField(const json& j, std::string_view key) {
  const json* v = Find(j, key);
  if (v == nullptr || !v->is_string()) return Bad(key, "a string");
  return v->get<std::string>();
}

Result<std::uint64_t> UnsignedField(const json& j, std::string_view key) {
  const json* v = Find(j, key);
  if (v == nullptr || !v->is_number_unsigned()) return Bad(key, "a non-negative integer");
  return v->get<std::uint64_t>();
}

Result<std::int64_t> IntegerField(const json& j, std::string_view key) {
  const json* v = Find(j, key);
  if (v != nullptr && v->is_number_unsigned()) {
    if (v->get<std::uint64_t>() >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Bad(key, "an integer within 64 bits");
    }
    return static_cast<std::int64_t>(v->get<std::uint64_t>());
  }
  if (v == nullptr || !v->is_number_integer()) return Bad(key, "an integer");
  return v->get<std::int64_t>();
}

Result<bool> BoolField(const json& j, std::string_view key) {
  const json* v = Find(j, key);
  if (v == nullptr || !v->is_boolean()) return Bad(key, "true or false");
  return v->get<bool>();
}

Result<std::vector<std::string>> StringsField(const json& j, std::string_view key) {
  const json* v = Find(j, key);
  if (v == nullptr || !v->is_array()) return Bad(key, "an array of strings");
  std::vector<std::string> out;
  for (const json& e : *v) {
    if (!e.is_string()) return Bad(key, "an array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::string Dump(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string_view AckResultName(AckMsg::Result r) {
  switch (r) {
    case AckMsg::Result::kStopped:
      return "stopped";
    case AckMsg::Result::kDrained:
      return "drained";
    case AckMsg::Result::kFailClosed:
      return "fail-closed";
    case AckMsg::Result::kRefused:
      return "refused";
    case AckMsg::Result::kNotStarted:
      return "not-started";
  }
  return "stopped";
}

std::optional<AckMsg::Result> AckResultFromName(std::string_view name) {
  for (auto r : {AckMsg::Result::kStopped, AckMsg::Result::kDrained, AckMsg::Result::kFailClosed,
                 AckMsg::Result::kRefused, AckMsg::Result::kNotStarted}) {
    if (AckResultName(r) == name) return r;
  }
  return std::nullopt;
}

Result<ClientMessage> ParseClientMessage(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return core::InvalidArgument("a message must be one JSON object");
  FL_ASSIGN_OR_RETURN(std::string type, StringField(j, "type"));
  FL_ASSIGN_OR_RETURN(std::uint64_t seq, UnsignedField(j, "seq"));
  if (type == "enroll") {
    EnrollMsg m;
    m.seq = seq;
    FL_ASSIGN_OR_RETURN(m.id, NameField(j, "id"));
    FL_ASSIGN_OR_RETURN(m.model, NameField(j, "model"));
    FL_ASSIGN_OR_RETURN(m.nonce, NameField(j, "nonce"));
    FL_ASSIGN_OR_RETURN(m.lineage, StringsField(j, "lineage"));
    if (m.lineage.size() > kMaxList) return Bad("lineage", "at most 256 models");
    for (const std::string& l : m.lineage) {
      if (l.empty() || l.size() > kMaxName) return Bad("lineage", "a list of model ids");
    }
    Result<bool> ok = true;
    m.deployment = OptionalString(j, "deployment", ok);
    if (!ok) return tl::unexpected(ok.error());
    if (m.deployment.size() > kMaxName) return Bad("deployment", "at most 256 bytes");
    return m;
  }
  if (type == "renew") {
    RenewMsg m{seq, {}};
    FL_ASSIGN_OR_RETURN(m.id, NameField(j, "id"));
    return m;
  }
  if (type == "ack") {
    AckMsg m;
    m.seq = seq;
    FL_ASSIGN_OR_RETURN(m.id, NameField(j, "id"));
    FL_ASSIGN_OR_RETURN(m.fence, UnsignedField(j, "fence"));
    FL_ASSIGN_OR_RETURN(std::string result, StringField(j, "result"));
    auto r = AckResultFromName(result);
    if (!r) return Bad("result", "stopped, drained, fail-closed, refused or not-started");
    m.result = *r;
    if (Find(j, "stopped_at_ms") != nullptr) {
      FL_ASSIGN_OR_RETURN(m.stopped_at_ms, IntegerField(j, "stopped_at_ms"));
    }
    Result<bool> ok = true;
    m.refusal = OptionalString(j, "refusal", ok);
    m.detail = OptionalString(j, "detail", ok);
    if (!ok) return tl::unexpected(ok.error());
    return m;
  }
  if (type == "exited") {
    ExitedMsg m{seq, {}, 0};
    FL_ASSIGN_OR_RETURN(m.id, NameField(j, "id"));
    FL_ASSIGN_OR_RETURN(m.code, IntegerField(j, "code"));
    return m;
  }
  if (type == "shutdown") {
    ShutdownMsg m;
    m.seq = seq;
    FL_ASSIGN_OR_RETURN(m.scope, StringField(j, "scope"));
    if (m.scope.size() > kMaxName + 8) return Bad("scope", "at most 264 bytes");
    FL_ASSIGN_OR_RETURN(m.reason, StringField(j, "reason"));
    if (m.reason.size() > kMaxReasonBytes) return Bad("reason", "at most 1024 bytes");
    FL_ASSIGN_OR_RETURN(m.timeout_ms, IntegerField(j, "timeout_ms"));
    // Bounded here, so that the controller's sums and differences of times cannot overflow.
    if (m.timeout_ms < 1 || m.timeout_ms > kMaxTimeoutMs) {
      return Bad("timeout_ms", "within 1 ms and one day (86400000)");
    }
    FL_ASSIGN_OR_RETURN(m.sent_ms, IntegerField(j, "sent_ms"));
    if (m.sent_ms < 0 || m.sent_ms > kMaxSentMs) {
      return Bad("sent_ms", "Unix milliseconds within 0 and 10000000000000");
    }
    FL_ASSIGN_OR_RETURN(m.drill, BoolField(j, "drill"));
    return m;
  }
  if (type == "status") return StatusMsg{seq};
  return Bad("type", "enroll, renew, ack, exited, shutdown or status");
}

json ToJson(const ClientMessage& m) {
  struct Visitor {
    json operator()(const EnrollMsg& e) const {
      return {{"type", "enroll"}, {"seq", e.seq},         {"id", e.id},
              {"model", e.model}, {"lineage", e.lineage}, {"deployment", e.deployment},
              {"nonce", e.nonce}};
    }
    json operator()(const RenewMsg& r) const {
      return {{"type", "renew"}, {"seq", r.seq}, {"id", r.id}};
    }
    json operator()(const AckMsg& a) const {
      json j = {{"type", "ack"},
                {"seq", a.seq},
                {"id", a.id},
                {"fence", a.fence},
                {"result", AckResultName(a.result)}};
      if (a.stopped_at_ms) j["stopped_at_ms"] = *a.stopped_at_ms;
      if (!a.refusal.empty()) j["refusal"] = a.refusal;
      if (!a.detail.empty()) j["detail"] = a.detail;
      return j;
    }
    json operator()(const ExitedMsg& e) const {
      return {{"type", "exited"}, {"seq", e.seq}, {"id", e.id}, {"code", e.code}};
    }
    json operator()(const ShutdownMsg& s) const {
      return {{"type", "shutdown"},
              {"seq", s.seq},
              {"scope", s.scope},
              {"reason", s.reason},
              {"timeout_ms", s.timeout_ms},
              {"sent_ms", s.sent_ms},
              {"drill", s.drill}};
    }
    json operator()(const StatusMsg& s) const { return {{"type", "status"}, {"seq", s.seq}}; }
  };
  return std::visit(Visitor{}, m);
}

std::uint64_t SeqOf(const ClientMessage& m) {
  return std::visit([](const auto& x) { return x.seq; }, m);
}

std::string AgentIdOf(const ClientMessage& m) {
  if (auto* e = std::get_if<EnrollMsg>(&m)) return e->id;
  if (auto* r = std::get_if<RenewMsg>(&m)) return r->id;
  if (auto* a = std::get_if<AckMsg>(&m)) return a->id;
  if (auto* x = std::get_if<ExitedMsg>(&m)) return x->id;
  return "";
}

std::string EnrolledNote::Text() const {
  return Dump(json{{"agent", agent}, {"nonce", nonce}, {"fence", fence}, {"ttl_ms", ttl_ms}}) +
         "\n";
}

Result<EnrolledNote> EnrolledNote::Parse(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return core::InvalidArgument("the enrolment note is not a JSON object");
  EnrolledNote n;
  FL_ASSIGN_OR_RETURN(n.agent, StringField(j, "agent"));
  FL_ASSIGN_OR_RETURN(n.nonce, StringField(j, "nonce"));
  FL_ASSIGN_OR_RETURN(n.fence, UnsignedField(j, "fence"));
  FL_ASSIGN_OR_RETURN(n.ttl_ms, IntegerField(j, "ttl_ms"));
  return n;
}

Result<ControllerMessage> ParseControllerMessage(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return core::InvalidArgument("a message must be one JSON object");
  FL_ASSIGN_OR_RETURN(std::string type, StringField(j, "type"));
  if (type == "hello") {
    FL_ASSIGN_OR_RETURN(std::string nonce, NameField(j, "nonce"));
    return HelloMsg{nonce};
  }
  if (type == "enrolled") {
    EnrolledMsg m;
    FL_ASSIGN_OR_RETURN(m.seq, UnsignedField(j, "seq"));
    FL_ASSIGN_OR_RETURN(m.note, StringField(j, "note"));
    FL_ASSIGN_OR_RETURN(m.key, StringField(j, "key"));
    FL_ASSIGN_OR_RETURN(m.orders, StringsField(j, "orders"));
    return m;
  }
  if (type == "renewed") {
    FL_ASSIGN_OR_RETURN(std::uint64_t seq, UnsignedField(j, "seq"));
    return RenewedMsg{seq};
  }
  if (type == "order") {
    FL_ASSIGN_OR_RETURN(std::string order, StringField(j, "order"));
    return OrderMsg{order};
  }
  if (type == "error") {
    FL_ASSIGN_OR_RETURN(std::string message, StringField(j, "message"));
    return ErrorMsg{message};
  }
  return Bad("type", "hello, enrolled, renewed, order or error");
}

json ToJson(const ControllerMessage& m) {
  struct Visitor {
    json operator()(const HelloMsg& h) const { return {{"type", "hello"}, {"nonce", h.nonce}}; }
    json operator()(const EnrolledMsg& e) const {
      return {{"type", "enrolled"},
              {"seq", e.seq},
              {"note", e.note},
              {"key", e.key},
              {"orders", e.orders}};
    }
    json operator()(const RenewedMsg& r) const { return {{"type", "renewed"}, {"seq", r.seq}}; }
    json operator()(const OrderMsg& o) const { return {{"type", "order"}, {"order", o.order}}; }
    json operator()(const ErrorMsg& e) const { return {{"type", "error"}, {"message", e.message}}; }
  };
  return std::visit(Visitor{}, m);
}

}  // namespace flopline::killswitch
