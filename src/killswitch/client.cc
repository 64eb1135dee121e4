// The operator's side of the protocol (client.h), shared by `flopline killswitch shutdown|drill|status`
// and the compute meter's gate.
#include "flopline/killswitch/client.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <sstream>
#include <variant>

#include "flopline/killswitch/net.h"
#include "flopline/killswitch/protocol.h"

namespace flopline::killswitch {

namespace ks = ::flopline::killswitch;
using nlohmann::json;

core::Result<std::vector<Endpoint>> ParseControllers(const std::string& list) {
  std::vector<ks::Endpoint> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    auto e = ks::Endpoint::Parse(item);
    if (!e) return core::InvalidArgument(e.error().message, "--controller");
    out.push_back(*e);
  }
  if (out.empty()) return core::InvalidArgument("give at least one ADDR:PORT", "--controller");
  return out;
}

// A credential file: a regular file, mode 0600 or stricter, of the role wanted.
core::Result<ks::Credential> ReadCredential(const std::string& path, ks::Credential::Role role) {
  struct stat st {};
  if (path.empty())
    return core::InvalidArgument("give --credential FILE (flopline killswitch credential)",
                                 "--credential");
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 4096) {
    return core::InvalidArgument(fmt::format("{} is not a credential file", path), "--credential");
  }
  if ((st.st_mode & 077) != 0) {
    return core::InvalidArgument(
        fmt::format("{}: the credential is readable by others (mode {:o}); chmod 600 it", path,
                    st.st_mode & 0777),
        "--credential");
  }
  FL_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
  FL_ASSIGN_OR_RETURN(ks::Credential c, ks::Credential::Parse(text));
  if (c.role != role) {
    return core::InvalidArgument(
        fmt::format("{} holds an {} credential; this command needs an {} one", path,
                    c.role == ks::Credential::Role::kAgent ? "agent" : "operator",
                    role == ks::Credential::Role::kAgent ? "agent" : "operator"),
        "--credential");
  }
  return c;
}

core::Result<json> Ask(const std::string& controller, const ks::Credential& credential,
                       ks::ClientMessage request, std::int64_t timeout_ms) {
  FL_ASSIGN_OR_RETURN(auto endpoints, ParseControllers(controller));
  core::Error last{core::Code::kUnavailable, "no controller answered", {}, "--controller"};
  for (const ks::Endpoint& e : endpoints) {
    auto fd = ks::Connect(e, 2000);
    if (!fd) {
      last = fd.error();
      continue;
    }
    // Replies grow with the fleet (status lists every agent, a report every target): far above
    // the 64 KiB a controller accepts from its peers.
    ks::LineConn conn(*fd, kMaxReplyBytes);
    std::optional<std::string> line = conn.ReadLine(5000);
    auto hello = line ? ks::ParseControllerMessage(*line)
                      : core::Result<ks::ControllerMessage>(core::InvalidArgument("no hello"));
    if (!hello || !std::holds_alternative<ks::HelloMsg>(*hello)) {
      conn.Close();
      last = {core::Code::kUnavailable,
              fmt::format("{} did not greet as a controller", e.ToString()),
              {},
              "--controller"};
      continue;
    }
    ks::Secret session = ks::SessionKey(credential.secret, std::get<ks::HelloMsg>(*hello).nonce);
    std::visit([](auto& m) { m.seq = 1; }, request);
    if (auto* s = std::get_if<ks::ShutdownMsg>(&request)) s->sent_ms = ks::NowMs();
    // A shutdown (or drill) is never sent to a second controller once one may have received it:
    // that would issue a second order. Only a status request is retried elsewhere.
    bool order = std::holds_alternative<ks::ShutdownMsg>(request);
    auto ambiguous = [&](const std::string& what) {
      return core::MakeError(
          core::Code::kUnavailable,
          fmt::format("{} accepted the connection and the order but {}: the order may have been "
                      "issued; not retried on another controller (check `flopline killswitch "
                      "status`, then decide)",
                      e.ToString(), what),
          "--controller");
    };
    if (!conn.SendLine(ks::Seal(session, ks::Direction::kClient, credential.From(),
                                ks::Dump(ks::ToJson(request))))) {
      conn.Close();
      if (order) return ambiguous("the connection failed while it was sent");
      continue;
    }
    line = conn.ReadLine(timeout_ms);
    bool overflowed = conn.overflowed();
    conn.Close();
    if (!line) {
      std::string what = overflowed ? fmt::format("its answer exceeded {} bytes", kMaxReplyBytes)
                                    : "did not answer in time";
      if (order) return ambiguous(what);
      last = {
          core::Code::kUnavailable, fmt::format("{} {}", e.ToString(), what), {}, "--controller"};
      continue;
    }
    std::string text = *line;
    auto envelope = ks::ParseEnvelope(*line);
    if (envelope) {
      if (!ks::MacValid(session, ks::Direction::kController, *envelope)) {
        return core::MakeError(core::Code::kUnavailable,
                               "the answer does not carry this session's mac", "--controller");
      }
      text = envelope->msg;
    }
    json reply = json::parse(text, nullptr, false);
    auto type = ks::StringField(reply, "type");
    if (!type)
      return core::MakeError(core::Code::kUnavailable, "the controller's answer is malformed",
                             "--controller");
    if (*type == "error") {
      auto message = ks::StringField(reply, "message");
      std::string m = message ? *message : "the controller refused";
      // Refused before authentication: the credential is wrong; after: the request is.
      bool auth = m.starts_with("authentication failed");
      return core::MakeError(auth ? core::Code::kFailedPrecondition : core::Code::kInvalidArgument,
                             m, auth ? "--credential" : "--scope");
    }
    if (!envelope)
      return core::MakeError(core::Code::kUnavailable, "the answer is not authenticated",
                             "--controller");
    return reply;
  }
  return tl::unexpected(last);
}

}  // namespace flopline::killswitch
