#include "flopline/ledger/records.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace flopline::ledger {
namespace {

using core::Result;
using nlohmann::json;

// Version 2: recorded times never go backwards, and a purge is itself a logged record whose leaf
// names the entry it purged. Version 1 leaves (earlier logs) still verify.
constexpr int kLeafVersion = 2;
constexpr size_t kSaltBytes = 32;

// SB 1047 §22603 and §22607, SB 53 §22757.12 (../shared/law/regimes.md sections 1 and 2).
const std::vector<RecordKind>& Kinds() {
  static const std::vector<RecordKind> kinds = {
      {"ssp", "SB 1047 §22603(a)(3)", "safety and security protocol, unredacted, each version",
       Retention::kAvailabilityPlusYears, 5, "SB 1047 §22603(a)(5)", {}, true},
      {"ssp-published", "SB 1047 §22603(a)(7)(A)", "the redacted protocol as published and sent to the AG",
       Retention::kNone, 0, "", {}, true},
      {"capability-assessment", "SB 1047 §22603(b)(1)",
       "assessment of whether the model can cause or materially enable a critical harm",
       Retention::kAvailabilityPlusYears, 5, "SB 1047 §22603(b)(2)", {}, true},
      {"test-results", "SB 1047 §22603(b)(2)",
       "the specific tests and results, detailed enough for a third party to replicate",
       Retention::kAvailabilityPlusYears, 5, "SB 1047 §22603(b)(2)", {}, true},
      {"audit-report", "SB 1047 §22603(e)(4)", "third-party audit report, unredacted",
       Retention::kAvailabilityPlusYears, 5, "SB 1047 §22603(e)(5)", {}, true},
      {"statement-of-compliance", "SB 1047 §22603(f)(1)",
       "annual statement to the AG, signed by the CTO or a more senior officer", Retention::kNone, 0,
       "", {"signer", "role"}, true},
      {"incident-report", "SB 1047 §22603(g)", "AI safety incident reported to the AG within 72 hours",
       Retention::kNone, 0, "", {"discovered_at", "reported_at"}, true},
      {"shutdown-drill", "SB 1047 §22603(a)(2)", "a drill of the full-shutdown capability",
       Retention::kNone, 0, "", {"scope"}, false},
      {"shutdown-order", "SB 1047 §22603(a)(2)", "a full-shutdown order and its acknowledgements",
       Retention::kNone, 0, "", {"scope", "reason"}, false},
      {"whistleblower-record", "SB 1047 §22607(e)", "a disclosure through the anonymous internal process",
       Retention::kYearsFromRecord, 7, "SB 1047 §22607(e)", {}, false},
      {"frontier-framework", "SB 53 §22757.12(a)", "frontier AI framework, unredacted",
       Retention::kYearsFromRecord, 5, "SB 53 §22757.12(f)", {}, false},
      {"transparency-report", "SB 53 §22757.12(c)", "transparency report, unredacted",
       Retention::kYearsFromRecord, 5, "SB 53 §22757.12(f)", {}, true},
      {"model-file", "SB 1047 §22602(e), (f)", "the model file whose facts `flopline assess` judged",
       Retention::kNone, 0, "", {}, false},
      // Documents `flopline document` files (documents/*.toml) for which no kind above serves.
      {"raise-frontier-framework", "NY GBL §1421(1)", "RAISE frontier AI framework, unredacted",
       Retention::kYearsFromRecord, 5, "NY GBL §1421(5)(b)", {}, true},
      {"critical-incident-report", "SB 53 §22757.13(c); NY GBL §1422(3)",
       "critical safety incident report (to the Office of Emergency Services, or the NY office)",
       Retention::kNone, 0, "", {}, true},
      {"commission-notification", "EU AI Act Art. 52(1)",
       "notification to the Commission that a general-purpose AI model meets the systemic-risk condition",
       Retention::kNone, 0, "", {}, true},
      // Art. 54(3): 10 years after the model is placed on the market; kept while it is available plus
      // 10 years, which is never shorter.
      {"technical-documentation", "EU AI Act Art. 53(1)(a), Annex XI",
       "technical documentation of a general-purpose AI model", Retention::kAvailabilityPlusYears, 10,
       "EU AI Act Art. 54(3)", {}, true},
      // Who signed a filed document, and when (SB 1047 §22603(f)(1): the CTO or a more senior officer
      // signs the statement; §22603(e)(4)(D): the lead auditor signs the audit report).
      {"document-signature", "SB 1047 §22603(f)(1), (e)(4)(D)", "the signature of a filed document",
       Retention::kNone, 0, "", {"document_index", "document_leaf_hash", "signer", "role", "signed_at"}, true},
      // The compute meter's records (src/meter/, docs/meter.md): a line projected to be met (the EU
      // threshold "becomes known that it will be met", Art. 52(1)) or crossed, and the meter's
      // state for a restart. Internal: only the meter writes them, `ledger append` cannot forge them.
      {"threshold-projected", "EU AI Act Art. 52(1); SB 1047 §22603(a)",
       "the compute meter's alert that a run approaches or will meet a compute line", Retention::kNone, 0, "",
       {"run", "regime", "line", "threshold_flop", "flop", "at"}, true, true},
      {"threshold-crossed", "EU AI Act Art. 52(1); SB 1047 §22602(e)",
       "the compute meter's record that a run crossed a compute line", Retention::kNone, 0, "",
       {"run", "regime", "line", "threshold_flop", "flop", "at"}, true, true},
      {"meter-state", "SB 1047 §22602(e) (compute used in training)",
       "the compute meter's counted steps and fired alerts for a run, read back after a restart",
       Retention::kNone, 0, "", {"run", "flop", "steps", "fired"}, true, true},
      // The log's own records. A purge names the entry whose document and salts it deleted, so a
      // purge done by editing rows has no record and fails verify; the inventory record holds the
      // rows `flopline import` derived from its model files, from which verify recomputes the
      // inventory tables. Neither may be purged: verify derives state from them.
      {"purge", "SB 1047 §22603(a)(5), (b)(2), (e)(5), §22607(e); SB 53 §22757.12(f) (retention ended)",
       "the purge of a record's document and salts after its retention period", Retention::kNone, 0,
       "", {"index", "leaf_hash", "reason"}, false, true},
      {"model-inventory", "SB 1047 §22602(e), (f)",
       "the inventory rows (models, lineage, runs, events) `flopline import` derived from model files",
       Retention::kNone, 0, "", {"models", "runs", "events", "files"}, false, true},
      // The workspace's own records (src/workspace/): a user and their role (with argon2id hashes
      // of their password and API token, so the whole document is withheld from public copies),
      // and an action taken through the workspace (who did what, e.g. an auditor's read), so the
      // workspace's history is itself in the log. Internal: `ledger append` cannot forge them.
      {"workspace-user", "SB 1047 §22603(a)(3)(A) (who may act for the developer)",
       "a workspace user, their role and credential hashes", Retention::kNone, 0, "", {"name", "role", "by"},
       false, true},
      {"workspace-action", "SB 1047 §22603(a)(3)(A) (who may act for the developer)",
       "an action taken through the workspace: who, what, on what", Retention::kNone, 0, "",
       {"actor", "action", "target"}, false, true},
  };
  return kinds;
}

constexpr std::string_view kGrounds[] = {"public-safety",      "trade-secret",
                                         "confidential-information", "cybersecurity",
                                         "national-security", "legal-compliance"};

// All of a record's salts from one call to the system's CSPRNG (one syscall, not one per field).
class Salts {
 public:
  explicit Salts(size_t count) : bytes_(count * kSaltBytes, '\0') {
    randombytes_buf(bytes_.data(), bytes_.size());
  }
  std::string_view Next() {
    std::string_view salt = std::string_view(bytes_).substr(used_, kSaltBytes);
    used_ += kSaltBytes;
    return salt;
  }

