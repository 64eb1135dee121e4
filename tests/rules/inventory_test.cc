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

// Issue 10 item 14: a mistyped table header must not make the models vanish silently.
TEST(InventoryTest, SingleBracketModelOrEventTableIsAnErrorAtItsLine) {
  auto model = Parse("# models\n[model]\nid = \"a\"\ndeveloper = \"D\"\n");
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().field, "model");
  ASSERT_TRUE(model.error().where);
  EXPECT_EQ(model.error().where->line, 2);
  EXPECT_NE(model.error().message.find("[[model]]"), std::string::npos) << model.error().message;
  auto event = Parse(Model("a") + "[event]\nmodel = \"a\"\nkind = \"released\"\nat = 2026-06-01\n");
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().field, "event");
  EXPECT_EQ(event.error().where->line, 6);
  auto stage = Parse(Model("a") + "[model.training]\nkind = \"pretrain\"\nstart = 2026-01-01\nflop = 1e20\n");
  ASSERT_FALSE(stage);
  EXPECT_EQ(stage.error().field, "model[0].training");
  auto unknown = Parse(Model("a") + "[models]\nx = 1\n");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().field, "models");
  EXPECT_EQ(unknown.error().where->line, 6);
  auto key = Parse("id = \"a\"\n" + Model("b"));
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().field, "id");
  EXPECT_EQ(key.error().where->line, 1);
}

TEST(InventoryTest, AFileWithNoModelOrEventIsAnError) {
  auto empty = Parse("");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("no [[model]]"), std::string::npos) << empty.error().message;
  ASSERT_TRUE(empty.error().where);
  EXPECT_EQ(empty.error().where->file, "m.toml");
  auto comments = Parse("# nothing here\n\n");
  ASSERT_FALSE(comments);
  // Events alone in a file of their own are fine, as long as the files together hold a model.
  auto split = ParseInventory({{"m.toml", Model("a")},
                               {"e.toml", "[[event]]\nmodel = \"a\"\nkind = \"released\"\nat = 2026-06-01\n"}},
                              compute::AcceleratorTable(), compute::PriceTable());
  ASSERT_TRUE(split) << split.error().ToString();
  auto only_events =
      Parse("[[event]]\nmodel = \"a\"\nkind = \"released\"\nat = 2026-06-01\n");
  ASSERT_FALSE(only_events);
}

// Issue 10 item 15: money is refused, not clamped, when it is not a finite amount that fits.
TEST(InventoryTest, NonFiniteNegativeOrOverflowingMoneyIsRefusedWithTheField) {
  const std::string stage = "[[model.training]]\nkind = \"pretrain\"\nstart = 2026-01-01\nflop = 1e20\n";
  for (const char* bad : {"1.7e308", "inf", "nan", "-1.0", "1e17"}) {
    auto inv = Parse(Model("a") + stage + "cost_usd = " + bad + "\n");
    ASSERT_FALSE(inv) << bad;
    EXPECT_EQ(inv.error().field, "model[0].training[0].cost_usd") << bad;
    ASSERT_TRUE(inv.error().where) << bad;
    EXPECT_EQ(inv.error().where->line, 10) << bad;
  }
  for (const char* bad : {"1.7e308", "inf", "nan", "-5"}) {
    auto inv = Parse(Model("a") + "developer_revenue_usd = " + bad + "\n");
    ASSERT_FALSE(inv) << bad;
    EXPECT_EQ(inv.error().field, "model[0].developer_revenue_usd") << bad;
    EXPECT_EQ(inv.error().where->line, 6) << bad;
  }
  auto hourly = Parse(Model("a") +
                      "[[model.training]]\nkind = \"pretrain\"\nstart = 2026-01-01\naccelerator = \"h100-sxm\"\n"
                      "count = 8\nhours = 10\nprice_per_hour = 1.7e308\n");
  ASSERT_FALSE(hourly);
  EXPECT_EQ(hourly.error().field, "model[0].training[0].price_per_hour");
  auto fine = Parse(Model("a") + stage + "cost_usd = 9e15\n");
  ASSERT_TRUE(fine) << fine.error().ToString();
  EXPECT_DOUBLE_EQ(*fine->models[0].training[0].cost_usd, 9e15);
}

