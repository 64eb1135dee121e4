#include "flopline/documents/fill.h"

#include <algorithm>
#include <variant>

#include <fmt/format.h>

#include "flopline/core/toml_fields.h"

namespace flopline::documents {
namespace {

using core::Result;

core::Location Where(const toml::node& node, const std::string& file) { return core::TomlLocation(node, file); }

tl::unexpected<core::Error> Bad(const toml::node& node, const std::string& file, std::string field,
                                std::string message) {
  return core::InvalidArgument(std::move(message), std::move(field), Where(node, file));
}

bool Blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// The checks both readers (TOML, JSON) make: each returns why a value is refused, or nothing.

// Text for element `key`: the element, or why it takes none.
std::variant<const Element*, std::string> TextElement(const DocumentKind& kind, std::string_view key) {
  const Element* e = kind.FindElement(key);
  if (e == nullptr) {
    std::vector<std::string> writable;
    for (const Element& el : kind.elements) {
      if (el.text != TextNeed::kNone) writable.push_back(el.id);
    }
    return fmt::format("'{}' has no element '{}'; elements to write: {}", kind.id, key, fmt::join(writable, ", "));
  }
  if (e->text == TextNeed::kNone) return fmt::format("element '{}' takes no text: it is filled from the record", e->id);
  return e;
}

constexpr std::string_view kEmptyText = "is empty: leave the element out instead (the completeness report lists it)";

bool AnyBlank(const std::vector<std::string>& texts) {
  return texts.empty() || std::any_of(texts.begin(), texts.end(), [](const std::string& s) { return Blank(s); });
}

// A redaction of element `key`: the element, or why it may not be withheld.
std::variant<const Element*, std::string> RedactableElement(const DocumentKind& kind, std::string_view key) {
  const Element* e = kind.FindElement(key);
  if (e == nullptr) return fmt::format("'{}' has no element '{}'", kind.id, key);
  if (!e->redactable) {
    return fmt::format("element '{}' may not be withheld from the public copy ({})", e->id, kind.redaction_cite);
  }
  return e;
}

// Why a redaction's ground or reason is refused: {"ground" or "why", the message}, or nothing.
std::optional<std::pair<std::string, std::string>> RedactionRefusal(const DocumentKind& kind, const Redaction& r) {
  if (std::find(kind.redaction_grounds.begin(), kind.redaction_grounds.end(), r.ground) == kind.redaction_grounds.end()) {
    return std::pair<std::string, std::string>{
        "ground", fmt::format("'{}' is not a ground {} allows; grounds: {}", r.ground, kind.required_by,
                              fmt::join(kind.redaction_grounds, ", "))};
  }
  if (kind.describe_redactions && Blank(r.why)) {
    return std::pair<std::string, std::string>{"why", fmt::format("is required: {}", kind.redaction_cite)};
  }
  return std::nullopt;
}

Result<std::vector<std::string>> ElementText(const toml::node& node, const std::string& file, const std::string& field,
                                             const Element& e) {
  std::vector<std::string> out;
  if (e.input == InputShape::kText) {
    if (!node.is_string()) {
      return Bad(node, file, field, "expected text (a string): this element takes one text, not a list");
    }
    out.push_back(node.as_string()->get());
  } else {
    const toml::array* items = node.as_array();
    if (items == nullptr) return Bad(node, file, field, "expected a list of strings: this element takes a list");
    for (const toml::node& item : *items) {
      if (!item.is_string()) return Bad(item, file, field, "expected a list of strings");
      out.push_back(item.as_string()->get());
    }
  }
  if (AnyBlank(out)) return Bad(node, file, field, std::string(kEmptyText));
  return out;
}

}  // namespace

Result<Fill> ParseFill(std::string_view text, const std::string& file, const DocumentKind& kind) {
  FL_ASSIGN_OR_RETURN(toml::table root, core::ParseToml(text, file));
  core::TomlFields top(root, file, "fill");
  FL_RETURN_IF_ERROR(top.OnlyKeys({"kind", "signatory", "elements", "redact"}));
  Fill fill;
  fill.file = file;
  FL_ASSIGN_OR_RETURN(std::optional<std::string> named, top.OptionalString("kind"));
  if (named && *named != kind.id) {
    return top.Bad("kind", fmt::format("this fill file is for '{}', not '{}'", *named, kind.id));
  }
  if (const toml::node* node = root.get("signatory")) {
    const toml::table* t = node->as_table();
    if (t == nullptr) return Bad(*node, file, "signatory", "expected a table with name and role");
    core::TomlFields f(*t, file, "signatory");
    FL_RETURN_IF_ERROR(f.OnlyKeys({"name", "role"}));
    FL_ASSIGN_OR_RETURN(std::string name, f.String("name"));
    FL_ASSIGN_OR_RETURN(std::string role, f.String("role"));
    if (Blank(name)) return f.Bad("name", "is empty");
    if (Blank(role)) return f.Bad("role", "is empty");
    fill.signer_name = name;
    fill.signer_role = role;
  }
  if (const toml::node* node = root.get("elements")) {
    const toml::table* t = node->as_table();
    if (t == nullptr) return Bad(*node, file, "elements", "expected a table of element id = text");
    for (const auto& [key, value] : *t) {
      std::string field = "elements." + std::string(key.str());
      auto element = TextElement(kind, key.str());
      if (auto* why = std::get_if<std::string>(&element)) return Bad(value, file, field, *why);
      const Element* e = std::get<const Element*>(element);
      FL_ASSIGN_OR_RETURN(fill.texts[e->id], ElementText(value, file, field, *e));
    }
  }
  if (const toml::node* node = root.get("redact")) {
    const toml::table* t = node->as_table();
    if (t == nullptr) return Bad(*node, file, "redact", "expected tables [redact.ELEMENT] with ground and why");
    for (const auto& [key, value] : *t) {
      std::string field = "redact." + std::string(key.str());
      auto element = RedactableElement(kind, key.str());
      if (auto* why = std::get_if<std::string>(&element)) return Bad(value, file, field, *why);
      const Element* e = std::get<const Element*>(element);
      const toml::table* r = value.as_table();
      if (r == nullptr) return Bad(value, file, field, "expected a table with ground and why");
      core::TomlFields f(*r, file, field);
      FL_RETURN_IF_ERROR(f.OnlyKeys({"ground", "why"}));
      Redaction redaction;
      FL_ASSIGN_OR_RETURN(redaction.ground, f.String("ground"));
      FL_ASSIGN_OR_RETURN(redaction.why, f.StringOr("why", ""));
      if (auto refused = RedactionRefusal(kind, redaction)) return f.Bad(refused->first, refused->second);
      fill.redactions[e->id] = std::move(redaction);
    }
  }
  return fill;
}

Result<Fill> FillFromJson(const nlohmann::json& body, const DocumentKind& kind) {
  using nlohmann::json;
  auto bad = [](std::string field, std::string message) { return core::InvalidArgument(std::move(message), std::move(field)); };
  if (!body.is_object()) return bad("fill", "expected an object {signatory?, elements?, redact?}");
  for (const auto& [key, value] : body.items()) {
    if (key != "kind" && key != "signatory" && key != "elements" && key != "redact") {
      return bad(key.empty() ? "\"\"" : key, "is not a known field; expected kind, signatory, elements, redact");
    }
  }
  Fill fill;
  fill.file = "fill";
  if (body.contains("kind") && (!body["kind"].is_string() || body["kind"].get<std::string>() != kind.id)) {
    return bad("kind", fmt::format("this fill is for '{}', not '{}'", body["kind"].dump(), kind.id));
  }
  if (body.contains("signatory")) {
    const json& s = body["signatory"];
    if (!s.is_object()) return bad("signatory", "expected an object with name and role");
    for (const auto& [key, value] : s.items()) {
      if (key != "name" && key != "role") return bad("signatory." + key, "is not a known field; expected name, role");
    }
    for (const char* key : {"name", "role"}) {
      if (!s.contains(key) || !s[key].is_string()) return bad(std::string("signatory.") + key, "is required: a string");
      if (Blank(s[key].get<std::string>())) return bad(std::string("signatory.") + key, "is empty");
    }
    fill.signer_name = s["name"].get<std::string>();
    fill.signer_role = s["role"].get<std::string>();
  }
  if (body.contains("elements")) {
    const json& elements = body["elements"];
    if (!elements.is_object()) return bad("elements", "expected an object of element id: text");
    for (const auto& [key, value] : elements.items()) {
      std::string field = "elements." + key;
      auto element = TextElement(kind, key);
      if (auto* why = std::get_if<std::string>(&element)) return bad(field, *why);
      const Element* e = std::get<const Element*>(element);
      std::vector<std::string> texts;
      if (e->input == InputShape::kText) {
        if (!value.is_string()) return bad(field, "expected text (a string): this element takes one text, not a list");
        texts.push_back(value.get<std::string>());
      } else {
        if (!value.is_array()) return bad(field, "expected a list of strings: this element takes a list");
        for (const json& item : value) {
          if (!item.is_string()) return bad(field, "expected a list of strings");
          texts.push_back(item.get<std::string>());
        }
      }
      if (AnyBlank(texts)) return bad(field, std::string(kEmptyText));
      fill.texts[e->id] = std::move(texts);
    }
  }
  if (body.contains("redact")) {
    const json& redact = body["redact"];
    if (!redact.is_object()) return bad("redact", "expected an object of element id: {ground, why}");
    for (const auto& [key, value] : redact.items()) {
      std::string field = "redact." + key;
      auto element = RedactableElement(kind, key);
      if (auto* why = std::get_if<std::string>(&element)) return bad(field, *why);
      if (!value.is_object()) return bad(field, "expected an object with ground and why");
      for (const auto& [k, v] : value.items()) {
        if (k != "ground" && k != "why") return bad(field + "." + k, "is not a known field; expected ground, why");
      }
      Redaction r;
      if (!value.contains("ground") || !value["ground"].is_string()) return bad(field + ".ground", "is required: a string");
      r.ground = value["ground"].get<std::string>();
      if (value.contains("why")) {
        if (!value["why"].is_string()) return bad(field + ".why", "expected a string");
        r.why = value["why"].get<std::string>();
      }
      if (auto refused = RedactionRefusal(kind, r)) return bad(field + "." + refused->first, refused->second);
      fill.redactions[std::get<const Element*>(element)->id] = std::move(r);
    }
  }
  return fill;
}

}  // namespace flopline::documents