 private:
  std::string bytes_;
  size_t used_ = 0;
};

Hash DocumentCommitment(std::string_view salt, std::string_view document) {
  std::string input("flopline-document", 17);
  input += '\0';
  input += salt;
  input += document;
  return Sha256(input);
}

Hash FieldCommitment(std::string_view salt, const std::string& name, const json& value) {
  std::string input("flopline-field", 14);
  input += '\0';
  input += salt;
  input += json(name).dump();
  input += ':';
  input += value.dump();
  return Sha256(input);
}

tl::unexpected<core::Error> Invalid(std::string message, std::string field = {}) {
  return core::InvalidArgument(std::move(message), std::move(field));
}
tl::unexpected<core::Error> Mismatch(std::string message) {
  return core::MakeError(core::Code::kDataLoss, std::move(message));
}

// The document as a JSON object, or nullopt when it is not one (a PDF, plain text).
std::optional<json> AsObject(std::string_view document) {
  json doc = json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  return doc;
}

Result<json> ParseJson(std::string_view text, std::string_view what) {
  json out = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded() || !out.is_object()) return Mismatch(fmt::format("{} is not a JSON object", what));
  return out;
}

Result<std::string> Salt(const json& salts, std::string_view what) {
  if (!salts.is_string()) return Mismatch(fmt::format("{} has no salt", what));
  std::optional<std::string> salt = FromBase64(salts.get<std::string>());
  if (!salt || salt->size() != kSaltBytes) return Mismatch(fmt::format("{} has a malformed salt", what));
  return *salt;
}