// ---- JSON Lines, the bulk format (issue 12) ----

core::Result<Inventory> ParseFiles(std::vector<ModelFile> files) {
  return ParseInventory(files, compute::AcceleratorTable(), compute::PriceTable());
}

TEST(InventoryJsonlTest, SameModelsAsTomlKeyForKey) {
  const std::string toml =
      "[[model]]\nid = \"a\"\ndeveloper = \"D\"\ndeveloper_revenue_usd = 2.0e9\nfoundation_model = true\n"
      "open_source = true\neu_established = false\ndeveloper_turnover_eur = 5e8\n"
      "[model.costs]\ndata_usd = 1e6\npeople_usd = 2e6\n"
      "[[model.training]]\nkind = \"pretrain\"\nstart = 2026-02-01\nflop = 1.2e26\ncost_usd = 1.5e8\n"
      "[[model.training]]\nkind = \"rl\"\nstart = 2026-03-01\nparams = 1e9\ntokens = 1e12\ncost_usd = 123.456\n"
      "[[model]]\nid = \"b\"\ndeveloper = \"E\"\nbase = \"a\"\nderivation = \"fine-tune\"\n"
      "[[model.training]]\nkind = \"fine-tune\"\nstart = 2026-05-01\nflop = 3e25\ncost_usd = 1.1e7\n"
      "[[event]]\nmodel = \"b\"\nkind = \"released\"\nat = 2026-06-01T09:00:00+02:00\n";
  const std::string jsonl =
      "{\"model\": {\"id\": \"a\", \"developer\": \"D\", \"developer_revenue_usd\": 2.0e9, \"foundation_model\": true,"
      " \"open_source\": true, \"eu_established\": false, \"developer_turnover_eur\": 5e8,"
      " \"costs\": {\"people_usd\": 2e6, \"data_usd\": 1e6},"
      " \"training\": [{\"kind\": \"pretrain\", \"start\": \"2026-02-01\", \"flop\": 1.2e26, \"cost_usd\": 1.5e8},"
      " {\"kind\": \"rl\", \"start\": \"2026-03-01\", \"params\": 1e9, \"tokens\": 1e12, \"cost_usd\": 123.456}]}}\n"
      "\n"
      "{\"model\": {\"id\": \"b\", \"developer\": \"E\", \"base\": \"a\", \"derivation\": \"fine-tune\","
      " \"training\": [{\"kind\": \"fine-tune\", \"start\": \"2026-05-01\", \"flop\": 3e25, \"cost_usd\": 1.1e7}]}}\n"
      "{\"event\": {\"model\": \"b\", \"kind\": \"released\", \"at\": \"2026-06-01T07:00:00Z\"}}";
  auto a = ParseFiles({{"m.toml", toml}});
  auto b = ParseFiles({{"m.jsonl", jsonl}});
  ASSERT_TRUE(a) << a.error().ToString();
  ASSERT_TRUE(b) << b.error().ToString();
  ASSERT_EQ(a->models.size(), b->models.size());
  for (std::size_t i = 0; i < a->models.size(); ++i) {
    const rules::Model& x = a->models[i];
    const rules::Model& y = b->models[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.developer, y.developer);
    EXPECT_EQ(x.developer_revenue_usd, y.developer_revenue_usd);
    EXPECT_EQ(x.foundation_model, y.foundation_model);
    EXPECT_EQ(x.base, y.base);
    EXPECT_EQ(x.derivation, y.derivation);
    EXPECT_EQ(x.open_source, y.open_source);
    EXPECT_EQ(x.eu_established, y.eu_established);
    EXPECT_EQ(x.developer_turnover_eur, y.developer_turnover_eur);
    EXPECT_EQ(x.other_costs, y.other_costs);
    ASSERT_EQ(x.training.size(), y.training.size());
    for (std::size_t s = 0; s < x.training.size(); ++s) {
      const TrainingStage& p = x.training[s];
      const TrainingStage& q = y.training[s];
      EXPECT_EQ(p.kind, q.kind);
      EXPECT_EQ(p.start, q.start);
      EXPECT_EQ(p.flop, q.flop);
      EXPECT_EQ(p.flop_low, q.flop_low);
      EXPECT_EQ(p.flop_high, q.flop_high);
      EXPECT_EQ(p.flop_method, q.flop_method) << "stage " << s;
      EXPECT_EQ(p.cost_usd, q.cost_usd);
      EXPECT_EQ(p.cost_source, q.cost_source);
    }
  }
  ASSERT_EQ(b->events.size(), 1u);
  EXPECT_EQ(a->events[0].at, b->events[0].at);
  EXPECT_EQ(b->base_index[1], 0);
  EXPECT_EQ(b->models[1].where.line, 3);
}

