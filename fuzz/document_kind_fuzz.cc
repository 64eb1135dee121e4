// The document parsers on arbitrary bytes: a document-kinds file (documents/*.toml), a fill file
// against a fixed kind, and the same fill as the workspace API's JSON body. Each gives an error with a message, or a value whose invariants hold
// (ids non-empty and unique, every fact in the vocabulary, every redaction on a ground the kind
// allows), and a document built from it renders without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "flopline/documents/document.h"
#include "flopline/documents/fill.h"
#include "flopline/documents/kinds.h"

namespace {

constexpr std::string_view kKind = R"toml(
regime = "ca-sb1047"
[[kind]]
id = "k"
title = "T"
required_by = "§1"
summary = "S"
record_kind = "statement-of-compliance"
applies_to = ["covered-model"]
due = "D"
retention = "R"
redaction_cite = "C"
redaction_grounds = ["trade-secret"]
[[kind.element]]
id = "a"
heading = "A"
cite = "§1(a)"
law = "L"
text = "required"
redactable = true
[[kind.element]]
id = "b"
heading = "B"
cite = "§1(b)"
law = "L"
text = "optional"
input = "list"
[[kind.element]]
id = "c"
heading = "C"
cite = "§1(c)"
law = "L"
text = "none"
facts = ["model.identity"]
)toml";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline::documents;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto kinds = ParseKinds(text, "fuzz.toml");
  if (!kinds) {
    if (kinds.error().message.empty()) std::abort();
  } else {
    std::set<std::string> ids;
    for (const DocumentKind& k : *kinds) {
      if (k.id.empty() || !ids.insert(k.id).second || k.elements.empty()) std::abort();
      std::set<std::string> element_ids;
      for (const Element& e : k.elements) {
        if (e.id.empty() || !element_ids.insert(e.id).second) std::abort();
        for (const std::string& f : e.facts) {
          if (!IsKnownFact(f)) std::abort();
        }
      }
    }
  }
  static const std::vector<DocumentKind> fixed = *ParseKinds(kKind, "kind.toml");
  const DocumentKind& kind = fixed.front();
  // The API's JSON fill: a refusal names its field; what it accepts holds the fill file's invariants.
  auto fill = ParseFill(text, "fill.toml", kind);
  nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!body.is_discarded()) {
    auto from_json = FillFromJson(body, kind);
    if (!from_json) {
      if (from_json.error().message.empty() || from_json.error().field.empty()) std::abort();
    } else if (!fill) {
      fill = std::move(from_json);
    }
  }
  if (!fill) {
    if (fill.error().message.empty()) std::abort();
    return 0;
  }
  for (const auto& [id, r] : fill->redactions) {
    const Element* e = kind.FindElement(id);
    if (e == nullptr || !e->redactable || r.ground != "trade-secret") std::abort();
  }
  for (const auto& [id, paragraphs] : fill->texts) {
    const Element* e = kind.FindElement(id);
    if (e == nullptr || e->text == TextNeed::kNone || paragraphs.empty()) std::abort();
  }
  FactSet facts;
  facts.status = "covered-model";
  Evidence evidence;
  evidence.model = "m";
  auto doc = BuildDocument({kind, facts, evidence, flopline::core::Date::FromYmd(2026, 1, 1), &*fill, 1});
  if (!doc) return 0;
  std::string html = RenderHtml(*doc, LedgerRedactions(*doc), Header{});
  if (html.find("<script") != std::string::npos) std::abort();  // every written text is escaped
  return 0;
}