// Every value read here comes from a store or an export and may be any JSON type: each is
// type-checked before use, since nlohmann::json throws on a mistyped access.
Result<void> CheckField(const json& leaf, const std::string& name, const json& salt_b64,
                        const json& value) {
  auto it = leaf.find("fields");
  if (it == leaf.end() || !it->is_object() || !it->contains(name) || !(*it)[name].is_string()) {
    return Mismatch(fmt::format("field '{}' is not committed in the leaf", name));
  }
  const json& fields = *it;
  FL_ASSIGN_OR_RETURN(std::string salt, Salt(salt_b64, fmt::format("field '{}'", name)));
  if (Hex(FieldCommitment(salt, name, value)) != fields[name]) {
    return Mismatch(fmt::format("field '{}' does not match its commitment", name));
  }
  return core::Ok();
}

// An incident report's 72-hour clock (§22603(g)), checked on filing: a late report is still
// recorded (the record is evidence either way), with a notice.
std::optional<std::string> IncidentLateness(const json& doc) {
  if (!doc["discovered_at"].is_string() || !doc["reported_at"].is_string()) return std::nullopt;
  Result<core::Instant> discovered = core::Instant::Parse(doc["discovered_at"].get<std::string>());
  Result<core::Instant> reported = core::Instant::Parse(doc["reported_at"].get<std::string>());
  if (!discovered || !reported) return std::nullopt;
  auto hours = std::chrono::duration_cast<std::chrono::hours>(reported->time() - discovered->time());
  if (hours.count() <= 72) return std::nullopt;
  return fmt::format("reported {} hours after discovery: later than the 72 hours of SB 1047 §22603(g)",
                     hours.count());
}

}  // namespace

std::span<const RecordKind> RecordKinds() { return Kinds(); }