TEST(InventoryJsonlTest, ErrorsNameTheLineAndTheField) {
  struct Case {
    std::string line, field, message;
  };
  const std::string ok = "{\"model\": {\"id\": \"a\", \"developer\": \"D\"}}\n";
  const std::vector<Case> cases = {
      {"{\"model\": {\"id\": \"b\", \"developer\": \"D\", \"colour\": \"red\"}}", "model.colour", "unknown key"},
      {"{\"model\": {\"id\": \"a\", \"developer\": \"D\"}}", "model.id", "already defined"},
      {"{\"model\": {\"id\": 5, \"developer\": \"D\"}}", "model.id", "expected a string"},
      {"{\"model\": {\"id\": \"b\"}}", "model.developer", "required"},
      {"{\"model\": {\"id\": \"b\", \"developer\": \"D\", \"developer_revenue_usd\": 1.7e308}}",
       "model.developer_revenue_usd", "too large"},
      {"{\"model\": {\"id\": \"b\", \"developer\": \"D\", \"training\": [{\"kind\": \"pretrain\", \"start\": "
       "\"2026-01-01\", \"flop\": 1e20, \"cost_usd\": 1.7e308}]}}",
       "model.training[0].cost_usd", "too large"},
      {"{\"model\": {\"id\": \"b\", \"developer\": \"D\", \"training\": [{\"kind\": \"pretrain\", \"start\": "
       "\"2026-01-01\", \"flop\": -1e20, \"cost_usd\": 5.0}]}}",
       "model.training[0].flop", ""},
      {"{\"model\": {\"id\": \"b\", \"developer\": \"D\", \"training\": [{\"kind\": \"pretraining\", \"start\": "
       "\"2026-01-01\", \"flop\": 1e20, \"cost_usd\": 5.0}]}}",
       "model.training[0].kind", "not one of"},
      {"{\"model\": {\"id\": \"b\", \"developer\": \"D\", \"training\": [{\"kind\": \"pretrain\", \"start\": "
       "\"2026-02-30\", \"flop\": 1e20, \"cost_usd\": 5.0}]}}",
       "model.training[0].start", ""},
      {"{\"model\": {\"id\": \"b\", \"developer\": \"D\", \"training\": {\"kind\": \"pretrain\"}}}", "model.training",
       "expected an array"},
      {"{\"model\": {\"id\": \"b\", \"developer\": \"D\", \"id\": \"c\"}}", "model.id", "twice"},
      {"{\"event\": {\"model\": \"a\", \"kind\": \"released\", \"at\": \"2026-06-01T09:00:00\"}}", "event.at", ""},
      {"{\"event\": {\"model\": \"a\", \"kind\": \"launched\", \"at\": \"2026-06-01\"}}", "event.kind", "not one of"},
      {"{\"models\": {}}", "models", "unknown key"},
      {"{\"model\": {\"id\": \"b\", \"developer\": \"D\"}, \"event\": {}}", "", "one object per line"},
      {"{\"model\": {\"id\": \"b\", ", "", "malformed JSON"},
      {"[1, 2]", "", "one object per line"},
  };
  for (const Case& c : cases) {
    auto inv = ParseFiles({{"m.jsonl", ok + "\n" + c.line + "\n"}});
    ASSERT_FALSE(inv) << c.line;
    EXPECT_EQ(inv.error().field, c.field) << c.line << " -> " << inv.error().ToString();
    ASSERT_TRUE(inv.error().where) << c.line;
    EXPECT_EQ(inv.error().where->file, "m.jsonl");
    EXPECT_EQ(inv.error().where->line, 3) << c.line << " -> " << inv.error().ToString();
    EXPECT_NE(inv.error().message.find(c.message), std::string::npos) << inv.error().ToString();
  }
  auto empty = ParseFiles({{"m.jsonl", "\n  \n"}});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().ToString().find("m.jsonl:1"), std::string::npos) << empty.error().ToString();
  auto ghost = ParseFiles({{"m.jsonl", "{\"event\": {\"model\": \"ghost\", \"kind\": \"released\", \"at\": "
                                       "\"2026-06-01\"}}\n" + ok}});
  ASSERT_FALSE(ghost);
  EXPECT_EQ(ghost.error().field, "event.model");
  EXPECT_EQ(ghost.error().where->line, 1);
}

