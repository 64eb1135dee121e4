#include "flopline/rules/inventory.h"

#include <gtest/gtest.h>

namespace flopline::rules {
namespace {

core::Result<Inventory> Parse(const std::string& text) {
  return ParseInventory({{"m.toml", text}}, compute::AcceleratorTable(), compute::PriceTable());
}

const char* kModel = "[[model]]\nid = \"%s\"\ndeveloper = \"D\"\nbase = \"%s\"\nderivation = \"%s\"\n";

std::string Model(const std::string& id, const std::string& base = "", const std::string& derivation = "pretrain") {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, kModel, id.c_str(), base.c_str(), derivation.c_str());
  return buffer;
}

TEST(InventoryTest, LineageIsOrderedBasesFirst) {
  auto inv = Parse(Model("c", "b", "fine-tune") + Model("b", "a", "copy") + Model("a"));
  ASSERT_TRUE(inv) << inv.error().ToString();
  ASSERT_EQ(inv->order.size(), 3u);
  EXPECT_EQ(inv->models[static_cast<std::size_t>(inv->order[0])].id, "a");
  EXPECT_EQ(inv->models[static_cast<std::size_t>(inv->order[2])].id, "c");
  EXPECT_EQ(inv->base_index[0], 1);
}

TEST(InventoryTest, BaseThatNamesNoModelIsAnError) {
  auto inv = Parse(Model("b", "ghost", "fine-tune"));
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().field, "base");
  EXPECT_EQ(inv.error().where->line, 1);
  EXPECT_NE(inv.error().message.find("'ghost' names no model"), std::string::npos);
}

TEST(InventoryTest, CycleIsAnError) {
  auto inv = Parse(Model("a", "b", "fine-tune") + Model("b", "a", "copy"));
  ASSERT_FALSE(inv);
  EXPECT_NE(inv.error().message.find("cycle"), std::string::npos);
  auto self = Parse(Model("a", "a", "copy"));
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().message.find("cycle"), std::string::npos);
}

TEST(InventoryTest, BadFieldsNameTheFieldAndLine) {
  auto dup = Parse(Model("a") + Model("a"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().where->line, 7);  // the second model's id
  auto unknown = Parse(Model("a") + "colour = \"red\"\n");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().field, "model[0].colour");
  auto derivation = Parse(Model("a", "", "fine-tune"));
  ASSERT_FALSE(derivation);
  EXPECT_NE(derivation.error().message.find("needs base"), std::string::npos);
  auto kind = Parse(Model("a") + "[[model.training]]\nkind = \"pretraining\"\nstart = 2026-01-01\nflop = 1e20\n");
  ASSERT_FALSE(kind);
  EXPECT_EQ(kind.error().field, "model[0].training[0].kind");
  auto no_compute = Parse(Model("a") + "[[model.training]]\nkind = \"pretrain\"\nstart = 2026-01-01\n");
  ASSERT_FALSE(no_compute);
  EXPECT_NE(no_compute.error().message.find("needs its compute"), std::string::npos);
  auto negative = Parse(Model("a") + "[[model.training]]\nkind = \"pretrain\"\nstart = 2026-01-01\nflop = -1e20\n");
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().field, "model[0].training[0].flop");
}

TEST(InventoryTest, EventsNeedAKnownModelKindAndUtcInstant) {
  auto ok = Parse(Model("a") + "[[event]]\nmodel = \"a\"\nkind = \"released\"\nat = 2026-06-01T09:00:00+02:00\n");
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->events[0].at.ToString(), "2026-06-01T07:00:00Z");
  auto local = Parse(Model("a") + "[[event]]\nmodel = \"a\"\nkind = \"released\"\nat = 2026-06-01T09:00:00\n");
  ASSERT_FALSE(local);
  EXPECT_NE(local.error().message.find("UTC"), std::string::npos);
  auto who = Parse(Model("a") + "[[event]]\nmodel = \"b\"\nkind = \"released\"\nat = 2026-06-01\n");
  ASSERT_FALSE(who);
  EXPECT_EQ(who.error().field, "event.model");
  auto kind = Parse(Model("a") + "[[event]]\nmodel = \"a\"\nkind = \"launched\"\nat = 2026-06-01\n");
  ASSERT_FALSE(kind);
  EXPECT_EQ(kind.error().field, "event[0].kind");
}

TEST(InventoryTest, StagesAreEstimatedByCompute) {
  auto inv = Parse(Model("a") + "[[model.training]]\nkind = \"pretrain\"\nstart = 2026-01-01\nparams = 1e9\ntokens = 1e12\ncost_usd = 5e4\n");
  ASSERT_TRUE(inv) << inv.error().ToString();
  EXPECT_DOUBLE_EQ(inv->models[0].training[0].flop, 6e21);
  EXPECT_EQ(inv->models[0].training[0].flop_method, "6nd-params");
  EXPECT_EQ(inv->models[0].training[0].cost_source, "given");
}

}  // namespace
}  // namespace flopline::rules
