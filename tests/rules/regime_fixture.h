// The fixture the rules tests share: the four shipped regime files loaded once per suite, model
// files given inline, and lookups into the answers (a model's determination under a regime, a
// reading's status). engine_test and law_scenarios_test each add their own model builders.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "flopline/rules/engine.h"

namespace flopline::rules {

inline std::string Source(const std::string& rel) { return std::string(FLOPLINE_SOURCE_DIR) + "/" + rel; }

class RegimeFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* id : {"ca-sb1047", "ca-sb53", "ny-raise", "eu-ai-act-gpai"}) {
      auto r = Regime::Load(Source(std::string("regimes/") + id + ".toml"));
      ASSERT_TRUE(r) << r.error().ToString();
      regimes_->push_back(std::move(*r));
    }
  }
  static void TearDownTestSuite() { regimes_->clear(); }

  // Parses a model file given inline (flop and costs given: no tables needed).
  static Inventory Models(const std::string& text) {
    auto inv = ParseInventory({{"models.toml", text}}, compute::AcceleratorTable(), compute::PriceTable());
    EXPECT_TRUE(inv) << inv.error().ToString();
    return inv ? *inv : Inventory{};
  }

  // The answers under the shipped regimes, or under `regimes` when some are given.
  static std::vector<ModelAnswer> Assess(const Inventory& inv, const std::string& as_of,
                                         std::vector<Override> overrides = {}, std::vector<CpiSeries> cpi = {},
                                         std::vector<Regime> regimes = {}) {
    Engine engine(regimes.empty() ? *regimes_ : std::move(regimes), std::move(cpi));
    AssessOptions options{*core::Date::Parse(as_of), std::move(overrides), {}};
    auto answers = engine.Assess(inv, options);
    EXPECT_TRUE(answers) << answers.error().ToString();
    return answers ? *answers : std::vector<ModelAnswer>{};
  }

  static const Determination& Under(const std::vector<ModelAnswer>& answers, const std::string& model,
                                     const std::string& regime) {
    for (const auto& a : answers) {
      if (a.id != model) continue;
      for (const auto& d : a.determinations) {
        if (d.regime == regime) return d;
      }
    }
    static Determination none;
    ADD_FAILURE() << "no determination for " << model << " under " << regime;
    return none;
  }

  static std::string Reading(const Determination& d, const std::string& reading) {
    for (const auto& o : d.outcomes) {
      if (o.reading == reading) return o.status;
    }
    return "no such reading: " + reading;
  }

  // A number as TOML reads it back exactly (a float literal, never an integer).
  static std::string Num(double v) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.17g", v);
    std::string s = buffer;
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
  }

  static inline std::vector<Regime>* regimes_ = new std::vector<Regime>();
};

}  // namespace flopline::rules
