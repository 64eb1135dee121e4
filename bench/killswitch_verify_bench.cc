// The arithmetic floor of an agent's answer to a shutdown order (issue 16 item 3): what each agent
// must compute per order, on one core, with nothing skipped or cached. docs/benchmarks.md ("Kill
// switch: the per-agent floor") multiplies it out for 10,000 and 100,000 agents on 2 cores.
//
//   Ed25519Verify     libsodium crypto_sign_verify_detached over an order note's signed text
//                     (the real note's text and signature; a fresh check every iteration)
//   CheckOrder        the agent's own check: the note's envelope and signature line, Ed25519,
//                     the order's JSON, expiry, fence above the floor, scope
//   ParseOrderLine    the order line as it arrives (the ControllerMessage's JSON), without checks
//   SealAck           the agent's acknowledgement: its JSON and the session MAC over it
//   AgentOrderTurn    the three above together: what a simulated agent computes per order
//   SocketExchange    one order line and one ack line across a socketpair: the four system calls
//                     (controller write, agent read, agent write, controller read) per agent
//   ControllerAck     the controller's side of one ack: envelope, MAC check, the ack's JSON
#include <benchmark/benchmark.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/protocol.h"
#include "flopline/ledger/note.h"

namespace {

using namespace flopline::killswitch;
using flopline::ledger::Signer;
using flopline::ledger::Verifier;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "killswitch_verify_bench: %s\n", what.c_str());
  std::exit(1);
}

// One signed order as the controller sends it: the fields a real fleet order carries (a scope, a
// reason, its expiry, a fence) and no lineage targets.
struct Fixture {
  Signer signer = *Signer::Generate("bench-controller");
  Verifier verifier = *Verifier::Parse(signer.VerifierKey());
  std::string note, line;
  Secret session{};
  Fixture() {
    Order o;
    o.fence = 1'000'002;
    o.scope = "model:frontier-7";
    o.reason = "compute threshold crossed: 1.02e26 FLOP";
    o.issued_ms = NowMs();
    o.expires_ms = o.issued_ms + 3'600'000;
    o.drain_ms = 60'000;
    auto signed_note = SignOrder(o, signer);
    if (!signed_note) Die(signed_note.error().message);
    note = *signed_note;
    line = Dump(ToJson(ControllerMessage(OrderMsg{note})));
    randombytes_buf(session.data(), session.size());
  }
};
const Fixture& F() {
  static const Fixture f;
  return f;
}

// The signed text of the order's note (the bytes an agent's Verifier checks), signed by a libsodium
// key pair of its own: the same message and algorithm as CheckOrder's verification, called bare.
void BM_Ed25519Verify(benchmark::State& state) {
  const std::string& note = F().note;
  size_t blank = note.rfind("\n\n");
  if (blank == std::string::npos) Die("no signature in the note");
  std::string text = note.substr(0, blank + 1);
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES],
      sig[crypto_sign_BYTES];
  crypto_sign_keypair(pk, sk);
  const auto* msg = reinterpret_cast<const unsigned char*>(text.data());
  crypto_sign_detached(sig, nullptr, msg, text.size(), sk);
  if (crypto_sign_verify_detached(sig, msg, text.size(), pk) != 0) Die("the signature is bad");
  for (auto _ : state) {
    int rc = crypto_sign_verify_detached(sig, msg, text.size(), pk);
    benchmark::DoNotOptimize(rc);
  }
  state.counters["text_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_Ed25519Verify);

void BM_CheckOrder(benchmark::State& state) {
  for (auto _ : state) {
    CheckedOrder c = CheckOrder(F().note, F().verifier, 1, NowMs(), "agent-1", "frontier-7", {});
    if (c.refusal) Die("refused: " + c.detail);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_CheckOrder);

void BM_ParseOrderLine(benchmark::State& state) {
  for (auto _ : state) {
    auto m = ParseControllerMessage(F().line);
    if (!m || !std::holds_alternative<OrderMsg>(*m)) Die("not an order line");
    benchmark::DoNotOptimize(m);
  }
  state.counters["line_bytes"] = static_cast<double>(F().line.size());
}
BENCHMARK(BM_ParseOrderLine);

std::string AckLine() {
  AckMsg ack{0, "agent-1", 1'000'002, AckMsg::Result::kStopped, NowMs(), "", ""};
  return Seal(F().session, Direction::kClient, "agent:agent-1", Dump(ToJson(ClientMessage(ack))));
}

void BM_SealAck(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(AckLine());
}
BENCHMARK(BM_SealAck);

void BM_AgentOrderTurn(benchmark::State& state) {
  for (auto _ : state) {
    auto m = ParseControllerMessage(F().line);
    if (!m || !std::holds_alternative<OrderMsg>(*m)) Die("not an order line");
    CheckedOrder c = CheckOrder(std::get<OrderMsg>(*m).order, F().verifier, 1, NowMs(), "agent-1",
                                "frontier-7", {});
    if (c.refusal) Die("refused: " + c.detail);
    benchmark::DoNotOptimize(AckLine());
  }
}
BENCHMARK(BM_AgentOrderTurn);

void BM_SocketExchange(benchmark::State& state) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) Die("socketpair");
  std::string order = F().line + "\n", ack = AckLine() + "\n";
  std::string buf(64 * 1024, '\0');
  auto read_line = [&](int fd, size_t n) {
    size_t got = 0;
    while (got < n) {
      ssize_t r = read(fd, buf.data(), buf.size());
      if (r <= 0) Die("read");
      got += static_cast<size_t>(r);
    }
  };
  for (auto _ : state) {
    if (write(sv[0], order.data(), order.size()) != static_cast<ssize_t>(order.size())) Die("w");
    read_line(sv[1], order.size());
    if (write(sv[1], ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) Die("w");
    read_line(sv[0], ack.size());
  }
  close(sv[0]);
  close(sv[1]);
}
BENCHMARK(BM_SocketExchange);

void BM_ControllerAck(benchmark::State& state) {
  std::string line = AckLine();
  for (auto _ : state) {
    auto env = ParseEnvelope(line);
    if (!env || !MacValid(F().session, Direction::kClient, *env)) Die("the ack does not open");
    auto m = ParseClientMessage(env->msg);
    if (!m) Die("not a client message");
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_ControllerAck);

}  // namespace

BENCHMARK_MAIN();
