#include "flopline/documents/document.h"

#include <algorithm>

#include <fmt/format.h>

#include "flopline/ledger/records.h"

namespace flopline::documents {
namespace {

using core::Result;
using nlohmann::json;

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

json FactJson(const Fact& f, bool required) {
  json source = {{"type", f.source.type}};
  if (f.source.type == "record") {
    source["index"] = f.source.index;
    source["leaf_hash"] = f.source.leaf_hash;
    source["record_kind"] = f.source.record_kind;
    source["recorded_at"] = f.source.recorded_at;
    source["field"] = f.source.field;
  } else {
    source["text"] = f.source.text;
  }
  json out = {{"fact", f.fact}, {"label", f.label}, {"value", f.value}, {"required", required}, {"source", source}};
  if (!f.stale.empty()) out["stale"] = f.stale;
  return out;
}

std::string DescribeFact(const std::string& fact) {
  if (fact.starts_with("record.")) return fmt::format("no {} record for the model in the log", fact.substr(7));
  if (fact.starts_with("event.")) return fmt::format("no {} event in the model's file", fact.substr(6));
  if (fact == "drill.latest") return "no shutdown drill whose scope reaches the model";
  return fmt::format("no {} fact", fact);
}

// Paragraphs of a text: split at blank lines.
std::vector<std::string> Paragraphs(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    bool blank = line.find_first_not_of(" \t\r") == std::string::npos;
    if (blank) {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current += (current.empty() ? "" : "\n") + line;
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

// ---- rendering: every value read defensively (a public copy comes from a file anyone could edit) ----

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned()) return std::to_string(it->get<std::uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  return {};
}

const json& Get(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A CSS string literal's contents: quotes and backslashes escaped, control characters dropped.
std::string CssString(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) >= 0x20) {
      out += c;
    }
  }
  return out;
}

constexpr const char* kStyle = R"css(
body { font-family: "DejaVu Serif", Georgia, serif; font-size: 11pt; line-height: 1.45; color: #111; max-width: 46em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin: 0.2em 0 0.4em; }
h2 { font-size: 1.15em; margin: 1.6em 0 0.3em; border-bottom: 1px solid #999; padding-bottom: 0.15em; }
h2 .cite { font-family: "DejaVu Sans", sans-serif; font-weight: normal; color: #333; margin-right: 0.4em; }
.required-by { font-family: "DejaVu Sans", sans-serif; font-size: 0.9em; color: #333; margin: 0; }
dl.meta { display: grid; grid-template-columns: 9em 1fr; gap: 0.15em 1em; font-size: 0.92em; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.law { font-style: italic; color: #333; margin: 0.2em 0 0.6em; }
table.facts { border-collapse: collapse; width: 100%; font-size: 0.92em; margin: 0.4em 0; }
table.facts th { text-align: left; font-weight: normal; color: #333; width: 38%; vertical-align: top; padding: 0.15em 0.6em 0.15em 0; }
table.facts td { vertical-align: top; padding: 0.15em 0; overflow-wrap: anywhere; }
.missing, .stale, .notice { font-family: "DejaVu Sans", sans-serif; font-size: 0.9em; border-left: 4px solid #b00; padding: 0.2em 0.6em; background: #fbeaea; }
.stale { border-left-color: #a60; background: #fdf3e3; }
.notice { border-left-color: #555; background: #eee; }
.redacted { font-family: "DejaVu Sans", sans-serif; border: 1px dashed #333; padding: 0.4em 0.6em; background: #f4f4f4; }
.complete { font-family: "DejaVu Sans", sans-serif; font-size: 0.9em; border-left: 4px solid #286; padding: 0.2em 0.6em; background: #e8f4ee; }
sup a { text-decoration: none; }
footer.sources { font-size: 0.85em; margin-top: 2em; border-top: 1px solid #999; }
footer.sources li { overflow-wrap: anywhere; }
section.element { break-inside: auto; }
h2 { break-after: avoid; }
@media print { body { max-width: none; margin: 0; padding: 0; font-size: 10pt; } a { color: inherit; } }
)css";

struct Footnotes {
  std::vector<std::string> items;
  std::map<std::string, std::size_t> by_key;
  std::size_t Number(const json& source) {
    std::string key = source.dump();
    auto it = by_key.find(key);
    if (it != by_key.end()) return it->second;
    std::string text;
    if (Str(source, "type") == "record") {
      text = fmt::format("Ledger entry {} ({} record, recorded {}), field '{}'; leaf hash <code>{}</code>",
                         Esc(Str(source, "index")), Esc(Str(source, "record_kind")), Esc(Str(source, "recorded_at")),
                         Esc(Str(source, "field")), Esc(Str(source, "leaf_hash")));
    } else {
      text = "Determination: " + Esc(Str(source, "text"));
    }
    items.push_back(std::move(text));
    by_key[key] = items.size();
    return items.size();
  }
};

}  // namespace

Result<json> BuildDocument(const BuildInput& in) {
  const DocumentKind& kind = in.kind;
  json doc = json::object();
  doc["document_kind"] = kind.id;
  doc["title"] = kind.title;
  doc["required_by"] = kind.required_by;
  doc["summary"] = kind.summary;
  doc["regime"] = kind.regime;
  doc["regime_title"] = in.facts.regime_title;
  doc["regime_version"] = in.facts.regime_version;
  doc["model"] = in.evidence.model;
  doc["as_of"] = in.as_of.ToString();
  doc["version"] = in.version;
  doc["log_size"] = in.evidence.log_size;
  doc["due"] = kind.due;
  doc["retention"] = kind.retention;
  if (!kind.signer.empty()) doc["signer_named"] = {{"who", kind.signer}, {"cite", kind.signer_cite}};
  bool owed = Contains(kind.applies_to, in.facts.status);
  doc["applies"] = {{"status", in.facts.status}, {"owed", owed}, {"statuses", kind.applies_to}};
  if (in.fill && in.fill->signer_name) {
    doc["signer"] = *in.fill->signer_name;
    doc["role"] = *in.fill->signer_role;
  }

  json outline = json::array();
  json redactions = json::array();
  json items = json::array();
  const ledger::RecordKind* record = ledger::FindRecordKind(kind.record_kind);
  if (record && Contains(std::vector<std::string>(record->required_fields.begin(), record->required_fields.end()),
                         "signer") && !(in.fill && in.fill->signer_name)) {
    items.push_back({{"element", "signatory"}, {"heading", "Signatory"}, {"state", "missing"},
                     {"why", fmt::format("the fill file names no [signatory] (name, role): {} ({})",
                                         kind.signer.empty() ? "the record names its signer" : kind.signer,
                                         kind.signer_cite)}});
  }
  for (const Element& e : kind.elements) {
    outline.push_back({{"id", e.id}, {"heading", e.heading}, {"cite", e.cite}});
    json el = {{"id", e.id}, {"heading", e.heading}, {"cite", e.cite}, {"law", e.law}, {"required", e.required}};
    std::vector<std::string> missing, stale;
    bool applicable = e.applies_to.empty() || Contains(e.applies_to, in.facts.status);
    json facts = json::array();
    if (in.fill) {
      auto t = in.fill->texts.find(e.id);
      if (t != in.fill->texts.end()) {
        if (e.input == InputShape::kList) {
          el["items"] = t->second;
        } else {
          el["text"] = Paragraphs(t->second.front());
        }
      }
    }
    if (e.text == TextNeed::kRequired && !el.contains("text") && !el.contains("items")) {
      missing.push_back(fmt::format("needs text: write it in the fill file under [elements] {} = {}", e.id,
                                    e.input == InputShape::kList ? "[\"...\"]" : "\"...\""));
    }
    auto add_facts = [&](const std::vector<std::string>& ids, bool required) {
      for (const std::string& id : ids) {
        auto it = in.facts.facts.find(id);
        if (it == in.facts.facts.end()) {
          if (required) missing.push_back(DescribeFact(id));
          continue;
        }
        for (const Fact& f : it->second) {
          facts.push_back(FactJson(f, required));
          if (!f.stale.empty() && !Contains(stale, f.stale)) stale.push_back(f.stale);
        }
      }
    };
    add_facts(e.facts, true);
    add_facts(e.optional_facts, false);
    el["facts"] = std::move(facts);
    if (e.signatory) {
      if (in.fill && in.fill->signer_name) {
        el["signatory"] = {{"name", *in.fill->signer_name}, {"role", *in.fill->signer_role}};
      } else {
        missing.push_back("names no signatory: [signatory] name and role in the fill file");
      }
    }
    std::string state;
    std::string why;
    if (!applicable) {
      state = "not-applicable";
      why = fmt::format("owed only by {}; the model is {}", fmt::join(e.applies_to, ", "), in.facts.status);
    } else if (!missing.empty()) {
      state = e.required ? "missing" : "partial";
      why = fmt::format("{}", fmt::join(missing, "; "));
    } else if (!stale.empty()) {
      state = "stale";
      why = fmt::format("{}", fmt::join(stale, "; "));
    } else {
      state = "complete";
    }
    el["state"] = state;
    if (!why.empty()) el["why"] = why;
    if (state == "missing" || state == "stale") {
      items.push_back({{"element", e.id}, {"heading", e.heading}, {"state", state}, {"why", why}});
    }
    if (in.fill) {
      auto r = in.fill->redactions.find(e.id);
      if (r != in.fill->redactions.end()) {
        redactions.push_back({{"element", e.id}, {"heading", e.heading}, {"ground", r->second.ground},
                              {"why", r->second.why}, {"clause", kind.redaction_cite}});
      }
    }
    doc[std::string(kElementPrefix) + e.id] = std::move(el);
  }
  doc["outline"] = std::move(outline);
  doc["redactions"] = std::move(redactions);
  doc["completeness"] = {{"complete", items.empty()}, {"items", std::move(items)}};
  return doc;
}

std::map<std::string, std::string> LedgerRedactions(const json& document) {
  std::map<std::string, std::string> out;
  const json& list = Get(document, "redactions");
  if (!list.is_array()) return out;
  for (const json& r : list) out[std::string(kElementPrefix) + Str(r, "element")] = Str(r, "ground");
  return out;
}

std::vector<CompletenessItem> Incomplete(const json& document) {
  std::vector<CompletenessItem> out;
  const json& list = Get(Get(document, "completeness"), "items");
  if (!list.is_array()) return out;
  for (const json& i : list) out.push_back({Str(i, "element"), Str(i, "heading"), Str(i, "state"), Str(i, "why")});
  return out;
}

std::string RenderHtml(const json& fields, const std::map<std::string, std::string>& redacted, const Header& header) {
  const std::string model = Str(fields, "model"), title = Str(fields, "title"), version = Str(fields, "version");
  const std::string copy = !header.filed ? "draft" : header.public_copy ? "public" : "original";
  std::string head_right = header.filed ? fmt::format("entry {} · leaf hash {}", header.index, header.leaf_hash)
                                        : "DRAFT · not filed";
  std::string copy_name = copy == "draft" ? "draft, not filed" : copy == "public" ? "public copy" : "unredacted original";
  std::string out;
  out.reserve(32768);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += fmt::format("<title>{} · {} · version {}</title>\n", Esc(title), Esc(model), Esc(version));
  out += "<style>";
  out += kStyle;
  out += fmt::format(
      "@page {{ size: Letter; margin: 20mm 16mm 18mm 16mm;\n"
      "  @top-left {{ content: \"{} · {} · version {}\"; font: 7.5pt \"DejaVu Sans\", sans-serif; color: #333; }}\n"
      "  @top-right {{ content: \"{}\"; font: 7.5pt \"DejaVu Sans\", sans-serif; color: #333; }}\n"
      "  @bottom-left {{ content: \"{} · {}\"; font: 7.5pt \"DejaVu Sans\", sans-serif; color: #333; }}\n"
      "  @bottom-right {{ content: \"Page \" counter(page) \" of \" counter(pages); font: 7.5pt \"DejaVu Sans\", sans-serif; }} }}\n",
      CssString(model), CssString(title), CssString(version), CssString(head_right), CssString(Str(fields, "document_kind")),
      CssString(copy_name));
  out += "</style>\n</head>\n";
  out += fmt::format("<body data-kind=\"{}\" data-model=\"{}\" data-version=\"{}\" data-copy=\"{}\"{}>\n",
                     Esc(Str(fields, "document_kind")), Esc(model), Esc(version), copy,
                     header.filed ? fmt::format(" data-index=\"{}\" data-leaf-hash=\"{}\"", header.index,
                                                Esc(header.leaf_hash))
                                  : "");
  out += "<header class=\"doc-head\">\n";
  out += fmt::format("<p class=\"required-by\">{}</p>\n<h1>{}</h1>\n", Esc(Str(fields, "required_by")), Esc(title));
  out += "<dl class=\"meta\">\n";
  auto meta = [&](std::string_view name, const std::string& value_html) {
    out += fmt::format("<dt>{}</dt><dd>{}</dd>\n", name, value_html);
  };
  meta("Model", Esc(model));
  meta("Regime", fmt::format("{} ({}, version {})", Esc(Str(fields, "regime_title")), Esc(Str(fields, "regime")),
                             Esc(Str(fields, "regime_version"))));
  meta("Facts as of", fmt::format("{} (evidence log of {} entries)", Esc(Str(fields, "as_of")), Esc(Str(fields, "log_size"))));
  meta("Version", Esc(version));
  meta("Filed", header.filed ? fmt::format("ledger entry {}, leaf hash <code>{}</code>", header.index, Esc(header.leaf_hash))
                             : std::string("not filed: a draft"));
  meta("This copy", copy == "public"     ? std::string("public copy: withholds what the law allows, as listed below")
                    : copy == "original" ? std::string("unredacted original")
                                         : std::string("draft"));
  meta("Due", Esc(Str(fields, "due")));
  meta("Retention", Esc(Str(fields, "retention")));
  const json& named = Get(fields, "signer_named");
  if (named.is_object()) {
    std::string who = fmt::format("{} ({})", Esc(Str(named, "who")), Esc(Str(named, "cite")));
    if (!Str(fields, "signer").empty()) who += fmt::format(": {}, {}", Esc(Str(fields, "signer")), Esc(Str(fields, "role")));
    meta("To be signed by", who);
  }
  out += "</dl>\n";
  out += fmt::format("<p class=\"summary\">{}</p>\n", Esc(Str(fields, "summary")));
  const json& applies = Get(fields, "applies");
  if (applies.is_object() && Get(applies, "owed").is_boolean() && !Get(applies, "owed").get<bool>()) {
    std::vector<std::string> statuses;
    if (Get(applies, "statuses").is_array()) {
      for (const json& s : Get(applies, "statuses")) {
        if (s.is_string()) statuses.push_back(Esc(s.get<std::string>()));
      }
    }
    out += fmt::format("<p class=\"notice\">Under this regime the model's status is {}: the law asks this document of "
                       "{}.</p>\n",
                       Esc(Str(applies, "status")), fmt::join(statuses, ", "));
  }
  const json& items = Get(Get(fields, "completeness"), "items");
  if (items.is_array() && !items.empty()) {
    out += fmt::format("<div class=\"missing\" id=\"completeness\"><strong>Incomplete:</strong> {} element(s) missing or "
                       "stale.<ul>\n",
                       items.size());
    for (const json& i : items) {
      out += fmt::format("<li data-element=\"{}\" data-state=\"{}\">{} ({}): {}</li>\n", Esc(Str(i, "element")),
                         Esc(Str(i, "state")), Esc(Str(i, "heading")), Esc(Str(i, "state")), Esc(Str(i, "why")));
    }
    out += "</ul></div>\n";
  } else if (items.is_array()) {
    out += "<p class=\"complete\" id=\"completeness\">Complete: every required element is filled and current.</p>\n";
  }
  out += "</header>\n<main>\n";

  Footnotes notes;
  const json& outline = Get(fields, "outline");
  if (outline.is_array()) {
    for (const json& entry : outline) {
      const std::string id = Str(entry, "id");
      const std::string field = std::string(kElementPrefix) + id;
      const json& el = Get(fields, field.c_str());
      auto red = redacted.find(field);
      std::string state = Str(el, "state");
      out += fmt::format("<section class=\"element\" id=\"element-{}\" data-element=\"{}\"", Esc(id), Esc(id));
      if (!state.empty()) out += fmt::format(" data-state=\"{}\"", Esc(state));
      if (red != redacted.end()) out += fmt::format(" data-redacted=\"{}\"", Esc(red->second));
      out += ">\n";
      out += fmt::format("<h2><span class=\"cite\">{}</span> {}</h2>\n", Esc(Str(entry, "cite")), Esc(Str(entry, "heading")));
      if (!el.is_object()) {
        if (red != redacted.end()) {
          std::string why;
          const json& list = Get(fields, "redactions");
          if (list.is_array()) {
            for (const json& r : list) {
              if (Str(r, "element") == id) {
                why = Str(r, "why").empty() ? fmt::format(" ({})", Esc(Str(r, "clause")))
                                            : fmt::format(": {} ({})", Esc(Str(r, "why")), Esc(Str(r, "clause")));
              }
            }
          }
          out += fmt::format("<p class=\"redacted\">Withheld from this public copy on the ground {}{}.</p>\n",
                             Esc(red->second), why);
        } else {
          out += "<p class=\"missing\">This element is absent from this copy.</p>\n";
        }
        out += "</section>\n";
        continue;
      }
      out += fmt::format("<p class=\"law\">The statute asks for: {}</p>\n", Esc(Str(el, "law")));
      if (state == "not-applicable") {
        out += fmt::format("<p class=\"notice\">Not required here: {}.</p>\n", Esc(Str(el, "why")));
      }
      const json& text = Get(el, "text");
      if (text.is_array()) {
        for (const json& p : text) {
          if (p.is_string()) out += fmt::format("<p class=\"text\">{}</p>\n", Esc(p.get<std::string>()));
        }
      }
      const json& list = Get(el, "items");
      if (list.is_array()) {
        out += "<ul class=\"items\">\n";
        for (const json& p : list) {
          if (p.is_string()) out += fmt::format("<li>{}</li>\n", Esc(p.get<std::string>()));
        }
        out += "</ul>\n";
      }
      const json& facts = Get(el, "facts");
      if (facts.is_array() && !facts.empty()) {
        out += "<table class=\"facts\">\n";
        for (const json& f : facts) {
          const json& source = Get(f, "source");
          std::size_t n = notes.Number(source);
          std::string attrs = fmt::format(" data-fact=\"{}\" data-source-type=\"{}\"", Esc(Str(f, "fact")),
                                          Esc(Str(source, "type")));
          if (Str(source, "type") == "record") {
            attrs += fmt::format(" data-source-index=\"{}\" data-source-field=\"{}\"", Esc(Str(source, "index")),
                                 Esc(Str(source, "field")));
          }
          out += fmt::format("<tr><th>{}</th><td><span class=\"fact\"{}>{}</span><sup><a href=\"#source-{}\">{}</a></sup>",
                             Esc(Str(f, "label")), attrs, Esc(Str(f, "value")), n, n);
          if (!Str(f, "stale").empty()) out += fmt::format(" <span class=\"stale\">stale: {}</span>", Esc(Str(f, "stale")));
          out += "</td></tr>\n";
        }
        out += "</table>\n";
      }
      const json& signatory = Get(el, "signatory");
      if (signatory.is_object()) {
        out += fmt::format("<p class=\"signatory\">Signatory: {}, {}</p>\n", Esc(Str(signatory, "name")),
                           Esc(Str(signatory, "role")));
      }
      if (state == "missing" || state == "stale" || state == "partial") {
        out += fmt::format("<p class=\"{}\">{}: {}</p>\n", state == "stale" ? "stale" : "missing",
                           state == "stale" ? "Stale" : "Missing", Esc(Str(el, "why")));
      }
      if (red != redacted.end()) {
        out += fmt::format("<p class=\"notice\">Withheld from the public copy on the ground: {}.</p>\n", Esc(red->second));
      }
      out += "</section>\n";
    }
  }
  const json& redactions = Get(fields, "redactions");
  if (redactions.is_array() && !redactions.empty()) {
    out += "<section class=\"redactions\" id=\"redactions\">\n<h2>What the public copy withholds, and why</h2>\n"
           "<table class=\"facts\">\n";
    for (const json& r : redactions) {
      out += fmt::format("<tr><th>{}</th><td>{}{}<br>{}</td></tr>\n", Esc(Str(r, "heading")), Esc(Str(r, "ground")),
                         Str(r, "why").empty() ? "" : ": " + Esc(Str(r, "why")), Esc(Str(r, "clause")));
    }
    out += "</table>\n</section>\n";
  }
  out += "</main>\n<footer class=\"sources\">\n<h2>Sources</h2>\n<ol>\n";
  for (std::size_t i = 0; i < notes.items.size(); ++i) {
    out += fmt::format("<li id=\"source-{}\">{}</li>\n", i + 1, notes.items[i]);
  }
  out += "</ol>\n";
  out += "<p>Each ledger entry can be checked with <code>flopline ledger show --index N</code>; this copy with "
         "<code>flopline document verify</code>.</p>\n</footer>\n</body>\n</html>\n";
  return out;
}

}  // namespace flopline::documents
