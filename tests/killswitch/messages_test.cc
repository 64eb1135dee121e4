// Typed messages and credentials: every field's type checked, no exception for any input.
#include "flopline/killswitch/messages.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "flopline/killswitch/auth.h"

namespace flopline::killswitch {
namespace {

// Issue 10, kill switch item 1: fields of the wrong type escaped as exceptions.
TEST(Messages, EveryFieldOfTheWrongTypeIsAnErrorNamingIt) {
  struct Case {
    const char* text;
    const char* field;
  };
  for (
      const Case& c : std::vector<Case>{
          {R"({"type":5})", "type"},
          {R"({"type":"renew","seq":1,"id":5})", "id"},
          {R"({"type":"shutdown","seq":1,"scope":5})", "scope"},
          {R"({"type":"shutdown","seq":1,"scope":"all","reason":"r","timeout_ms":"5","sent_ms":1,"drill":false})",
           "timeout_ms"},
          {R"({"type":"shutdown","seq":1,"scope":"all","reason":"r","timeout_ms":5,"sent_ms":1,"drill":1})",
           "drill"},
          {R"({"type":"ack","seq":1,"id":"a","fence":-1,"result":"stopped"})", "fence"},
          {R"({"type":"ack","seq":1,"id":"a","fence":1,"result":"gone"})", "result"},
          {R"({"type":"enroll","seq":1,"id":"a","model":"m","nonce":"n","lineage":[1]})",
           "lineage"},
          {R"({"type":"enroll","seq":1,"id":"a b","model":"m","nonce":"n","lineage":[]})", "id"},
          {R"({"type":"exited","seq":1,"id":"a","code":1.5})", "code"},
          {R"({"type":"status","seq":18446744073709551616})", "seq"},
          {R"({"type":"status"})", "seq"},
      }) {
    auto m = ParseClientMessage(c.text);
    ASSERT_FALSE(m) << c.text;
    EXPECT_EQ(m.error().field, c.field) << c.text;
  }
  for (const char* text : {"", "[]", "5", "null", "{", "\"x\""})
    EXPECT_FALSE(ParseClientMessage(text)) << text;
  for (const char* text :
       {R"({"type":"renewed","seq":"1"})", R"({"type":"enrolled","seq":1,"note":5})",
        R"({"type":"order","order":{}})", R"({"type":7})", "[]"}) {
    EXPECT_FALSE(ParseControllerMessage(text)) << text;
  }
}

TEST(Messages, RoundTrip) {
  ClientMessage m = ShutdownMsg{3, "model:m1", "why", 30'000, 1'700'000'000'000, true};
  auto back = ParseClientMessage(ToJson(m).dump());
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(ToJson(*back), ToJson(m));
  ClientMessage ack = AckMsg{4, "a", 9, AckMsg::Result::kFailClosed, 12, "", ""};
  EXPECT_EQ(ToJson(*ParseClientMessage(ToJson(ack).dump())), ToJson(ack));
}

// Review finding 4: an operator's sent_ms near the int64 bounds overflowed sent_ms + timeout_ms
// (undefined behaviour) in the controller. Both are bounded where they are parsed.
TEST(Messages, ShutdownTimesAreBoundedWhereParsed) {
  auto shutdown = [](std::string timeout, std::string sent) {
    return fmt::format(
        R"({{"type":"shutdown","seq":1,"scope":"all","reason":"r","timeout_ms":{},"sent_ms":{},)"
        R"("drill":false}})",
        timeout, sent);
  };
  for (const char* sent : {"9223372036854775807", "-9223372036854775808", "-1",
                           "4611686018427387904", "100000000000000000"}) {
    auto m = ParseClientMessage(shutdown("1000", sent));
    ASSERT_FALSE(m) << sent;
    EXPECT_EQ(m.error().field, "sent_ms") << sent;
  }
  for (const char* timeout :
       {"9223372036854775807", "-9223372036854775808", "0", "-5", "86400001"}) {
    auto m = ParseClientMessage(shutdown(timeout, "1700000000000"));
    ASSERT_FALSE(m) << timeout;
    EXPECT_EQ(m.error().field, "timeout_ms") << timeout;
  }
  EXPECT_TRUE(ParseClientMessage(shutdown("86400000", "1700000000000")));
  EXPECT_TRUE(ParseClientMessage(shutdown("1", "0")));
}

// Review finding 6: a reason is logged, signed into the order and recorded; bounded.
TEST(Messages, AShutdownReasonIsBounded) {
  auto shutdown = [](const std::string& reason) {
    return ToJson(ShutdownMsg{1, "all", reason, 1000, 1'700'000'000'000, false}).dump();
  };
  EXPECT_TRUE(ParseClientMessage(shutdown(std::string(kMaxReasonBytes, 'r'))));
  auto m = ParseClientMessage(shutdown(std::string(kMaxReasonBytes + 1, 'r')));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().field, "reason");
}

TEST(Auth, CredentialsAreBoundToTheirSenderAndSession) {
  auto signer = *ledger::Signer::Generate("flopline-killswitch");
  Secret master = MasterSecret(signer);
  Credential a = *DeriveCredential(master, "agent:a");
  EXPECT_EQ(Credential::Parse(a.ToString())->secret, a.secret);
  EXPECT_EQ(Credential::Parse(a.ToString())->From(), "agent:a");
  EXPECT_NE(DeriveCredential(master, "agent:b")->secret, a.secret);
  EXPECT_FALSE(DeriveCredential(master, "admin"));
  EXPECT_FALSE(Credential::Parse("flopline-killswitch-credential agent a AAAA"));
  std::string line = Seal(SessionKey(a.secret, "n1"), Direction::kClient, a.From(), "{}");
  auto env = *ParseEnvelope(line);
  EXPECT_TRUE(MacValid(SessionKey(a.secret, "n1"), Direction::kClient, env));
  EXPECT_FALSE(
      MacValid(SessionKey(a.secret, "n2"), Direction::kClient, env));  // another connection
  EXPECT_FALSE(
      MacValid(SessionKey(a.secret, "n1"), Direction::kController, env));  // reflected back
  env.msg = "{ }";
  EXPECT_FALSE(MacValid(SessionKey(a.secret, "n1"), Direction::kClient, env));  // altered
}

}  // namespace
}  // namespace flopline::killswitch
