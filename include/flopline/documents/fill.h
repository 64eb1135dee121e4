// File: flopline/documents/fill.h
//
// A fill file: the text people write for a document's elements, who is to sign it, and what the
// public copy withholds (docs/documents.md):
//
//   kind = "sb1047-statement-of-compliance"     # optional; must be the kind being built
//   [signatory]
//   name = "Dana Reyes"
//   role = "Chief Technology Officer"
//   [elements]
//   f2A = "The assessment found ..."            # an element whose input is text: a string
//   f2C = ["Reviewed the protocol ...", "..."]  # an element whose input is a list: strings
//   [redact.f2B]
//   ground = "trade-secret"                     # one of the kind's redaction_grounds
//   why = "names an unreleased evaluation"      # required where the law asks redactions be described
//
// Errors (kInvalidArgument at file:line:column naming the field): an unknown key or element, an
// element that takes no text, text of the wrong type, an empty text, a redaction of an element the
// kind does not let be withheld or on a ground the kind's clause does not allow.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/core/result.h"
#include "flopline/documents/kinds.h"

namespace flopline::documents {

struct Redaction {
  std::string ground, why;
};

struct Fill {
  std::string file;
  std::optional<std::string> signer_name, signer_role;
  std::map<std::string, std::vector<std::string>> texts;  // element id -> paragraphs or list items
  std::map<std::string, Redaction> redactions;            // element id -> ground and why
};

core::Result<Fill> ParseFill(std::string_view text, const std::string& file, const DocumentKind& kind);

// The same as JSON (the workspace API's body): {"kind"?, "signatory"?: {"name", "role"},
// "elements"?: {id: "text" | ["item", ...]}, "redact"?: {id: {"ground", "why"?}}}, with the same
// checks; errors are kInvalidArgument naming the field as a path ("elements.f2A", "redact.f2B.ground").
core::Result<Fill> FillFromJson(const nlohmann::json& body, const DocumentKind& kind);

}  // namespace flopline::documents
