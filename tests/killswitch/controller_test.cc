// A real controller on loopback, spoken to by hand: hostile lines, forged and replayed messages,
// idle sockets and endless lines must each cost only their own connection, and an authenticated
// operator must still get a shutdown through afterwards. No timing assertions: every wait is a
// generous bound that only a hung controller reaches.
#include "flopline/killswitch/controller.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/protocol.h"

namespace flopline::killswitch {
namespace {

using nlohmann::json;

constexpr std::int64_t kWaitMs = 30'000;  // only a hung controller takes this long

class Client {
 public:
  explicit Client(std::uint16_t port) {
    auto fd = Connect({"127.0.0.1", port}, 5000);
    EXPECT_TRUE(fd) << fd.error().message;
    conn_ = std::make_unique<LineConn>(fd ? *fd : -1, 1 << 24);
    if (std::optional<std::string> hello = conn_->ReadLine(kWaitMs)) {
      auto m = ParseControllerMessage(*hello);
      if (m && std::holds_alternative<HelloMsg>(*m)) nonce_ = std::get<HelloMsg>(*m).nonce;
    }
    EXPECT_FALSE(nonce_.empty()) << "no hello";
  }
  ~Client() { conn_->Close(); }
  const std::string& nonce() const { return nonce_; }

  bool Raw(std::string_view line) { return conn_->SendLine(line); }
  // The sealed line for `m` under `c` on this connection (seq set to the next one unless given).
  std::string SealedLine(const Credential& c, ClientMessage m,
                         std::optional<std::uint64_t> seq = std::nullopt) {
    std::visit([&](auto& x) { x.seq = seq.value_or(++seq_); }, m);
    return Seal(SessionKey(c.secret, nonce_), Direction::kClient, c.From(), ToJson(m).dump());
  }
  bool Send(const Credential& c, ClientMessage m) { return Raw(SealedLine(c, std::move(m))); }
  // The next line, unsealed when sealed (its mac checked under `c`); nullopt on EOF or timeout.
  std::optional<json> Next(const Credential& c) {
    std::optional<std::string> line = conn_->ReadLine(kWaitMs);
    if (!line) return std::nullopt;
    auto env = ParseEnvelope(*line);
    if (env) {
      EXPECT_TRUE(MacValid(SessionKey(c.secret, nonce_), Direction::kController, *env));
      return json::parse(env->msg);
    }
    return json::parse(*line);
  }
  // True once the controller has closed this connection (after whatever it sent first).
  bool Closed() {
    std::int64_t deadline = MonotonicMs() + kWaitMs;
    while (MonotonicMs() < deadline) {
      pollfd p{conn_->fd(), POLLIN, 0};
      if (poll(&p, 1, 100) == 1 && !conn_->ReadSome()) return true;
      while (conn_->NextLine()) {
      }
    }
    return false;
  }

