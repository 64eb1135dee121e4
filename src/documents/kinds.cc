#include "flopline/documents/kinds.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "flopline/core/toml_fields.h"
#include "flopline/ledger/records.h"

namespace flopline::documents {
namespace {

using core::Result;
using core::TomlFields;

constexpr std::string_view kPlainFacts[] = {
    "model.identity",        "model.training",          "compute.totals",           "compute.cumulative_2sf",
    "determination.status",  "determination.obligations", "determination.discharged", "drill.latest"};

Result<std::vector<std::string>> OptionalStrings(const TomlFields& f, const toml::table& t, std::string_view key) {
  if (!t.contains(key)) return std::vector<std::string>();
  return f.Strings(key);
}

Result<bool> BoolOr(const TomlFields& f, std::string_view key, bool fallback) {
  FL_ASSIGN_OR_RETURN(std::optional<bool> value, f.OptionalBool(key));
  return value.value_or(fallback);
}

Result<void> CheckFacts(const TomlFields& f, std::string_view key, const std::vector<std::string>& facts) {
  for (const std::string& fact : facts) {
    if (!IsKnownFact(fact)) {
      return f.Bad(key, fmt::format("unknown fact '{}'; facts: {}, event.<event kind>, record.<record kind>", fact,
                                    fmt::join(kPlainFacts, ", ")));
    }
  }
  return core::Ok();
}

Result<Element> ParseElement(const TomlFields& f, const toml::table& t) {
  FL_RETURN_IF_ERROR(f.OnlyKeys({"id", "heading", "cite", "law", "required", "text", "input", "facts",
                                 "optional_facts", "applies_to", "redactable", "signatory"}));
  Element e;
  e.where = f.Where();
  FL_ASSIGN_OR_RETURN(e.id, f.String("id"));
  FL_ASSIGN_OR_RETURN(e.heading, f.String("heading"));
  FL_ASSIGN_OR_RETURN(e.cite, f.String("cite"));
  FL_ASSIGN_OR_RETURN(e.law, f.String("law"));
  if (e.id.empty() || e.id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
                          std::string::npos) {
    return f.Bad("id", "an element id is letters, digits, '-' and '_'");
  }
  FL_ASSIGN_OR_RETURN(e.required, BoolOr(f, "required", true));
  FL_ASSIGN_OR_RETURN(std::string text, f.String("text"));
  if (text == "none") {
    e.text = TextNeed::kNone;
  } else if (text == "optional") {
    e.text = TextNeed::kOptional;
  } else if (text == "required") {
    e.text = TextNeed::kRequired;
  } else {
    return f.Bad("text", fmt::format("expected none, optional or required, got '{}'", text));
  }
  FL_ASSIGN_OR_RETURN(std::string input, f.StringOr("input", "text"));
  if (input == "list") {
    e.input = InputShape::kList;
  } else if (input != "text") {
    return f.Bad("input", fmt::format("expected text or list, got '{}'", input));
  }
  FL_ASSIGN_OR_RETURN(e.facts, OptionalStrings(f, t, "facts"));
  FL_RETURN_IF_ERROR(CheckFacts(f, "facts", e.facts));
  FL_ASSIGN_OR_RETURN(e.optional_facts, OptionalStrings(f, t, "optional_facts"));
  FL_RETURN_IF_ERROR(CheckFacts(f, "optional_facts", e.optional_facts));
  FL_ASSIGN_OR_RETURN(e.applies_to, OptionalStrings(f, t, "applies_to"));
  FL_ASSIGN_OR_RETURN(e.redactable, BoolOr(f, "redactable", false));
  FL_ASSIGN_OR_RETURN(e.signatory, BoolOr(f, "signatory", false));
  if (e.text == TextNeed::kNone && e.facts.empty() && e.optional_facts.empty() && !e.signatory) {
    return f.Bad("text", "an element with no text to write needs facts to fill it (or signatory = true)");
  }
  return e;
}

Result<DocumentKind> ParseKind(const TomlFields& f, const toml::table& t, const std::string& regime) {
  FL_RETURN_IF_ERROR(f.OnlyKeys({"id", "title", "required_by", "summary", "record_kind", "applies_to", "discharges",
                                 "due", "retention", "fresh_for_days", "signer", "signer_cite", "redaction_cite",
                                 "redaction_grounds", "describe_redactions", "element"}));
  DocumentKind k;
  k.where = f.Where();
  k.regime = regime;
  FL_ASSIGN_OR_RETURN(k.id, f.String("id"));
  if (k.id.empty() || k.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return f.Bad("id", "a kind id is lower-case letters, digits and '-'");
  }
  FL_ASSIGN_OR_RETURN(k.title, f.String("title"));
  FL_ASSIGN_OR_RETURN(k.required_by, f.String("required_by"));
  FL_ASSIGN_OR_RETURN(k.summary, f.String("summary"));
  FL_ASSIGN_OR_RETURN(k.record_kind, f.String("record_kind"));
  const ledger::RecordKind* record = ledger::FindRecordKind(k.record_kind);
  if (record == nullptr || record->internal) {
    return f.Bad("record_kind", fmt::format("'{}' is not a ledger record kind a document can be filed as",
                                            k.record_kind));
  }
  FL_ASSIGN_OR_RETURN(k.applies_to, f.Strings("applies_to"));
  if (k.applies_to.empty()) return f.Bad("applies_to", "names no status");
  FL_ASSIGN_OR_RETURN(k.discharges, OptionalStrings(f, t, "discharges"));
  FL_ASSIGN_OR_RETURN(k.due, f.String("due"));
  FL_ASSIGN_OR_RETURN(k.retention, f.String("retention"));
  FL_ASSIGN_OR_RETURN(std::optional<double> fresh, f.OptionalPositive("fresh_for_days"));
  if (fresh) {
    if (*fresh != static_cast<double>(static_cast<int>(*fresh)) || *fresh > 36500) {
      return f.Bad("fresh_for_days", "expected a whole number of days, at most 36500");
    }
    k.fresh_for_days = static_cast<int>(*fresh);
  }
  FL_ASSIGN_OR_RETURN(k.signer, f.StringOr("signer", ""));
  FL_ASSIGN_OR_RETURN(k.signer_cite, f.StringOr("signer_cite", ""));
  if (k.signer.empty() != k.signer_cite.empty()) {
    return f.Bad(k.signer.empty() ? "signer" : "signer_cite", "signer and signer_cite go together");
  }
  FL_ASSIGN_OR_RETURN(k.redaction_cite, f.String("redaction_cite"));
  FL_ASSIGN_OR_RETURN(k.redaction_grounds, OptionalStrings(f, t, "redaction_grounds"));
  for (const std::string& ground : k.redaction_grounds) {
    auto grounds = ledger::RedactionGrounds();
    if (std::find(grounds.begin(), grounds.end(), ground) == grounds.end()) {
      return f.Bad("redaction_grounds",
                   fmt::format("'{}' is not a redaction ground; grounds: {}", ground, fmt::join(grounds, ", ")));
    }
  }
  FL_ASSIGN_OR_RETURN(k.describe_redactions, BoolOr(f, "describe_redactions", false));
  std::set<std::string> ids;
  FL_RETURN_IF_ERROR(core::ForEachTable(
      t, "element", f.file(), /*required=*/true,
      [&](const TomlFields& ef, const toml::table& et) -> Result<void> {
        FL_ASSIGN_OR_RETURN(Element e, ParseElement(ef, et));
        if (!ids.insert(e.id).second) return ef.Bad("id", fmt::format("element '{}' is defined twice", e.id));
        if (e.redactable && k.redaction_grounds.empty()) {
          return ef.Bad("redactable", "the kind names no redaction_grounds");
        }
        k.elements.push_back(std::move(e));
        return core::Ok();
      },
      f.prefix()));
  return k;
}

}  // namespace

const Element* DocumentKind::FindElement(std::string_view element_id) const {
  for (const Element& e : elements) {
    if (e.id == element_id) return &e;
  }
  return nullptr;
}

bool IsKnownFact(std::string_view fact) {
  if (std::find(std::begin(kPlainFacts), std::end(kPlainFacts), fact) != std::end(kPlainFacts)) return true;
  if (fact.starts_with("event.")) {
    std::string_view kind = fact.substr(6);
    return std::find(rules::kEventKinds.begin(), rules::kEventKinds.end(), kind) != rules::kEventKinds.end();
  }
  if (fact.starts_with("record.")) {
    const ledger::RecordKind* kind = ledger::FindRecordKind(fact.substr(7));
    return kind != nullptr && !kind->internal;
  }
  return false;
}

Result<std::vector<DocumentKind>> ParseKinds(std::string_view text, const std::string& file) {
  FL_ASSIGN_OR_RETURN(toml::table root, core::ParseToml(text, file));
  TomlFields top(root, file, "documents");
  FL_RETURN_IF_ERROR(top.OnlyKeys({"regime", "kind"}));
  FL_ASSIGN_OR_RETURN(std::string regime, top.String("regime"));
  std::vector<DocumentKind> kinds;
  std::set<std::string> ids;
  FL_RETURN_IF_ERROR(core::ForEachTable(root, "kind", file, /*required=*/true,
                                        [&](const TomlFields& f, const toml::table& t) -> Result<void> {
                                          FL_ASSIGN_OR_RETURN(DocumentKind k, ParseKind(f, t, regime));
                                          if (!ids.insert(k.id).second) {
                                            return f.Bad("id", fmt::format("kind '{}' is defined twice", k.id));
                                          }
                                          kinds.push_back(std::move(k));
                                          return core::Ok();
                                        }));
  return kinds;
}

Result<std::vector<DocumentKind>> LoadKindDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> paths;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".toml") paths.push_back(entry.path().string());
  }
  if (ec || paths.empty()) {
    return core::NotFound(fmt::format("no document kinds (*.toml) in '{}'", dir), "--documents-dir");
  }
  std::sort(paths.begin(), paths.end());
  std::vector<DocumentKind> all;
  for (const std::string& path : paths) {
    FL_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
    FL_ASSIGN_OR_RETURN(std::vector<DocumentKind> kinds, ParseKinds(text, path));
    for (DocumentKind& k : kinds) {
      if (FindKind(all, k.id) != nullptr) {
        return core::InvalidArgument(fmt::format("kind '{}' is defined in two files", k.id), "kind.id", k.where);
      }
      all.push_back(std::move(k));
    }
  }
  return all;
}

