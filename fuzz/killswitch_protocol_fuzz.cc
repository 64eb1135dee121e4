// The controller's message handler, in process, on the fuzzer's bytes: each input is split into
// lines and fed to a live controller over a socketpair, some lines sealed with real credentials (a
// first byte 'A': as agent fz, 'O': as the operator) so the typed parsing behind authentication is
// reached too. The controller must never crash, and must then still answer an authenticated
// operator's shutdown on a new connection with a report.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/controller.h"
#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/net.h"
#include "flopline/killswitch/protocol.h"

namespace ks = flopline::killswitch;

namespace {

const flopline::ledger::Signer& TheSigner() {
  static const auto* signer = new flopline::ledger::Signer(*flopline::ledger::Signer::Parse(
      "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"));
  return *signer;
}

// A new connection to `c`: the client's end and the hello's nonce.
std::pair<ks::LineConn, std::string> Connect(ks::Controller& c) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
  c.Adopt(sv[0]);
  ks::LineConn client(sv[1], 1 << 24);
  c.Step(0);
  std::optional<std::string> hello = client.ReadLine(10'000);
  auto m =
      hello
          ? ks::ParseControllerMessage(*hello)
          : flopline::core::Result<ks::ControllerMessage>(flopline::core::InvalidArgument("none"));
  if (!m || !std::holds_alternative<ks::HelloMsg>(*m)) std::abort();
  ks::SetNonBlocking(sv[1]);
  return {std::move(client), std::get<ks::HelloMsg>(*m).nonce};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ks::Secret master = ks::MasterSecret(TheSigner());
  static const ks::Credential agent = *ks::DeriveCredential(master, "agent:fz");
  static const ks::Credential op = *ks::DeriveCredential(master, "operator");
  ks::ControllerOptions options;
  options.lease_ttl_ms = 600'000;
  options.auth_timeout_ms = 600'000;
  options.max_connections = 64;
  ks::Controller controller(options, TheSigner(), ks::LocalCoordinator());

  auto [client, nonce] = Connect(controller);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    size_t eol = input.find('\n');
    std::string_view line = input.substr(0, eol);
    input.remove_prefix(eol == std::string_view::npos ? input.size() : eol + 1);
    std::string wire(line);
    if (!line.empty() && (line[0] == 'A' || line[0] == 'O')) {
      const ks::Credential& c = line[0] == 'A' ? agent : op;
      wire = ks::Seal(ks::SessionKey(c.secret, nonce), ks::Direction::kClient, c.From(),
                      line.substr(1));
    }
    if (eol != std::string_view::npos) wire += '\n';
    if (send(client.fd(), wire.data(), wire.size(), MSG_NOSIGNAL) < 0) break;  // closed on us
    controller.Step(0);
    client.ReadSome();
    while (client.NextLine()) {
    }
  }
  controller.Step(0);
  client.Close();

  // Still serving: an authenticated shutdown gets its report.
  auto [op_conn, op_nonce] = Connect(controller);
  ks::ClientMessage shutdown =
      ks::ShutdownMsg{1, "agent:check", "fuzz", 60'000, ks::NowMs(), false};
  std::string line = ks::Seal(ks::SessionKey(op.secret, op_nonce), ks::Direction::kClient,
                              op.From(), ks::ToJson(shutdown).dump()) +
                     "\n";
  if (send(op_conn.fd(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size()))
    std::abort();
  bool reported = false;
  for (int turn = 0; turn < 1000 && !reported; ++turn) {
    controller.Step(1);
    op_conn.ReadSome();
    while (std::optional<std::string> reply = op_conn.NextLine()) {
      auto env = ks::ParseEnvelope(*reply);
      if (!env ||
          !ks::MacValid(ks::SessionKey(op.secret, op_nonce), ks::Direction::kController, *env))
        std::abort();
      auto j = nlohmann::json::parse(env->msg, nullptr, false);
      if (ks::StringField(j, "type").value_or("") == "report") reported = true;
    }
  }
  if (!reported) std::abort();
  op_conn.Close();
  return 0;
}