 private:
  std::unique_ptr<LineConn> conn_;
  std::string nonce_;
  std::uint64_t seq_ = 0;
};

class ControllerTest : public ::testing::Test {
 protected:
  void Start(ControllerOptions options = {}) {
    options.listen = {"127.0.0.1", 0};
    if (options.lease_ttl_ms == 5000) options.lease_ttl_ms = 600'000;  // no lapse mid-test
    controller_ = std::make_unique<Controller>(options, signer_, LocalCoordinator());
    ASSERT_TRUE(controller_->Bind());
    thread_ = std::thread([this] { controller_->Run(); });
  }
  void TearDown() override {
    if (controller_) controller_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  Credential Cred(const std::string& from) {
    return *DeriveCredential(MasterSecret(signer_), from);
  }
  std::uint16_t port() const { return controller_->port(); }

  // Enrols `id` on `c` and returns the signed fence floor (0 when enrolment failed).
  std::uint64_t Enroll(Client& c, const std::string& id, const std::string& model,
                       json* enrolled = nullptr) {
    Credential cred = Cred("agent:" + id);
    EXPECT_TRUE(c.Send(cred, EnrollMsg{0, id, model, "", "nonce-" + id, {}}));
    std::optional<json> reply = c.Next(cred);
    if (!reply || reply->value("type", "") != "enrolled") return 0;
    if (enrolled != nullptr) *enrolled = *reply;
    auto note =
        ledger::Verifier::Parse(signer_.VerifierKey())->Open((*reply)["note"].get<std::string>());
    EXPECT_TRUE(note);
    auto parsed = EnrolledNote::Parse(*note);
    EXPECT_EQ(parsed->nonce, "nonce-" + id);
    return parsed->fence;
  }

  // An authenticated operator's shutdown of `scope`, answered with a report once `agents` (each a
  // connection and its agent's id) have received the order and acknowledged it.
  std::optional<json> Shutdown(const std::string& scope,
                               const std::vector<std::pair<Client*, std::string>>& agents = {},
                               std::vector<std::string>* notes = nullptr) {
    Client op(port());
    Credential cred = Cred("operator");
    EXPECT_TRUE(op.Send(cred, ShutdownMsg{0, scope, "test", 600'000, NowMs(), false}));
    for (const auto& [client, id] : agents) {
      Credential agent = Cred("agent:" + id);
      std::optional<json> order = client->Next(agent);
      EXPECT_TRUE(order && (*order)["type"] == "order") << id;
      if (!order || (*order)["type"] != "order") return std::nullopt;
      std::string note = (*order)["order"];
      if (notes != nullptr) notes->push_back(note);
      auto body = Order::ParseText(note.substr(0, note.find('\n') + 1));
      EXPECT_TRUE(body);
      EXPECT_TRUE(client->Send(
          agent, AckMsg{0, id, body->fence, AckMsg::Result::kStopped, NowMs(), "", ""}));
    }
    return op.Next(cred);
  }
  json Status() {
    Client op(port());
    Credential cred = Cred("operator");
    EXPECT_TRUE(op.Send(cred, StatusMsg{0}));
    return op.Next(cred).value_or(json());
  }
  std::string StateOf(const std::string& id) {
    json status = Status();
    for (const json& a : status["agents"]) {
      if (a["id"] == id) return a["state"];
    }
    return "absent";
  }

  ledger::Signer signer_ = *ledger::Signer::Generate("flopline-killswitch");
  std::unique_ptr<Controller> controller_;
  std::thread thread_;
};

// Issue 10, kill switch item 1: one line of the wrong types stopped the whole controller.
TEST_F(ControllerTest, MalformedLinesCloseTheirConnectionNeverTheController) {
  Start();
  Client agent(port());
  ASSERT_NE(Enroll(agent, "a1", "m1"), 0u);
  const std::vector<std::string> unsealed = {R"({"type":5})",
                                             R"({"type":"renew","id":5})",
                                             R"({"type":"shutdown","scope":5})",
                                             R"({"type":"ack","id":"a1","fence":"x"})",
                                             R"({"type":"enroll","id":[],"model":{}})",
                                             R"({"type":"status"})",
                                             R"([1,2])",
                                             "5",
                                             R"("x")",
                                             "null",
                                             "{",
                                             "\x01\xff",
                                             R"({"from":5,"msg":[],"mac":{}})",
                                             R"({"from":"operator","msg":"{}","mac":"00"})"};
  for (const std::string& line : unsealed) {
    Client c(port());
    ASSERT_TRUE(c.Raw(line));
    EXPECT_TRUE(c.Closed()) << line;
  }
  // Authenticated, but with fields of the wrong types: the same.
  const std::vector<std::string> bad_fields = {
      R"({"type":5,"seq":1})",
      R"({"type":"shutdown","seq":1,"scope":5,"reason":"r","timeout_ms":1000,"sent_ms":1,"drill":false})",
      R"({"type":"shutdown","seq":1,"scope":"all","reason":"r","timeout_ms":"1000","sent_ms":1,"drill":false})",
      R"({"type":"shutdown","seq":-1})",
      R"({"type":"status","seq":1.5})",
      R"({"type":"renew","seq":1,"id":5})"};
  Credential op = Cred("operator");
  for (const std::string& msg : bad_fields) {
    Client c(port());
    ASSERT_TRUE(c.Raw(Seal(SessionKey(op.secret, c.nonce()), Direction::kClient, "operator", msg)));
    EXPECT_TRUE(c.Closed()) << msg;
  }
  EXPECT_EQ(StateOf("a1"), "live");
  auto report = Shutdown("agent:a1", {{&agent, "a1"}});
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["type"], "report");
  EXPECT_EQ((*report)["targeted"], 1);
  EXPECT_EQ((*report)["stopped"], 1);
}

// Issue 10, kill switch item 2: anyone with a socket could shut down, read status, enrol under
// another agent's id or send exited/ack for one.
TEST_F(ControllerTest, OnlyAuthenticatedSendersChangeState) {
  Start();
  Client a1(port()), a2(port());
  ASSERT_NE(Enroll(a1, "a1", "m1"), 0u);
  ASSERT_NE(Enroll(a2, "a2", "m1"), 0u);
  {  // no credential at all
    Client c(port());
    ASSERT_TRUE(c.Raw(R"({"type":"shutdown","scope":"all","reason":"x","timeout_ms":1000})"));
    EXPECT_TRUE(c.Closed());
  }
  {  // a1's credential speaking for a2
    Client c(port());
    ASSERT_TRUE(c.Send(Cred("agent:a1"), ExitedMsg{0, "a2", 0}));
    EXPECT_TRUE(c.Closed());
  }
  {  // a1's credential claiming to be a2's
    Client c(port());
    Credential forged = Cred("agent:a1");
    forged.id = "a2";
    ASSERT_TRUE(c.Send(forged, ExitedMsg{0, "a2", 0}));
    EXPECT_TRUE(c.Closed());
  }
  {  // an agent's credential asking for an operator's command
    Client c(port());
    ASSERT_TRUE(c.Send(Cred("agent:a1"), ShutdownMsg{0, "all", "x", 60'000, NowMs(), false}));
    EXPECT_TRUE(c.Closed());
  }
  {  // the operator credential of another controller's key
    Client c(port());
    auto other = *ledger::Signer::Generate("flopline-killswitch");
    ASSERT_TRUE(c.Send(*DeriveCredential(MasterSecret(other), "operator"), StatusMsg{0}));
    EXPECT_TRUE(c.Closed());
  }
  {  // a captured operator message replayed on another connection, then on its own
    Client first(port());
    std::string line = first.SealedLine(Cred("operator"), StatusMsg{0});
    Client second(port());
    ASSERT_TRUE(second.Raw(line));
    EXPECT_TRUE(second.Closed());
  }
  {
    Client c(port());
    Credential cred = Cred("agent:a2");
    std::string renew = c.SealedLine(cred, RenewMsg{0, "a2"}, 7);
    ASSERT_TRUE(c.Raw(renew));
    ASSERT_TRUE(
        c.Next(cred));  // "not enrolled here": the connection is a2's, the enrolment is elsewhere
    ASSERT_TRUE(c.Raw(renew));  // the same seq again
    EXPECT_TRUE(c.Closed());
  }
  EXPECT_EQ(StateOf("a1"), "live");
  EXPECT_EQ(StateOf("a2"), "live");
  auto report = Shutdown("model:m1", {{&a1, "a1"}, {&a2, "a2"}});
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["targeted"], 2);
  EXPECT_EQ((*report)["stopped"], 2);
}

// Issue 10, kill switch item 3: idle connections under a descriptor limit blocked shutdown.
TEST_F(ControllerTest, IdleConnectionsNeverStarveAnOrder) {
  ControllerOptions o;
  o.max_connections = 24;
  o.max_unauthenticated = 8;
  Start(o);
  Client agent(port());
  ASSERT_NE(Enroll(agent, "a1", "m1"), 0u);
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    auto fd = Connect({"127.0.0.1", port()}, 5000);
    ASSERT_TRUE(fd);
    idle.push_back(*fd);
  }
  auto report = Shutdown("agent:a1", {{&agent, "a1"}});
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["targeted"], 1);
  EXPECT_EQ((*report)["stopped"], 1);
  for (int fd : idle) close(fd);
}

// Issue 10, kill switch item 3, second half: a shutdown whose client had given up was carried out
// later anyway. One that arrives past its own timeout is refused and issues no order.
TEST_F(ControllerTest, AShutdownArrivingAfterItsTimeoutIsNotCarriedOut) {
  Start();
  Client agent(port());
  ASSERT_NE(Enroll(agent, "a1", "m1"), 0u);
  Client op(port());
  Credential cred = Cred("operator");
  ASSERT_TRUE(op.Send(cred, ShutdownMsg{0, "agent:a1", "late", 1000, NowMs() - 60'000, false}));
  std::optional<json> reply = op.Next(cred);
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["type"], "error");
  EXPECT_EQ(StateOf("a1"), "live");
  // The agent's next message is the answer to its renewal, not an order.
  Credential a1 = Cred("agent:a1");
  ASSERT_TRUE(agent.Send(a1, RenewMsg{0, "a1"}));
  std::optional<json> next = agent.Next(a1);
  ASSERT_TRUE(next);
  EXPECT_EQ((*next)["type"], "renewed");
}

// Issue 10, kill switch item 4: 300 MiB without a newline grew the controller without bound.
TEST_F(ControllerTest, AnEndlessLineIsCutOffAtTheLimit) {
  Start();
  Client c(port());
  std::string chunk(1 << 20, 'x');
  std::thread writer([&] {
    for (int i = 0; i < 64; ++i) {
      if (!c.Raw(chunk.substr(0, chunk.size() - 1)))
        break;  // SendLine adds a newline: keep it rare
    }
  });
  // The controller closes the connection once a line passes 64 KiB; the writer then fails.
  writer.join();
  EXPECT_TRUE(c.Closed());
  auto report = Shutdown("all");
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["type"], "report");
}

// Issue 10, kill switch item 8: a captured order replayed to an agent that enrolled after it.
TEST_F(ControllerTest, TheSignedFenceFloorRefusesOrdersIssuedBeforeEnrolment) {
  Start();
  Client a1(port());
  ASSERT_NE(Enroll(a1, "a1", "m1"), 0u);
  std::vector<std::string> captured;
  ASSERT_TRUE(Shutdown("agent:a1", {{&a1, "a1"}}, &captured));
  ASSERT_EQ(captured.size(), 1u);
  std::string note = captured[0];
  Client fresh(port());
  std::uint64_t floor = Enroll(fresh, "a1-again", "m9");
  ASSERT_NE(floor, 0u);
  auto verifier = *ledger::Verifier::Parse(signer_.VerifierKey());
  // Unexpired and signed, and for this agent were its scope `all`: refused all the same.
  CheckedOrder c = CheckOrder(note, verifier, floor, NowMs(), "a1", "m1", {});
  EXPECT_EQ(c.refusal, Refusal::kReplayed);
}

// Issue 10, kill switch item 7: an order reaching no agent was a success, and an agent enrolling
// into a stopped scope right after the order ran.
TEST_F(ControllerTest, OrdersStayInForceForAgentsThatEnrolLater) {
  Start();
  auto report = Shutdown("model:m-late");
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["targeted"], 0);
  EXPECT_EQ((*report)["complete"], false);
  Client late(port());
  json enrolled;
  std::uint64_t floor = Enroll(late, "late", "m-late", &enrolled);
  ASSERT_NE(floor, 0u);
  ASSERT_EQ(enrolled["orders"].size(), 1u);
  auto verifier = *ledger::Verifier::Parse(signer_.VerifierKey());
  CheckedOrder c = CheckOrder(enrolled["orders"][0].get<std::string>(), verifier, floor, NowMs(),
                              "late", "m-late", {});
  EXPECT_FALSE(c.refusal) << c.detail;
  // Another model enrols freely.
  Client other(port());
  json free;
  ASSERT_NE(Enroll(other, "free", "m-other", &free), 0u);
  EXPECT_TRUE(free["orders"].empty());
}

// A controller whose loop stalled past the TTL infers a lapse; the agent, still within the lease it
// counts itself, renews on its connection and is live again (it was refused and failed closed).
TEST(ControllerStep, ARenewalAfterAStalledLoopIsAccepted) {
  auto signer = *ledger::Signer::Generate("flopline-killswitch");
  ControllerOptions o;
  o.lease_ttl_ms = 100;
  o.max_connections = 16;
  Controller controller(o, signer, LocalCoordinator());
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  controller.Adopt(sv[0]);
  controller.Step(0);
  LineConn client(sv[1]);
  auto hello = ParseControllerMessage(*client.ReadLine(kWaitMs));
  ASSERT_TRUE(hello && std::holds_alternative<HelloMsg>(*hello));
  Credential cred = *DeriveCredential(MasterSecret(signer), "agent:a1");
  Secret session = SessionKey(cred.secret, std::get<HelloMsg>(*hello).nonce);
  auto send = [&](ClientMessage m) {
    return client.SendLine(Seal(session, Direction::kClient, cred.From(), ToJson(m).dump()));
  };
  auto next = [&]() -> std::optional<json> {
    for (int turn = 0; turn < 1000; ++turn) {
      controller.Step(10);
      if (std::optional<std::string> line = client.ReadLine(10)) {
        auto env = ParseEnvelope(*line);
        if (!env || !MacValid(session, Direction::kController, *env)) return std::nullopt;
        return json::parse(env->msg);
      }
    }
    return std::nullopt;
  };
  ASSERT_TRUE(send(EnrollMsg{1, "a1", "m1", "", "n", {}}));
  ASSERT_EQ(next().value_or(json())["type"], "enrolled");
  usleep(300'000);     // the loop does not run: longer than the TTL
  controller.Step(0);  // and now infers the lapse
  ASSERT_TRUE(send(RenewMsg{2, "a1"}));
  EXPECT_EQ(next().value_or(json())["type"], "renewed");
  client.Close();
}

// A controller driven by hand (Step), with peers on socketpairs: what happens in one turn is
// deterministic.
class Stepped {
 public:
  explicit Stepped(ControllerOptions o = {},
                   std::unique_ptr<Coordinator> coordinator = LocalCoordinator()) {
    o.lease_ttl_ms = 600'000;
    if (o.max_connections == 0) o.max_connections = 64;
    controller_ = std::make_unique<Controller>(o, signer_, std::move(coordinator));
  }
  struct Peer {
    std::unique_ptr<LineConn> conn;
    Secret session{};
    Credential cred;
    std::uint64_t seq = 0;
  };
  // A new connection speaking as `from` ("operator" or "agent:ID").
  Peer Connect(const std::string& from) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    controller_->Adopt(sv[0]);
    controller_->Step(0);
    Peer p;
    p.conn = std::make_unique<LineConn>(sv[1], 1 << 26);
    std::optional<std::string> line = p.conn->ReadLine(kWaitMs);
    p.cred = *DeriveCredential(MasterSecret(signer_), from);
    auto hello = ParseControllerMessage(line.value_or(""));
    EXPECT_TRUE(hello && std::holds_alternative<HelloMsg>(*hello));
    if (hello && std::holds_alternative<HelloMsg>(*hello)) {
      p.session = SessionKey(p.cred.secret, std::get<HelloMsg>(*hello).nonce);
    }
    return p;
  }
  bool Send(Peer& p, ClientMessage m) {
    std::visit([&](auto& x) { x.seq = ++p.seq; }, m);
    return p.conn->SendLine(Seal(p.session, Direction::kClient, p.cred.From(), ToJson(m).dump()));
  }
  // The next line to `p`, unsealed, stepping the controller meanwhile; nullopt on EOF or timeout.
  std::optional<json> Next(Peer& p) {
    auto unseal = [&](const std::string& line) -> std::optional<json> {
      auto env = ParseEnvelope(line);
      if (!env) return json::parse(line, nullptr, false);
      if (!MacValid(p.session, Direction::kController, *env)) return std::nullopt;
      return json::parse(env->msg, nullptr, false);
    };
    // A line read with an earlier one (several can come in one read) is already here.
    if (std::optional<std::string> line = p.conn->NextLine()) return unseal(*line);
    std::int64_t deadline = MonotonicMs() + kWaitMs;
    while (MonotonicMs() < deadline) {
      controller_->Step(5);
      pollfd pf{p.conn->fd(), POLLIN, 0};
      if (poll(&pf, 1, 5) != 1) continue;
      bool open = p.conn->ReadSome();
      if (std::optional<std::string> line = p.conn->NextLine()) return unseal(*line);
      if (!open) return std::nullopt;
    }
    return std::nullopt;
  }
  // True once the controller has closed `p`'s connection.
  bool Closed(Peer& p) {
    std::int64_t deadline = MonotonicMs() + kWaitMs;
    while (MonotonicMs() < deadline) {
      controller_->Step(5);
      pollfd pf{p.conn->fd(), POLLIN, 0};
      if (poll(&pf, 1, 5) == 1 && !p.conn->ReadSome()) return true;
      while (p.conn->NextLine()) {
      }
    }
    return false;
  }
  Controller& controller() { return *controller_; }
  ledger::Signer signer_ = *ledger::Signer::Generate("flopline-killswitch");

 private:
  std::unique_ptr<Controller> controller_;
};

// Review finding 1: an agent's last line arriving together with its FIN was never read (the loop
// over buffered lines stopped at EOF), so a real stop was reported as a disconnection.
TEST(ControllerStep, ALastLineSentWithTheConnectionsEndIsCounted) {
  Stepped s;
  Stepped::Peer agent = s.Connect("agent:a1");
  ASSERT_TRUE(s.Send(agent, EnrollMsg{0, "a1", "m1", "", "n", {}}));
  ASSERT_EQ(s.Next(agent).value_or(json())["type"], "enrolled");
  Stepped::Peer op = s.Connect("operator");
  // A short timeout, so that the broken controller reports (the agent disconnected) promptly.
  ASSERT_TRUE(s.Send(op, ShutdownMsg{0, "agent:a1", "test", 5000, NowMs(), false}));
  std::optional<json> order = s.Next(agent);
  ASSERT_TRUE(order && (*order)["type"] == "order");
  std::string note = (*order)["order"];
  auto body = Order::ParseText(note.substr(0, note.find('\n') + 1));
  ASSERT_TRUE(body);
  // The ack and the end of the connection, both waiting before the controller's next turn.
  ASSERT_TRUE(
      s.Send(agent, AckMsg{0, "a1", body->fence, AckMsg::Result::kStopped, NowMs(), "", ""}));
  ASSERT_EQ(shutdown(agent.conn->fd(), SHUT_WR), 0);
  std::optional<json> report = s.Next(op);
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["type"], "report");
  EXPECT_EQ((*report)["targeted"], 1);
  EXPECT_EQ((*report)["stopped"], 1) << report->dump();
  agent.conn->Close();
  op.conn->Close();
}

// Issue 16 item 3: the per-connection part of a turn runs on several threads (reads,
// authentication and parsing; the order's sends), what the lines do on the loop's thread. 100
// agents' enrolments wait on their sockets before one turn, with one forged line among them: the
// one turn enrols the 99 and closes the forger; then one order reaches all 99 and their acks, all
// waiting before one turn, complete the report.
TEST(ControllerStep, OneTurnServesManyConnectionsOnSeveralThreads) {
  ControllerOptions o;
  o.threads = 4;
  o.max_connections = 512;
  o.max_unauthenticated = 512;
  Stepped s(o);
  constexpr int kAgents = 100, kForger = 37;
  std::vector<Stepped::Peer> agents;
  for (int i = 0; i < kAgents; ++i) agents.push_back(s.Connect(fmt::format("agent:a{}", i)));
  for (int i = 0; i < kAgents; ++i) {
    if (i == kForger) {  // sealed under a key that is not its session's
      Stepped::Peer& p = agents[static_cast<size_t>(i)];
      Secret wrong{};
      ASSERT_TRUE(p.conn->SendLine(Seal(wrong, Direction::kClient, p.cred.From(),
                                        ToJson(ClientMessage(EnrollMsg{1, "a37", "m", "", "n", {}}))
                                            .dump())));
      continue;
    }
    ASSERT_TRUE(s.Send(agents[static_cast<size_t>(i)],
                       EnrollMsg{0, fmt::format("a{}", i), "m", "", "n", {}}));
  }
  s.controller().Step(1000);
  for (int i = 0; i < kAgents; ++i) {
    std::optional<std::string> line = agents[static_cast<size_t>(i)].conn->ReadLine(kWaitMs);
    ASSERT_TRUE(line) << i;
    auto env = ParseEnvelope(*line);
    if (i == kForger) {
      EXPECT_FALSE(env) << "the forger is told, unsealed, and closed";
      EXPECT_NE(line->find("bad mac"), std::string::npos) << *line;
      continue;
    }
    ASSERT_TRUE(env) << *line;
    EXPECT_EQ(json::parse(env->msg)["type"], "enrolled") << i;
  }
  Stepped::Peer op = s.Connect("operator");
  ASSERT_TRUE(s.Send(op, ShutdownMsg{0, "model:m", "test", 60'000, NowMs(), false}));
  s.controller().Step(1000);
  std::uint64_t fence = 0;
  for (int i = 0; i < kAgents; ++i) {
    if (i == kForger) continue;
    Stepped::Peer& p = agents[static_cast<size_t>(i)];
    std::optional<std::string> line = p.conn->ReadLine(kWaitMs);
    ASSERT_TRUE(line) << i;
    json order = json::parse(*line);
    ASSERT_EQ(order["type"], "order") << i;
    std::string note = order["order"];
    auto body = Order::ParseText(note.substr(0, note.find('\n') + 1));
    ASSERT_TRUE(body);
    fence = body->fence;
    ASSERT_TRUE(s.Send(p, AckMsg{0, fmt::format("a{}", i), fence, AckMsg::Result::kStopped,
                                 NowMs(), "", ""}));
  }
  std::optional<json> report = s.Next(op);
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["type"], "report");
  EXPECT_EQ((*report)["fence"], fence);
  EXPECT_EQ((*report)["targeted"], kAgents - 1);
  EXPECT_EQ((*report)["stopped"], kAgents - 1) << report->dump();
  EXPECT_EQ((*report)["complete"], true);
  for (Stepped::Peer& p : agents) p.conn->Close();
  op.conn->Close();
}

// A coordinator that holds back the acks this controller publishes and relays them to it when
// told, as etcd's watch does (every controller sees every ack, its own included, some time later).
class EchoingCoordinator final : public Coordinator {
 public:
  core::Result<std::uint64_t> NextFence() override { return ++last_; }
  std::uint64_t AgentUp(const json&) override { return ++last_; }
  void AgentRenewed(const std::string&) override {}
  void AgentDown(const std::string&) override {}
  std::vector<json> RemoteAgents() override { return {}; }
  void PublishOrder(std::uint64_t, const std::string&, const std::vector<std::string>&) override {}
  void PublishAck(std::uint64_t, const json& ack) override { held_.push_back(ack); }
  Inbound Poll() override {
    Inbound in;
    if (release_) {
      in.acks.swap(held_);
      release_ = false;
    }
    return in;
  }
  void Release() { release_ = true; }

 private:
  std::uint64_t last_ = 0;
  std::vector<json> held_;
  bool release_ = false;
};

// Found by bench/killswitch_fleet.cc --etcd: an agent stopped by one order and enrolled again under
// the same id was marked stopped once more when the relayed ack of the first order came back, so
// the next order left it out (and its report said complete) and its renewals were refused.
TEST(ControllerStep, AnAckRelayedAfterTheAgentEnrolledAgainLeavesItATarget) {
  auto owned = std::make_unique<EchoingCoordinator>();
  EchoingCoordinator* coord = owned.get();
  Stepped s({}, std::move(owned));
  auto order_fence = [&](Stepped::Peer& agent) -> std::uint64_t {
    std::optional<json> order = s.Next(agent);
    if (!order || (*order)["type"] != "order") return 0;
    std::string note = (*order)["order"];
    auto body = Order::ParseText(note.substr(0, note.find('\n') + 1));
    return body ? body->fence : 0;
  };
  Stepped::Peer first = s.Connect("agent:a1");
  ASSERT_TRUE(s.Send(first, EnrollMsg{0, "a1", "m1", "", "n1", {}}));
  ASSERT_EQ(s.Next(first).value_or(json())["type"], "enrolled");
  Stepped::Peer op = s.Connect("operator");
  ASSERT_TRUE(s.Send(op, ShutdownMsg{0, "model:m1", "first", 600'000, NowMs(), false}));
  std::uint64_t fence = order_fence(first);
  ASSERT_NE(fence, 0u);
  ASSERT_TRUE(s.Send(first, AckMsg{0, "a1", fence, AckMsg::Result::kStopped, NowMs(), "", ""}));
  std::optional<json> report = s.Next(op);
  ASSERT_TRUE(report);
  ASSERT_EQ((*report)["stopped"], 1) << report->dump();
  first.conn->Close();

  // The agent runs again under the same id; then its first ack comes back through the relay.
  Stepped::Peer again = s.Connect("agent:a1");
  ASSERT_TRUE(s.Send(again, EnrollMsg{0, "a1", "m2", "", "n2", {}}));
  ASSERT_EQ(s.Next(again).value_or(json())["type"], "enrolled");
  coord->Release();
  s.controller().Step(0);  // the relayed ack is taken in
  ASSERT_TRUE(s.Send(again, RenewMsg{0, "a1"}));
  EXPECT_EQ(s.Next(again).value_or(json())["type"], "renewed");

  Stepped::Peer op2 = s.Connect("operator");
  ASSERT_TRUE(s.Send(op2, ShutdownMsg{0, "model:m2", "second", 600'000, NowMs(), false}));
  std::uint64_t second = order_fence(again);
  ASSERT_GT(second, fence);
  ASSERT_TRUE(
      s.Send(again, AckMsg{0, "a1", second, AckMsg::Result::kStopped, NowMs(), "", ""}));
  report = s.Next(op2);
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["targeted"], 1) << report->dump();
  EXPECT_EQ((*report)["stopped"], 1) << report->dump();
  EXPECT_EQ((*report)["complete"], true) << report->dump();
  again.conn->Close();
  op.conn->Close();
  op2.conn->Close();
}

// Review finding 5: the unauthenticated `from`, an agent's refusal detail and the operator's
// reason were logged raw: a newline in any of them forged a log line. Every one is escaped.
TEST(ControllerStep, PeerStringsCannotForgeLogLines) {
  Stepped s;
  Stepped::Peer agent = s.Connect("agent:a1");
  ASSERT_TRUE(s.Send(agent, EnrollMsg{0, "a1", "m1", "", "n", {}}));
  ASSERT_EQ(s.Next(agent).value_or(json())["type"], "enrolled");
  const std::string forged = "\nflopline killswitch controller: FORGED";
  ::testing::internal::CaptureStderr();
  {  // an unauthenticated sender naming itself with a newline
    Stepped::Peer c = s.Connect("operator");
    ASSERT_TRUE(c.conn->SendLine(
        Dump(json{{"from", "operator" + forged}, {"msg", "{}"}, {"mac", std::string(64, '0')}})));
    EXPECT_TRUE(s.Closed(c));
    c.conn->Close();
  }
  Stepped::Peer op = s.Connect("operator");
  ASSERT_TRUE(s.Send(op, ShutdownMsg{0, "agent:a1", "why" + forged, 5000, NowMs(), false}));
  std::optional<json> order = s.Next(agent);
  ASSERT_TRUE(order && (*order)["type"] == "order");
  std::string note = (*order)["order"];
  auto body = Order::ParseText(note.substr(0, note.find('\n') + 1));
  ASSERT_TRUE(body);
  ASSERT_TRUE(s.Send(agent, AckMsg{0, "a1", body->fence, AckMsg::Result::kRefused, NowMs(),
                                   "expired", "detail" + forged}));
  std::optional<json> report = s.Next(op);
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(report);
  EXPECT_EQ(log.find("\nflopline killswitch controller: FORGED"), std::string::npos) << log;
  EXPECT_NE(log.find("\\nflopline killswitch controller: FORGED"), std::string::npos) << log;
  agent.conn->Close();
  op.conn->Close();
}

// Review finding 7: one agent's credential filled every connection slot (any valid message
// authenticated a connection, and a `renew` kept a connection that never enrolled open), after
// which the operator was refused. Agent connections are capped below the limit, whether enrolled
// or not, so an operator is always admitted.
TEST(ControllerStep, OneAgentCredentialCannotFillTheOperatorsSlots) {
  ControllerOptions o;
  o.max_connections = 16;
  o.auth_timeout_ms = 600'000;  // the cap, not the timeout, is under test
  Stepped s(o);
  std::vector<Stepped::Peer> flood;
  for (int i = 0; i < 24; ++i) {
    flood.push_back(s.Connect("agent:a1"));
    ASSERT_TRUE(s.Send(flood.back(), RenewMsg{0, "a1"}));
    s.controller().Step(0);
  }
  std::size_t open = 0;
  for (Stepped::Peer& p : flood) {
    // Each either answered ("not enrolled here") and stays, or was refused: count the open ones.
    std::optional<json> reply = s.Next(p);
    if (reply && (*reply)["message"] == "not enrolled here") ++open;
  }
  EXPECT_LE(open, 16u - kOperatorReserve);
  Stepped::Peer op = s.Connect("operator");
  ASSERT_TRUE(s.Send(op, StatusMsg{0}));
  std::optional<json> status = s.Next(op);
  ASSERT_TRUE(status);
  EXPECT_EQ((*status)["type"], "agents");
  for (Stepped::Peer& p : flood) p.conn->Close();
  op.conn->Close();
}

// Review finding 7: an authenticated agent connection that never enrols is closed after the
// authentication bound, and a re-enrolment closes the agent's older connection.
TEST(ControllerStep, AgentConnectionsMustEnrolAndOnlyTheNewestStays) {
  ControllerOptions o;
  o.auth_timeout_ms = 200;
  Stepped s(o);
  Stepped::Peer idle = s.Connect("agent:a1");
  ASSERT_TRUE(s.Send(idle, RenewMsg{0, "a1"}));
  std::optional<json> reply = s.Next(idle);
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["message"], "not enrolled here");
  EXPECT_TRUE(s.Closed(idle));
  Stepped::Peer first = s.Connect("agent:a2");
  ASSERT_TRUE(s.Send(first, EnrollMsg{0, "a2", "m1", "", "n1", {}}));
  ASSERT_EQ(s.Next(first).value_or(json())["type"], "enrolled");
  Stepped::Peer second = s.Connect("agent:a2");
  ASSERT_TRUE(s.Send(second, EnrollMsg{0, "a2", "m1", "", "n2", {}}));
  ASSERT_EQ(s.Next(second).value_or(json())["type"], "enrolled");
  EXPECT_TRUE(s.Closed(first));
  // The newest connection stays, enrolled, past the bound.
  usleep(400'000);
  ASSERT_TRUE(s.Send(second, RenewMsg{0, "a2"}));
  EXPECT_EQ(s.Next(second).value_or(json())["type"], "renewed");
  idle.conn->Close();
  first.conn->Close();
  second.conn->Close();
}

// Review finding 8: under connection churn the oldest unauthenticated connection was closed
// first, so an operator half-way through sending its first line lost to a stream of silent
// sockets. Silent connections are evicted first (at random among them).
TEST(ControllerStep, ChurnEvictsSilentConnectionsBeforeOneThatIsSpeaking) {
  ControllerOptions o;
  o.max_unauthenticated = 4;
  Stepped s(o);
  Stepped::Peer op = s.Connect("operator");
  std::string line = Seal(op.session, Direction::kClient, op.cred.From(),
                          ToJson(ClientMessage(StatusMsg{1})).dump()) +
                     "\n";
  std::size_t half = line.size() / 2;
  ASSERT_EQ(send(op.conn->fd(), line.data(), half, MSG_NOSIGNAL), static_cast<ssize_t>(half));
  s.controller().Step(0);
  std::vector<int> silent;
  for (int i = 0; i < 40; ++i) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    s.controller().Adopt(sv[0]);
    s.controller().Step(0);
    silent.push_back(sv[1]);
  }
  EXPECT_LE(s.controller().connections(), 4u);
  ASSERT_EQ(send(op.conn->fd(), line.data() + half, line.size() - half, MSG_NOSIGNAL),
            static_cast<ssize_t>(line.size() - half));
  std::optional<json> status = s.Next(op);
  ASSERT_TRUE(status);
  EXPECT_EQ((*status)["type"], "agents");
  for (int fd : silent) close(fd);
  op.conn->Close();
}

TEST(Printable, EscapesControlCharactersAndBackslashes) {
  EXPECT_EQ(Printable("plain text: ok"), "plain text: ok");
  EXPECT_EQ(Printable("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(Printable(std::string("x\0y\x1b[31m\x7f", 9)), "x\\x00y\\x1b[31m\\x7f");
  EXPECT_EQ(Printable("back\\slash"), "back\\\\slash");
  EXPECT_EQ(Printable("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 kept
}

// A coordinator that waits on the network, as etcd does, and whose calls wait until the test
// opens its gate (a stalled etcd member, a cluster electing a leader), or 10 s pass: a controller
// that called it on its loop then fails the test rather than hanging it.
class GatedCoordinator final : public Coordinator {
 public:
  core::Result<std::uint64_t> NextFence() override {
    Wait();
    return ++last_;
  }
  std::uint64_t AgentUp(const json&) override {
    Wait();
    return ++last_;
  }
  void AgentRenewed(const std::string&) override {}
  void AgentDown(const std::string&) override {}
  std::vector<json> RemoteAgents() override {
    Wait();
    return {};
  }
  void PublishOrder(std::uint64_t, const std::string&, const std::vector<std::string>&) override {}
  void PublishAck(std::uint64_t, const json&) override {}
  Inbound Poll() override { return {}; }
  bool Blocking() const override { return true; }
  void Open(bool open) {
    {
      std::lock_guard lock(mu_);
      open_ = open;
    }
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  void Wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return open_; });
    --waiting_;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
  std::atomic<std::uint64_t> last_{0};
};

// Issue 16, the chaos test's round 6: the controller's loop waited on etcd (5 s on a member cut
// off) while an order was issued, and its agents' renewals went unanswered past the lease. With
// etcd's calls stalled, an enrolment, a shutdown and a status request now wait off the loop: a
// live agent's renewals are still answered meanwhile, and each waiting connection's later lines
// act after its waiting one, in order, once etcd answers.
TEST(ControllerStep, RenewalsAreAnsweredWhileTheCoordinatorStalls) {
  auto owned = std::make_unique<GatedCoordinator>();
  GatedCoordinator* coord = owned.get();
  Stepped s({}, std::move(owned));
  Stepped::Peer live = s.Connect("agent:a1");
  ASSERT_TRUE(s.Send(live, EnrollMsg{0, "a1", "m1", "", "n1", {}}));
  ASSERT_EQ(s.Next(live).value_or(json())["type"], "enrolled");

  coord->Open(false);
  Stepped::Peer late = s.Connect("agent:a2");
  ASSERT_TRUE(s.Send(late, EnrollMsg{0, "a2", "m2", "", "n2", {}}));
  ASSERT_TRUE(s.Send(late, RenewMsg{0, "a2"}));  // held until its enrolment is done
  Stepped::Peer op = s.Connect("operator");
  ASSERT_TRUE(s.Send(op, ShutdownMsg{0, "model:m2", "stalled", 600'000, NowMs(), false}));
  Stepped::Peer asker = s.Connect("operator");
  ASSERT_TRUE(s.Send(asker, StatusMsg{0}));
  std::int64_t deadline = MonotonicMs() + kWaitMs;
  while (coord->waiting() == 0 && MonotonicMs() < deadline) s.controller().Step(5);
  ASSERT_EQ(coord->waiting(), 1) << "the enrolment never reached the coordinator";
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.Send(live, RenewMsg{0, "a1"}));
    EXPECT_EQ(s.Next(live).value_or(json())["type"], "renewed") << "renewal " << i;
  }

  coord->Open(true);
  EXPECT_EQ(s.Next(late).value_or(json())["type"], "enrolled");
  EXPECT_EQ(s.Next(late).value_or(json())["type"], "renewed");
  // The shutdown waited behind the enrolment, so the agent enrolled meanwhile is its target.
  std::optional<json> order = s.Next(late);
  ASSERT_TRUE(order);
  ASSERT_EQ((*order)["type"], "order") << order->dump();
  std::string note = (*order)["order"];
  auto body = Order::ParseText(note.substr(0, note.find('\n') + 1));
  ASSERT_TRUE(body);
  ASSERT_TRUE(s.Send(late, AckMsg{0, "a2", body->fence, AckMsg::Result::kStopped, NowMs(), "", ""}));
  std::optional<json> report = s.Next(op);
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["targeted"], 1) << report->dump();
  EXPECT_EQ((*report)["complete"], true) << report->dump();
  std::optional<json> status = s.Next(asker);
  ASSERT_TRUE(status);
  EXPECT_EQ((*status)["type"], "agents");
  EXPECT_EQ((*status)["agents"].size(), 2u) << status->dump();
  live.conn->Close();
  late.conn->Close();
  op.conn->Close();
  asker.conn->Close();
}

}  // namespace
}  // namespace flopline::killswitch
