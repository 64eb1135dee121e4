// File: flopline/documents/kinds.h
//
// Document kinds as data (documents/*.toml, docs/documents.md): for each document a statute requires,
// the clause that requires it, its elements (each with the clause that lists it), the facts that
// fill each element, whether a person must write it, who signs, when it is due (the regime's
// obligations it discharges), and what may be redacted on which grounds.
//
//   regime = "ca-sb1047"
//   [[kind]]
//   id = "sb1047-statement-of-compliance"   record_kind = "statement-of-compliance"   ...
//   [[kind.element]]
//   id = "f2A"   heading = "..."   cite = "§22603(f)(2)(A)"   text = "required"
//   facts = ["record.capability-assessment"]
//
// Errors: kInvalidArgument at file:line:column naming the field (unknown keys, missing or mistyped
// values, a fact outside the vocabulary (FactIds), an unknown ledger record kind or redaction
// ground, a duplicate id). CheckAgainstRegimes checks statuses and obligation ids against the law.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/rules/regime.h"

namespace flopline::documents {

// What a person must write for an element.
enum class TextNeed { kNone, kOptional, kRequired };
// The shape of that text in a fill file: one text (a string) or a list of items (strings).
enum class InputShape { kText, kList };

struct Element {
  std::string id, heading, cite, law;
  bool required = true;                     // false: context, never missing
  TextNeed text = TextNeed::kNone;
  InputShape input = InputShape::kText;
  std::vector<std::string> facts;           // each must be found, else the element is missing
  std::vector<std::string> optional_facts;  // shown when found
  std::vector<std::string> applies_to;      // statuses; empty: every status the kind applies to
  bool redactable = false;
  bool signatory = false;                   // shows the fill file's [signatory]
  core::Location where;
};

struct DocumentKind {
  std::string id, title, required_by, summary, regime, record_kind, due, retention;
  std::vector<std::string> applies_to;      // statuses of `regime` that owe the document
  std::vector<std::string> discharges;      // obligation ids of `regime`
  std::optional<int> fresh_for_days;        // evidence older than this (as of the date) is stale
  std::string signer, signer_cite;          // who signs, per the statute (empty: nobody named)
  std::string redaction_cite;
  std::vector<std::string> redaction_grounds;  // ledger::RedactionGrounds() names
  bool describe_redactions = false;         // each redaction described and justified (SB 53 §22757.12(f))
  std::vector<Element> elements;
  core::Location where;

  const Element* FindElement(std::string_view id) const;
};

// The fact vocabulary an element may name: "model.identity", "model.training", "compute.totals",
// "compute.cumulative_2sf", "determination.status", "determination.obligations",
// "determination.discharged", "drill.latest", "event.<event kind>", "record.<ledger record kind>".
bool IsKnownFact(std::string_view fact);

core::Result<std::vector<DocumentKind>> ParseKinds(std::string_view text, const std::string& file);
// Every *.toml in `dir`, sorted by name; kind ids unique across files. kNotFound when there is none.
core::Result<std::vector<DocumentKind>> LoadKindDir(const std::string& dir);
// Each kind's regime exists; its statuses (applies_to, element applies_to) are the regime's and its
// discharges are obligation ids of the regime.
core::Result<void> CheckAgainstRegimes(const std::vector<DocumentKind>& kinds,
                                       const std::vector<rules::Regime>& regimes);

const DocumentKind* FindKind(const std::vector<DocumentKind>& kinds, std::string_view id);

}  // namespace flopline::documents
