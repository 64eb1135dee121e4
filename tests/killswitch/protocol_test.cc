// Scopes, order texts and the checks an agent makes before it acts on an order.
#include "flopline/killswitch/protocol.h"

#include <gtest/gtest.h>

namespace flopline::killswitch {
namespace {

TEST(Scope, ParsesAndMatchesEachKind) {
  std::vector<std::string> lineage = {"m1-ft", "m1"};  // the agent serves m1-ft-chat
  EXPECT_TRUE(Scope::Parse("all")->Matches("a", "m1-ft-chat", lineage));
  EXPECT_TRUE(Scope::Parse("agent:a")->Matches("a", "m1-ft-chat", lineage));
  EXPECT_FALSE(Scope::Parse("agent:b")->Matches("a", "m1-ft-chat", lineage));
  EXPECT_TRUE(Scope::Parse("model:m1-ft-chat")->Matches("a", "m1-ft-chat", lineage));
  EXPECT_FALSE(Scope::Parse("model:m1")->Matches("a", "m1-ft-chat", lineage));
  EXPECT_TRUE(Scope::Parse("lineage:m1")->Matches("a", "m1-ft-chat", lineage));
  EXPECT_TRUE(Scope::Parse("lineage:m1-ft-chat")->Matches("a", "m1-ft-chat", lineage));
  EXPECT_FALSE(Scope::Parse("lineage:m2")->Matches("a", "m1-ft-chat", lineage));
  EXPECT_EQ(Scope::Parse("lineage:m1")->ToString(), "lineage:m1");
  for (const char* bad : {"", "model", "model:", "planet:x", "ALL"}) {
    auto s = Scope::Parse(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().field, "scope");
  }
}

TEST(Order, TextRoundTrips) {
  Order o{42, "model:m1", "critical harm risk", 1000, 2000, {"grid"}, 60000, {"a1", "grid"}};
  auto back = *Order::ParseText(o.Text());
  EXPECT_EQ(back.fence, 42u);
  EXPECT_EQ(back.scope, "model:m1");
  EXPECT_EQ(back.reason, "critical harm risk");
  EXPECT_EQ(back.drain, std::vector<std::string>{"grid"});
  EXPECT_EQ(back.targets, (std::vector<std::string>{"a1", "grid"}));
  EXPECT_EQ(back.Text(), o.Text());
  EXPECT_FALSE(Order::ParseText("{}"));
  EXPECT_FALSE(Order::ParseText("not json"));
}

class CheckOrderTest : public ::testing::Test {
 protected:
  ledger::Signer signer = *ledger::Signer::Generate("flopline-killswitch");
  ledger::Verifier verifier = *ledger::Verifier::Parse(signer.VerifierKey());
  Order order{100, "model:m1", "test", 1000, 5000, {}, 0, {}};
  CheckedOrder Check(const std::string& note, std::uint64_t last_fence = 50,
                     std::int64_t now = 2000, const std::string& model = "m1") {
    return CheckOrder(note, verifier, last_fence, now, "agent-1", model, {});
  }
};

TEST_F(CheckOrderTest, AValidOrderIsActedOn) {
  auto c = Check(*SignOrder(order, signer));
  EXPECT_FALSE(c.refusal);
  ASSERT_TRUE(c.order);
  EXPECT_EQ(c.order->fence, 100u);
}

TEST_F(CheckOrderTest, ForgedExpiredReplayedAndMisdirectedOrdersAreRefused) {
  std::string note = *SignOrder(order, signer);
  std::string altered = note;
  altered.replace(altered.find("model:m1"), 8, "model:m9");
  EXPECT_EQ(Check(altered).refusal, Refusal::kForged);
  auto other = *ledger::Signer::Generate("flopline-killswitch");  // same name, another key
  EXPECT_EQ(Check(*SignOrder(order, other)).refusal, Refusal::kForged);
  EXPECT_EQ(Check("garbage").refusal, Refusal::kForged);
  EXPECT_EQ(Check(note, 50, 5000).refusal, Refusal::kExpired);  // expires_ms == now
  EXPECT_EQ(Check(note, 100).refusal, Refusal::kReplayed);      // fence == last acted on
  EXPECT_EQ(Check(note, 101).refusal, Refusal::kReplayed);
  EXPECT_EQ(Check(note, 50, 2000, "m2").refusal, Refusal::kNotForMe);
  EXPECT_EQ(RefusalName(Refusal::kReplayed), "replayed");
}

// The controller may know more of a model's lineage (the store's inventory) than the agent
// declared: a signed target list naming the agent is enough.
TEST_F(CheckOrderTest, ASignedTargetListNamesAgentsTheScopeAloneWouldMiss) {
  Order lineage{100, "lineage:m0", "test", 1000, 5000, {}, 0, {"agent-1"}};
  EXPECT_FALSE(Check(*SignOrder(lineage, signer)).refusal);
  lineage.targets = {"agent-2"};
  EXPECT_EQ(Check(*SignOrder(lineage, signer)).refusal, Refusal::kNotForMe);
}

}  // namespace
}  // namespace flopline::killswitch