const RecordKind* FindRecordKind(std::string_view name) {
  for (const RecordKind& k : Kinds()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::span<const std::string_view> RedactionGrounds() { return kGrounds; }

namespace {
Result<SealedRecord> SealRecord(const RecordInput& input, bool internal);
}  // namespace

Result<SealedRecord> Seal(const RecordInput& input) { return SealRecord(input, /*internal=*/false); }
Result<SealedRecord> SealInternal(const RecordInput& input) { return SealRecord(input, /*internal=*/true); }

namespace {

Result<SealedRecord> SealRecord(const RecordInput& input, bool internal) {
  if (sodium_init() < 0) return core::MakeError(core::Code::kInternal, "libsodium failed to start");
  const RecordKind* kind = FindRecordKind(input.kind);
  if (kind == nullptr || (kind->internal && !internal)) {
    std::vector<std::string> names;
    for (const RecordKind& k : Kinds()) {
      if (!k.internal) names.emplace_back(k.name);
    }
    if (kind != nullptr) {
      return Invalid(fmt::format("'{}' records are written by the log itself (`flopline ledger purge`, "
                                 "`flopline import`); kinds: {}",
                                 input.kind, fmt::join(names, ", ")),
                     "kind");
    }
    return Invalid(fmt::format("unknown record kind '{}'; kinds: {}", input.kind,
                               fmt::join(names, ", ")),
                   "kind");
  }
  if (kind->needs_model && input.model.empty()) {
    return Invalid(fmt::format("a {} record must name its model ({} keeps it for the model's life)",
                               kind->name, kind->retention_clause.empty() ? kind->serves : kind->retention_clause),
                   "model");
  }
  std::optional<json> doc = AsObject(input.document);
  if (!kind->required_fields.empty()) {
    if (!doc) return Invalid(fmt::format("a {} record must be a JSON object", kind->name), "file");
    for (std::string_view field : kind->required_fields) {
      if (!doc->contains(field)) {
        return Invalid(fmt::format("a {} record needs '{}' ({})", kind->name, field, kind->serves),
                       std::string(field));
      }
    }
  }
  for (const auto& [field, ground] : input.redactions) {
    if (std::find(std::begin(kGrounds), std::end(kGrounds), ground) == std::end(kGrounds)) {
      return Invalid(fmt::format("'{}' is not a ground for redaction; grounds: {}", ground,
                                 fmt::join(kGrounds, ", ")),
                     "redact");
    }
    if (field != "*" && (!doc || !doc->contains(field))) {
      return Invalid(fmt::format("cannot redact '{}': the document is not a JSON object with that field "
                                 "(redact '*' to withhold a whole document)",
                                 field),
                     "redact");
    }
  }

  SealedRecord out;
  out.content_hash = Sha256(input.document);
  Salts salts(1 + (doc ? doc->size() : 0));
  std::string_view doc_salt = salts.Next();
  json leaf = {{"v", kLeafVersion},
               {"kind", input.kind},
               {"serves", kind->serves},
               {"recorded_at", input.recorded_at.ToString()},
               {"document",
                {{"size", input.document.size()},
                 {"type", doc ? "json" : "bytes"},
                 {"commitment", Hex(DocumentCommitment(doc_salt, input.document))}}}};
  if (!input.model.empty()) leaf["model"] = input.model;
  json openings = {{"document", Base64(doc_salt)}, {"fields", json::object()}};
  if (doc) {
    json fields = json::object();
    for (const auto& [name, value] : doc->items()) {
      std::string_view salt = salts.Next();
      fields[name] = Hex(FieldCommitment(salt, name, value));
      openings["fields"][name] = Base64(salt);
    }
    leaf["fields"] = std::move(fields);
    if (input.kind == "incident-report") {
      if (std::optional<std::string> late = IncidentLateness(*doc)) out.notices.push_back(*late);
    }
  }
  if (!input.redactions.empty()) leaf["redactions"] = input.redactions;
  if (input.kind == kPurgeKind) {
    // The purged entry is named in the clear, so that an auditor holding only the leaves knows
    // which entries may lack a document.
    const json& index = (*doc)["index"];
    const json& hash = (*doc)["leaf_hash"];
    if (!index.is_number_unsigned() || !hash.is_string() || !HashFromHex(hash.get<std::string>())) {
      return Invalid("a purge names an entry index and its leaf hash (hex)", "index");
    }
    leaf["purges"] = {{"index", index}, {"leaf_hash", hash}};
  }
  out.leaf = leaf.dump();
  out.openings = openings.dump();
  return out;
}

}  // namespace

Result<LeafInfo> ParseLeaf(std::string_view leaf_text) {
  json leaf = json::parse(leaf_text, nullptr, /*allow_exceptions=*/false);
  if (leaf.is_discarded() || !leaf.is_object()) return Mismatch("the leaf is not a JSON object");
  LeafInfo out;
  const json& v = leaf["v"];
  if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > kLeafVersion) {
    return Mismatch("the leaf has no known version");
  }
  out.version = v.get<int>();
  if (!leaf["kind"].is_string() || !leaf["recorded_at"].is_string() || !leaf["document"].is_object()) {
    return Mismatch("the leaf lacks its kind, recorded_at or document");
  }
  out.kind = leaf["kind"].get<std::string>();
  Result<core::Instant> at = core::Instant::Parse(leaf["recorded_at"].get<std::string>());
  if (!at || at->ToString() != leaf["recorded_at"].get<std::string>()) {
    return Mismatch("the leaf's recorded_at is not YYYY-MM-DDTHH:MM:SSZ");
  }
  out.recorded_at = *at;
  if (leaf.contains("model")) {
    if (!leaf["model"].is_string() || leaf["model"].get<std::string>().empty()) {
      return Mismatch("the leaf's model is not a name");
    }
    out.model = leaf["model"].get<std::string>();
  }
  if (out.version < 2 && (leaf.contains("purges") || out.kind == kPurgeKind)) {
    // Purges are logged from version 2 on; a version-1 purge leaf would escape the time rules.
    return Mismatch("a version-1 leaf cannot name a purge: purges are logged records from version 2 on");
  }
  if (leaf.contains("purges")) {
    json& p = leaf["purges"];  // not const: a const operator[] on a missing key is undefined
    if (out.kind != kPurgeKind || !p.is_object() || !p["index"].is_number_unsigned() ||
        !p["leaf_hash"].is_string()) {
      return Mismatch("the leaf's purges is not an entry index and leaf hash");
    }
    std::optional<Hash> h = HashFromHex(p["leaf_hash"].get<std::string>());
    if (!h) return Mismatch("the leaf's purged leaf hash is not 64 hex digits");
    out.purges = PurgeTarget{p["index"].get<std::uint64_t>(), *h};
  } else if (out.kind == kPurgeKind) {
    return Mismatch("a purge leaf names no entry");
  }
  return out;
}

Result<std::string> Restamp(std::string_view leaf_text, core::Instant recorded_at) {
  FL_ASSIGN_OR_RETURN(json leaf, ParseJson(leaf_text, "the leaf"));
  leaf["recorded_at"] = recorded_at.ToString();
  return leaf.dump();  // keys sorted, no whitespace: the form Seal writes
}

Result<void> CheckOpening(std::string_view leaf_text, std::string_view document,
                          std::string_view openings_text) {
  FL_ASSIGN_OR_RETURN(json leaf, ParseJson(leaf_text, "the leaf"));
  FL_ASSIGN_OR_RETURN(json openings, ParseJson(openings_text, "the openings"));
  FL_ASSIGN_OR_RETURN(std::string salt, Salt(openings["document"], "the document"));
  const json& committed = leaf["document"];
  if (!committed.is_object() || !committed.contains("commitment") || !committed["commitment"].is_string() ||
      Hex(DocumentCommitment(salt, document)) != committed["commitment"].get<std::string>()) {
    return Mismatch("the document does not match the leaf's commitment");
  }
  if (std::optional<json> doc = AsObject(document); doc && leaf.contains("fields")) {
    if (!leaf["fields"].is_object()) return Mismatch("the leaf's fields is not an object");
    if (!openings["fields"].is_object()) return Mismatch("the openings' fields is not an object");
    const json& salts = openings["fields"];
    for (const auto& [name, value] : doc->items()) {
      if (!salts.contains(name)) return Mismatch(fmt::format("field '{}' has no salt", name));
      FL_RETURN_IF_ERROR(CheckField(leaf, name, salts[name], value));
    }
    if (leaf["fields"].size() != doc->size()) return Mismatch("the leaf commits to fields the document lacks");
  }
  return core::Ok();
}

Result<std::string> PublicDisclosure(std::string_view leaf_text, std::string_view document,
                                     std::string_view openings_text) {
  FL_ASSIGN_OR_RETURN(json leaf, ParseJson(leaf_text, "the leaf"));
  FL_ASSIGN_OR_RETURN(json openings, ParseJson(openings_text, "the openings"));
  json redactions = leaf.value("redactions", json::object());
  if (!redactions.is_object()) return Mismatch("the leaf's redactions is not an object");
  if (!openings["fields"].is_object()) return Mismatch("the openings' fields is not an object");
  json out = {{"fields", json::object()}, {"redacted", redactions}};
  if (redactions.empty()) {
    out["document_salt"] = openings["document"];
  }
  if (redactions.contains("*")) return out.dump();
  if (std::optional<json> doc = AsObject(document); doc && leaf.contains("fields")) {
    for (const auto& [name, value] : doc->items()) {
      if (redactions.contains(name)) continue;
      out["fields"][name] = {{"salt", openings["fields"][name]}, {"value", value}};
    }
  }
  return out.dump();
}

Result<void> CheckDisclosure(std::string_view leaf_text, std::string_view disclosure_text) {
  FL_ASSIGN_OR_RETURN(json leaf, ParseJson(leaf_text, "the leaf"));
  FL_ASSIGN_OR_RETURN(json disclosure, ParseJson(disclosure_text, "the disclosure"));
  if (!disclosure["fields"].is_object()) return Mismatch("the disclosure has no fields object");
  for (const auto& [name, opened] : disclosure["fields"].items()) {
    if (!opened.is_object()) return Mismatch(fmt::format("field '{}' is not an opening", name));
    if (!opened.contains("salt") || !opened.contains("value")) {
      return Mismatch(fmt::format("field '{}' is not an opening", name));
    }
    FL_RETURN_IF_ERROR(CheckField(leaf, name, opened["salt"], opened["value"]));
  }
  return core::Ok();
}

RetentionEnd RetentionOf(const RecordKind& kind, core::Instant recorded_at,
                         const std::vector<std::pair<std::string, core::Instant>>& model_events) {
  switch (kind.retention) {
    case Retention::kNone:
      return {core::Instant(), fmt::format("no statute sets a retention period for {} records", kind.name)};
    case Retention::kYearsFromRecord: {
      core::Instant until = recorded_at.PlusMonths(12 * kind.years);
      return {until, fmt::format("{} years from {} ({})", kind.years, recorded_at.date().ToString(),
                                 kind.retention_clause)};
    }
    case Retention::kAvailabilityPlusYears: {
      // Availability ends at the last withdrawal not followed by a new release.
      std::optional<core::Instant> withdrawn;
      for (const auto& [event, at] : model_events) {
        if (event == "released") withdrawn.reset();
        if (event == "withdrawn") withdrawn = at;
      }
      if (!withdrawn) {
        return {std::nullopt,
                fmt::format("kept while the model is available, plus {} years ({}); no withdrawal "
                            "is recorded for it",
                            kind.years, kind.retention_clause)};
      }
      core::Instant until = withdrawn->PlusMonths(12 * kind.years);
      return {until, fmt::format("withdrawn {}, plus {} years ({})", withdrawn->date().ToString(),
                                 kind.years, kind.retention_clause)};
    }
  }
  return {std::nullopt, "unknown retention rule"};
}

}  // namespace flopline::ledger
