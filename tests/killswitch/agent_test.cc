// The agent against a controller played by hand: what the agent does with lines that arrive
// together. No timing assertions: every wait is a generous bound that only a stuck agent reaches.
#include "flopline/killswitch/agent.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/protocol.h"

namespace flopline::killswitch {
namespace {

constexpr std::int64_t kWaitMs = 60'000;  // only a stuck agent takes this long

// Issue 16 item 3 (the tail): an order that reached the agent in the same read as its enrolment
// sat in the agent's buffer, unseen, until the next renewal (TTL/3 later) woke it. With a 600 s
// lease that is 200 s: the ack must come long before.
TEST(Agent, AnOrderThatArrivesWithTheEnrolmentIsObeyedAtOnce) {
  ledger::Signer signer = *ledger::Signer::Generate("flopline-killswitch");
  Credential cred = *DeriveCredential(MasterSecret(signer), "agent:a1");
  auto listener = Listen({"127.0.0.1", 0});
  ASSERT_TRUE(listener) << listener.error().message;
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(*listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::uint16_t port = ntohs(addr.sin_port);

  pid_t agent = fork();
  ASSERT_GE(agent, 0);
  if (agent == 0) {
    AgentOptions o;
    o.controllers = {{"127.0.0.1", port}};
    o.id = "a1";
    o.model = "m";
    o.command = {"sleep", "600"};
    o.grace_ms = 5000;
    o.pubkey = signer.VerifierKey();
    o.credential = cred;
    _exit(RunAgent(o));
  }
  pollfd p{*listener, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, static_cast<int>(kWaitMs)), 1);
  int fd = accept(*listener, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  LineConn conn(fd);
  std::string hello_nonce = RandomNonce();
  ASSERT_TRUE(conn.SendLine(Dump(ToJson(ControllerMessage(HelloMsg{hello_nonce})))));
  Secret session = SessionKey(cred.secret, hello_nonce);

  std::optional<std::string> line = conn.ReadLine(kWaitMs);
  ASSERT_TRUE(line);
  auto env = ParseEnvelope(*line);
  ASSERT_TRUE(env && MacValid(session, Direction::kClient, *env));
  auto enroll = ParseClientMessage(env->msg);
  ASSERT_TRUE(enroll && std::holds_alternative<EnrollMsg>(*enroll));
  const EnrollMsg& e = std::get<EnrollMsg>(*enroll);

  const std::uint64_t floor = 1000;
  auto note = signer.Sign(EnrolledNote{"a1", e.nonce, floor, 600'000}.Text());
  ASSERT_TRUE(note);
  std::string enrolled = Seal(session, Direction::kController, "controller",
                              Dump(ToJson(ControllerMessage(
                                  EnrolledMsg{e.seq, *note, signer.VerifierKey(), {}}))));
  Order order;
  order.fence = floor + 1;
  order.scope = "agent:a1";
  order.reason = "test";
  order.issued_ms = NowMs();
  order.expires_ms = order.issued_ms + kWaitMs;
  auto signed_order = SignOrder(order, signer);
  ASSERT_TRUE(signed_order);
  // Both lines in one write: the agent reads them in one go.
  ASSERT_TRUE(conn.SendLine(enrolled + "\n" +
                            Dump(ToJson(ControllerMessage(OrderMsg{*signed_order})))));

  line = conn.ReadLine(kWaitMs);
  bool acked = false;
  if (line) {
    auto ack_env = ParseEnvelope(*line);
    auto ack = ack_env ? ParseClientMessage(ack_env->msg)
                       : core::Result<ClientMessage>(tl::unexpected(ack_env.error()));
    ASSERT_TRUE(ack && std::holds_alternative<AckMsg>(*ack)) << *line;
    EXPECT_EQ(std::get<AckMsg>(*ack).fence, order.fence);
    EXPECT_EQ(std::get<AckMsg>(*ack).result, AckMsg::Result::kStopped);
    acked = true;
  }
  EXPECT_TRUE(acked) << "no ack within " << kWaitMs << " ms: the order sat in the buffer";
  if (!acked) kill(agent, SIGKILL);
  int status = 0;
  waitpid(agent, &status, 0);
  if (acked) {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  conn.Close();
  close(*listener);
}

}  // namespace
}  // namespace flopline::killswitch