TEST(InventoryJsonlTest, FindUsesTheIndexAndStaysRightWhenTheInventoryChanges) {
  auto inv = ParseFiles({{"m.jsonl", "{\"model\": {\"id\": \"a\", \"developer\": \"D\"}}\n"
                                     "{\"model\": {\"id\": \"b\", \"developer\": \"D\"}}\n"}});
  ASSERT_TRUE(inv) << inv.error().ToString();
  EXPECT_EQ(inv->Find("b"), 1);
  EXPECT_EQ(inv->Find("c"), -1);
  inv->models.push_back(rules::Model{});
  inv->models.back().id = "c";
  EXPECT_EQ(inv->Find("c"), 2);  // stale index: a scan, not a wrong answer
}

// The id index: every id found at its position through many growths, absent ids not found
// (including ones that share a hash's slot run), a second insert of an id reports the first.
TEST(IdIndexTest, FindsEveryIdThroughGrowthAndReportsADuplicate) {
  std::vector<rules::Model> models(5000);
  IdIndex index;
  for (std::size_t i = 0; i < models.size(); ++i) {
    models[i].id = "model-" + std::to_string(i * 7919 % 100003);
    ASSERT_EQ(index.Insert(models, static_cast<int>(i)), -1) << i;
  }
  EXPECT_EQ(index.size(), models.size());
  for (std::size_t i = 0; i < models.size(); ++i) EXPECT_EQ(index.Find(models, models[i].id), static_cast<int>(i));
  EXPECT_EQ(index.Find(models, "model-100004"), -1);
  EXPECT_EQ(index.Find(models, ""), -1);
  models.push_back(rules::Model{});
  models.back().id = models[1234].id;
  EXPECT_EQ(index.Insert(models, static_cast<int>(models.size()) - 1), 1234);
  EXPECT_EQ(index.size(), models.size() - 1);  // nothing added
  index.Clear();
  EXPECT_EQ(index.Find(models, models[0].id), -1);
  // The same a range at a time (what the parsers do): the first position whose id came before.
  EXPECT_EQ(index.InsertRange(models, 0, 3000), -1);
  EXPECT_EQ(index.InsertRange(models, 3000, static_cast<int>(models.size())), static_cast<int>(models.size()) - 1);
  for (std::size_t i = 0; i + 1 < models.size(); ++i) {
    EXPECT_EQ(index.Find(models, models[i].id, IdIndex::Hash(models[i].id)), static_cast<int>(i));
  }
}