Result<void> CheckAgainstRegimes(const std::vector<DocumentKind>& kinds, const std::vector<rules::Regime>& regimes) {
  for (const DocumentKind& k : kinds) {
    auto regime = std::find_if(regimes.begin(), regimes.end(), [&](const rules::Regime& r) { return r.id == k.regime; });
    if (regime == regimes.end()) {
      return core::InvalidArgument(fmt::format("kind '{}' names regime '{}', which is not loaded", k.id, k.regime),
                                   "regime", k.where);
    }
    auto check_statuses = [&](const std::vector<std::string>& statuses, const core::Location& where,
                              const std::string& field) -> Result<void> {
      for (const std::string& s : statuses) {
        if (std::find(regime->covered_statuses.begin(), regime->covered_statuses.end(), s) ==
            regime->covered_statuses.end()) {
          return core::InvalidArgument(fmt::format("'{}' is not a status of {} that carries duties ({})", s,
                                                   regime->id, fmt::join(regime->covered_statuses, ", ")),
                                       field, where);
        }
      }
      return core::Ok();
    };
    FL_RETURN_IF_ERROR(check_statuses(k.applies_to, k.where, "applies_to"));
    for (const Element& e : k.elements) {
      FL_RETURN_IF_ERROR(check_statuses(e.applies_to, e.where, "element.applies_to"));
    }
    for (const std::string& id : k.discharges) {
      bool found = std::any_of(regime->obligations.begin(), regime->obligations.end(),
                               [&](const rules::Obligation& o) { return o.id == id; });
      if (!found) {
        return core::InvalidArgument(fmt::format("'{}' is not an obligation of {}", id, regime->id), "discharges",
                                     k.where);
      }
    }
  }
  return core::Ok();
}

const DocumentKind* FindKind(const std::vector<DocumentKind>& kinds, std::string_view id) {
  for (const DocumentKind& k : kinds) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

}  // namespace flopline::documents
