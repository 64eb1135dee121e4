// The regime-file parser (TOML, then every `when` and penalty through the condition language) on
// arbitrary bytes: an error with a message, or a regime whose rules evaluate without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/rules/regime.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto regime = flopline::rules::Regime::Parse(text, "fuzz.toml");
  if (!regime) {
    if (regime.error().message.empty()) std::abort();
    return 0;
  }
  for (std::size_t c = 0; c < regime->combinations().size(); ++c) {
    const auto& schema = regime->schema(c);
    flopline::rules::FactValues facts;
    facts.numbers.assign(schema.size(), 1e25);
    facts.known.assign(schema.size(), 1);
    facts.strings.assign(schema.size(), 0);
    facts.bools.assign(schema.size(), 1);
    std::vector<double> params(regime->params.size(), 1e24);
    std::vector<flopline::rules::Comparison> trace;
    for (const auto& rule : regime->compiled_rules(c)) {
      if (rule) (void)rule->Evaluate(facts, params, &trace);
    }
    // Obligation conditions (`when`) go through the same language.
    for (const auto& condition : regime->compiled_obligations(c)) {
      if (condition) (void)condition->Evaluate(facts, params, &trace);
    }
  }
  return 0;
}