// An inventory built in code with one id twice is an error of LinkLineage, naming the id, not a
// lineage that quietly links to whichever came first.
TEST(InventoryTest, ADuplicateIdBuiltInCodeIsAnError) {
  Inventory inv;
  for (const char* id : {"a", "b", "a"}) {
    inv.models.push_back(rules::Model{});
    inv.models.back().id = id;
  }
  auto linked = LinkLineage(inv);
  ASSERT_FALSE(linked);
  EXPECT_NE(linked.error().message.find("'a' is already defined"), std::string::npos) << linked.error().ToString();
}

// A file of more than a few megabytes is parsed in pieces, one per core: the models, events and
// lines must be those of reading it from the top, and so must the first error.
TEST(InventoryJsonlTest, ALargeFileReadInPiecesIsTheSameAsFromTheTop) {
  const int n = 60000;  // about 9 MB: several pieces on any machine with more than one core
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += "{\"model\": {\"id\": \"m" + std::to_string(i) + "\", \"developer\": \"D" + std::to_string(i % 7) +
            "\", \"developer_revenue_usd\": 1.0e8, \"foundation_model\": true" +
            (i % 10 ? ", \"base\": \"m" + std::to_string(i - 1) + "\", \"derivation\": \"fine-tune\"" : std::string()) +
            ", \"training\": [{\"kind\": \"pretrain\", \"start\": \"2026-01-01\", \"flop\": 1.5e24, "
            "\"cost_usd\": 4000000.0}]}}\n";
    if (i % 1000 == 0) text += "\n";  // blank lines count as lines
    if (i % 3 == 0) {
      text += "{\"event\": {\"model\": \"m" + std::to_string(i) + "\", \"kind\": \"released\", \"at\": \"2026-06-01\"}}\n";
    }
  }
  ASSERT_GT(text.size(), 8u << 20);
  auto inv = ParseFiles({{"big.jsonl", text}});
  ASSERT_TRUE(inv) << inv.error().ToString();
  ASSERT_EQ(inv->models.size(), static_cast<std::size_t>(n));
  ASSERT_EQ(inv->events.size(), static_cast<std::size_t>((n + 2) / 3));
  // Every model and event where it is, with its line.
  int line = 0;
  std::size_t event = 0;
  for (int i = 0; i < n; ++i) {
    const auto& m = inv->models[static_cast<std::size_t>(i)];
    ++line;
    ASSERT_EQ(m.id, "m" + std::to_string(i));
    ASSERT_EQ(m.where.line, line) << m.id;
    ASSERT_EQ(m.training.at(0).where.line, line) << m.id;
    ASSERT_EQ(inv->Find(m.id), i);
    ASSERT_EQ(inv->base_index[static_cast<std::size_t>(i)], i % 10 ? i - 1 : -1);
    if (i % 1000 == 0) ++line;
    if (i % 3 == 0) {
      ++line;
      ASSERT_EQ(inv->events[event].model, m.id);
      ASSERT_EQ(inv->events[event].where.line, line);
      ++event;
    }
  }
  // An error near the end is reported at its line; a duplicate id before it comes first.
  std::string bad = text + "{\"model\": {\"id\": \"late\", \"developer\": 5}}\n";
  auto late = ParseFiles({{"big.jsonl", bad}});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().field, "model.developer");
  EXPECT_EQ(late.error().where->line, line + 1) << late.error().ToString();
  std::string dup = text + "{\"model\": {\"id\": \"m5\", \"developer\": \"D\"}}\n" +
                    "{\"model\": {\"id\": \"late\", \"developer\": 5}}\n";
  auto twice = ParseFiles({{"big.jsonl", dup}});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().field, "model.id");
  EXPECT_EQ(twice.error().where->line, line + 1) << twice.error().ToString();
  // An error in the first piece wins over one in the last.
  std::string early = "{\"model\": {\"id\": 7, \"developer\": \"D\"}}\n" + bad;
  auto first = ParseFiles({{"big.jsonl", early}});
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().where->line, 1) << first.error().ToString();
}

}  // namespace
}  // namespace flopline::rules
