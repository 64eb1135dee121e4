// File: flopline/killswitch/messages.h
//
// Every message of the control plane as a typed struct, parsed without exceptions: each field's
// JSON type and range is checked, and a message that fails any check is an error naming the field,
// never a half-read value. JSON in, JSON out (ToJson), one object per line.
//
// Client to controller (inside an authenticated envelope, auth.h):
//   enroll   {seq, id, model, lineage[], deployment, nonce}
//   renew    {seq, id}
//   ack      {seq, id, fence, result, stopped_at_ms?, refusal?, detail?}
//   exited   {seq, id, code}
//   shutdown {seq, scope, reason, timeout_ms, drill, sent_ms}    (operator)
//   status   {seq}                                             (operator)
// Controller to client:
//   hello    {nonce}                                  plain, first on every connection
//   enrolled {seq, note, key, orders[]}               sealed; `note` is signed by the controller
//   renewed  {seq}                                    sealed
//   order    {order}                                  plain: the order is itself signed
//   error    {message}                                plain or sealed
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "flopline/core/result.h"

namespace flopline::killswitch {

// Lines longer than this (without their newline) close the connection.
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;

struct EnrollMsg {
  std::uint64_t seq = 0;
  std::string id, model, deployment, nonce;
  std::vector<std::string> lineage;
};
struct RenewMsg {
  std::uint64_t seq = 0;
  std::string id;
};
struct AckMsg {
  enum class Result { kStopped, kDrained, kFailClosed, kRefused, kNotStarted };
  std::uint64_t seq = 0;
  std::string id;
  std::uint64_t fence = 0;
  Result result = Result::kStopped;
  std::optional<std::int64_t> stopped_at_ms;
  std::string refusal, detail;
};
struct ExitedMsg {
  std::uint64_t seq = 0;
  std::string id;
  std::int64_t code = 0;
};
// An order's reason is logged, signed into the order and recorded: bounded.
inline constexpr std::size_t kMaxReasonBytes = 1024;
struct ShutdownMsg {
  std::uint64_t seq = 0;
  std::string scope, reason;
  std::int64_t timeout_ms = 0, sent_ms = 0;
  bool drill = false;
};
struct StatusMsg {
  std::uint64_t seq = 0;
};
using ClientMessage = std::variant<EnrollMsg, RenewMsg, AckMsg, ExitedMsg, ShutdownMsg, StatusMsg>;

std::string_view AckResultName(AckMsg::Result r);
std::optional<AckMsg::Result> AckResultFromName(std::string_view name);

core::Result<ClientMessage> ParseClientMessage(std::string_view text);
// One line of JSON, never throwing: bytes that are not UTF-8 (from a flag, say) become U+FFFD.
std::string Dump(const nlohmann::json& j, int indent = -1);
nlohmann::json ToJson(const ClientMessage& m);
std::uint64_t SeqOf(const ClientMessage& m);
// The agent id an agent message speaks for; empty for operator messages.
std::string AgentIdOf(const ClientMessage& m);

// The text the controller signs in `enrolled`: it proves the controller's key to the agent and
// fixes the fence floor (every fence issued before the agent enrolled is at or below it).
struct EnrolledNote {
  std::string agent, nonce;
  std::uint64_t fence = 0;
  std::int64_t ttl_ms = 0;
  std::string Text() const;  // canonical JSON and a newline
  static core::Result<EnrolledNote> Parse(std::string_view text);
};

struct HelloMsg {
  std::string nonce;
};
struct EnrolledMsg {
  std::uint64_t seq = 0;
  std::string note, key;
  std::vector<std::string> orders;  // signed orders already in force for this agent
};
struct RenewedMsg {
  std::uint64_t seq = 0;
};
struct OrderMsg {
  std::string order;
};
struct ErrorMsg {
  std::string message;
};
using ControllerMessage = std::variant<HelloMsg, EnrolledMsg, RenewedMsg, OrderMsg, ErrorMsg>;

core::Result<ControllerMessage> ParseControllerMessage(std::string_view text);
nlohmann::json ToJson(const ControllerMessage& m);

// Typed reads of one field of a JSON object, for the other messages (reports, status, etcd).
core::Result<std::string> StringField(const nlohmann::json& j, std::string_view key);
core::Result<std::uint64_t> UnsignedField(const nlohmann::json& j, std::string_view key);
core::Result<std::int64_t> IntegerField(const nlohmann::json& j, std::string_view key);
core::Result<bool> BoolField(const nlohmann::json& j, std::string_view key);
core::Result<std::vector<std::string>> StringsField(const nlohmann::json& j, std::string_view key);

}  // namespace flopline::killswitch
