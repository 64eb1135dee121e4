// File: flopline/ledger/records.h
//
// Evidence records: what kinds there are, the clause each serves, how long each must be kept, and
// how a record becomes a leaf.
//
// A leaf never holds a document or a field value, only salted commitments to them:
//   document commitment = SHA-256("flopline-document\0" || salt || document bytes)
//   field commitment    = SHA-256("flopline-field\0" || salt || json(name) || ":" || json(value))
// with a fresh 32-byte salt each. So a public copy can disclose some fields (value + salt) and
// withhold others, every disclosed one checks against the logged leaf, and the unredacted original
// shown later checks against the very same leaf (§22603(a)(7), (e)(6); §22757.12(f)). The salts are
// the record's "openings", kept privately beside the document.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/instant.h"
#include "flopline/core/result.h"
#include "flopline/ledger/hash.h"

namespace flopline::ledger {

enum class Retention {
  kNone,                  // no statute sets a period: the record may be purged
  kAvailabilityPlusYears, // while the model is available, plus `years`
  kYearsFromRecord,       // `years` from when it was recorded
};

struct RecordKind {
  std::string_view name;
  std::string_view serves;  // the clause the record answers
  std::string_view description;
  Retention retention = Retention::kNone;
  int years = 0;
  std::string_view retention_clause;
  std::vector<std::string_view> required_fields;  // a JSON object with these keys, when non-empty
  bool needs_model = false;
  // Written only by the log itself (a purge, an import): `ledger append` refuses these kinds, so
  // that what verify derives from them (which entries are purged, the inventory) has one source.
  bool internal = false;
};

// The kinds the log writes itself.
inline constexpr std::string_view kPurgeKind = "purge";
inline constexpr std::string_view kInventoryKind = "model-inventory";
inline constexpr std::string_view kModelFileKind = "model-file";

std::span<const RecordKind> RecordKinds();
const RecordKind* FindRecordKind(std::string_view name);

// The grounds on which a published copy may withhold a field: SB 1047 §22603(a)(7)(A)(ii) and
// SB 53 §22757.12(f).
std::span<const std::string_view> RedactionGrounds();

struct RecordInput {
  std::string kind;
  std::string model;      // may be empty when the kind does not need one
  std::string document;   // the file's bytes
  core::Instant recorded_at;
  std::map<std::string, std::string> redactions;  // field (or "*" for the whole document) -> ground
};

struct SealedRecord {
  std::string leaf;          // canonical JSON, the bytes hashed into the log
  Hash content_hash{};       // SHA-256 of the document
  std::string openings;      // JSON {"document": salt, "fields": {name: salt}}, salts in base64
  std::vector<std::string> notices;  // things the filer should know (a late incident report)
};

// Validates the record against its kind and seals it with fresh salts. Refuses the internal kinds.
core::Result<SealedRecord> Seal(const RecordInput& input);
// The same, for the log's own records (purge, model-inventory).
core::Result<SealedRecord> SealInternal(const RecordInput& input);

// What a leaf states in the clear, parsed and type-checked: everything a command may trust about a
// record without its document. Version 1 leaves (before purges were logged) have no `purges`.
struct PurgeTarget {
  std::uint64_t index = 0;
  Hash leaf_hash{};
};
struct LeafInfo {
  int version = 0;
  std::string kind, model;
  core::Instant recorded_at;
  std::optional<PurgeTarget> purges;  // a purge record: the entry it purged
};
core::Result<LeafInfo> ParseLeaf(std::string_view leaf);
// The same record with another recorded_at: the leaf re-serialised canonically. Used when a writer's
// clock is a little behind the log's last entry (see ledger::kClockSkew).
core::Result<std::string> Restamp(std::string_view leaf, core::Instant recorded_at);

// Checks a document and its openings against a leaf: the document commitment, and every field
// commitment (the document must be the JSON object the fields came from).
core::Result<void> CheckOpening(std::string_view leaf, std::string_view document,
                                std::string_view openings);

// What a public copy of one record discloses: the fields not redacted, each with its salt and
// value, and the whole document only when nothing was redacted. JSON object.
core::Result<std::string> PublicDisclosure(std::string_view leaf, std::string_view document,
                                           std::string_view openings);
// Checks a public disclosure against its leaf: every disclosed field opens its commitment.
core::Result<void> CheckDisclosure(std::string_view leaf, std::string_view disclosure);

// When the record's retention ends: nullopt while it cannot be known yet (the model still
// available). `events` are the model's (kind, at) in time order.
struct RetentionEnd {
  std::optional<core::Instant> until;  // nullopt: not before the model is withdrawn
  std::string reason;                  // why, with the clause
};
RetentionEnd RetentionOf(const RecordKind& kind, core::Instant recorded_at,
                         const std::vector<std::pair<std::string, core::Instant>>& model_events);

}  // namespace flopline::ledger
