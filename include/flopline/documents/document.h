// File: flopline/documents/document.h
//
// A document: built from its kind, the facts and a fill file into a JSON object (the record filed
// in the evidence log, one top-level field per element so that each can be withheld from the
// public copy on its own), and rendered to canonical HTML (readable and printable: the statute's
// element names as headings, every filled fact footnoted with its source, a running header and page
// numbers in print). Rendering is a pure function of the fields and the redactions, so a copy can be
// checked by rendering its fields again and comparing bytes.
//
//   FL_ASSIGN_OR_RETURN(nlohmann::json doc, BuildDocument({kind, facts, evidence, as_of, &fill, 1}));
//   std::string html = RenderHtml(doc, {}, Header{});
//
// Field names (docs/documents.md): "document_kind", "title", "required_by", "summary", "regime",
// "regime_version", "model", "as_of", "version", "log_size", "due", "retention", "signer_named",
// "outline", "redactions", "completeness", "applies", "signer" and "role" (from the fill file's
// signatory), and "element.<id>" for each element.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/core/date.h"
#include "flopline/core/result.h"
#include "flopline/documents/facts.h"
#include "flopline/documents/fill.h"
#include "flopline/documents/kinds.h"

namespace flopline::documents {

inline constexpr std::string_view kElementPrefix = "element.";

struct BuildInput {
  const DocumentKind& kind;
  const FactSet& facts;
  const Evidence& evidence;
  core::Date as_of;
  const Fill* fill = nullptr;  // nullptr: nothing written yet
  std::uint64_t version = 1;   // the nth document of this kind for this model
};

// Errors: kInvalidArgument (field "signatory") when the kind is filed as a record kind that needs a
// signer and the fill names none.
core::Result<nlohmann::json> BuildDocument(const BuildInput& input);

// The ledger redactions for a document: "element.<id>" -> ground.
std::map<std::string, std::string> LedgerRedactions(const nlohmann::json& document);

// One line per element that is missing or stale (empty when the document is complete).
struct CompletenessItem {
  std::string element, heading, state, why;
};
std::vector<CompletenessItem> Incomplete(const nlohmann::json& document);

struct Header {
  bool filed = false;
  std::uint64_t index = 0;
  std::string leaf_hash;    // base64
  bool public_copy = false;
};

// `fields`: the document's fields (for a public copy, those disclosed); `redacted`: field -> ground,
// as the leaf states them. Never throws: missing or mistyped fields render as absent.
std::string RenderHtml(const nlohmann::json& fields, const std::map<std::string, std::string>& redacted,
                       const Header& header);

}  // namespace flopline::documents
