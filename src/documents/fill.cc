#include "flopline/documents/fill.h"

#include <algorithm>

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
  if (out.empty() || std::any_of(out.begin(), out.end(), [](const std::string& s) { return Blank(s); })) {
    return Bad(node, file, field, "is empty: leave the element out instead (the completeness report lists it)");
  }
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
      const Element* e = kind.FindElement(key.str());
      if (e == nullptr) {
        std::vector<std::string> writable;
        for (const Element& el : kind.elements) {
          if (el.text != TextNeed::kNone) writable.push_back(el.id);
        }
        return Bad(value, file, field,
                   fmt::format("'{}' has no element '{}'; elements to write: {}", kind.id, key.str(),
                               fmt::join(writable, ", ")));
      }
      if (e->text == TextNeed::kNone) {
        return Bad(value, file, field, fmt::format("element '{}' takes no text: it is filled from the record", e->id));
      }
      FL_ASSIGN_OR_RETURN(fill.texts[e->id], ElementText(value, file, field, *e));
    }
  }
  if (const toml::node* node = root.get("redact")) {
    const toml::table* t = node->as_table();
    if (t == nullptr) return Bad(*node, file, "redact", "expected tables [redact.ELEMENT] with ground and why");
    for (const auto& [key, value] : *t) {
      std::string field = "redact." + std::string(key.str());
      const Element* e = kind.FindElement(key.str());
      if (e == nullptr) return Bad(value, file, field, fmt::format("'{}' has no element '{}'", kind.id, key.str()));
      if (!e->redactable) {
        return Bad(value, file, field,
                   fmt::format("element '{}' may not be withheld from the public copy ({})", e->id, kind.redaction_cite));
      }
      const toml::table* r = value.as_table();
      if (r == nullptr) return Bad(value, file, field, "expected a table with ground and why");
      core::TomlFields f(*r, file, field);
      FL_RETURN_IF_ERROR(f.OnlyKeys({"ground", "why"}));
      Redaction redaction;
      FL_ASSIGN_OR_RETURN(redaction.ground, f.String("ground"));
      FL_ASSIGN_OR_RETURN(redaction.why, f.StringOr("why", ""));
      if (std::find(kind.redaction_grounds.begin(), kind.redaction_grounds.end(), redaction.ground) ==
          kind.redaction_grounds.end()) {
        return f.Bad("ground", fmt::format("'{}' is not a ground {} allows; grounds: {}", redaction.ground,
                                           kind.required_by, fmt::join(kind.redaction_grounds, ", ")));
      }
      if (kind.describe_redactions && Blank(redaction.why)) {
        return f.Bad("why", fmt::format("is required: {}", kind.redaction_cite));
      }
      fill.redactions[e->id] = std::move(redaction);
    }
  }
  return fill;
}

}  // namespace flopline::documents
