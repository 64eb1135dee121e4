#include "flopline/ledger/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace flopline::ledger {
namespace {

using core::Result;
using nlohmann::json;
namespace fs = std::filesystem;

tl::unexpected<core::Error> Precondition(std::string message) {
  return core::MakeError(core::Code::kFailedPrecondition, std::move(message));
}

// Creates `path` (never over an existing file or through a symlink) with `mode` from the first
// byte, so a full export's salts and redacted fields are never readable by others, even briefly.
Result<void> CreateFile(const fs::path& path, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return core::MakeError(core::Code::kUnavailable, fmt::format("cannot create {}", path.string()));
  // The umask may have narrowed it; it never widens it, but set it exactly.
  bool ok = fchmod(fd, mode) == 0;
  close(fd);
  if (!ok) return core::MakeError(core::Code::kUnavailable, fmt::format("cannot set the mode of {}", path.string()));
  return core::Ok();
}

Result<void> WriteText(const fs::path& path, std::string_view text, mode_t mode) {
  FL_RETURN_IF_ERROR(CreateFile(path, mode));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return core::MakeError(core::Code::kUnavailable, fmt::format("cannot write {}", path.string()));
  return core::Ok();
}

// An export is read from wherever an auditor got it: every file through core::ReadRegularFile,
// bounded (a note or manifest is small; the leaves, openings and documents of a large log are not).
constexpr size_t kMaxSmallExportFile = size_t{64} << 10;
constexpr size_t kMaxLargeExportFile = size_t{1} << 30;

Result<std::string> ReadExportFile(const fs::path& path, size_t max_bytes) {
  core::ReadLimits limits;
  limits.max_bytes = max_bytes;
  return core::ReadRegularFile(path.string(), limits);
}

std::string CheckpointFileName(std::uint64_t size, size_t ordinal) {
  return fmt::format("{:020}-{}.note", size, ordinal);
}

// Records the first failure and keeps the rest quiet: verification reports where it first broke.
void Fail(VerifyReport& report, std::optional<std::uint64_t> index, std::string problem) {
  if (!report.ok) {
    if (index && (!report.first_bad_index || *index < *report.first_bad_index)) {
      report.first_bad_index = index;
      report.problem = std::move(problem);
    }
    return;
  }
  report.ok = false;
  report.first_bad_index = index;
  report.problem = std::move(problem);
}

core::Instant WallClock() {
  return core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

// Checks every signed checkpoint against the recomputed tree. A log never shrinks, so the sizes
// may never decrease from one checkpoint to the next.
void CheckCheckpoints(const std::vector<StoredCheckpoint>& checkpoints, const Verifier& verifier,
                      const std::string& origin, const MemoryTree& tree, VerifyReport& report,
                      bool signing = false) {
  std::uint64_t previous = 0;
  for (const StoredCheckpoint& stored : checkpoints) {
    ++report.checkpoints;
    std::string where = fmt::format("checkpoint at size {}", stored.size);
    Result<std::string> text = verifier.Open(stored.note);
    if (!text) {
      Fail(report, std::nullopt, fmt::format("{}: {}", where, text.error().message));
      continue;
    }
    Result<Checkpoint> cp = Checkpoint::Parse(*text);
    if (!cp || cp->origin != origin || cp->size != stored.size) {
      Fail(report, std::nullopt, fmt::format("{}: its text does not name this log and size", where));
      continue;
    }
    if (cp->size < previous) {
      Fail(report, std::nullopt,
           fmt::format("{}: signed after a checkpoint of {} entries: the log was rolled back", where, previous));
    }
    previous = std::max(previous, cp->size);
    if (cp->size > tree.size()) {
      Fail(report, tree.size(), fmt::format("{}: signed for more entries than the log holds ({})",
                                            where, tree.size()));
      continue;
    }
    Result<Hash> root = RootAt(tree, cp->size);
    if (!root || *root != cp->root) {
      Fail(report, std::nullopt,
           fmt::format("{}: the signed root differs from the recomputed one: an entry below {} was "
                       "rewritten together with its hashes",
                       where, cp->size));
    }
  }
  if (checkpoints.empty()) {
    // A store older than the empty-log checkpoint may still be given its first one.
    if (tree.size() > 0 && !signing) {
      Fail(report, std::nullopt,
           fmt::format("the log holds {} entries and no signed checkpoint: `ledger init` signs one of the empty "
                       "log, so they were deleted (a store older than that: sign one with `ledger checkpoint` and "
                       "compare it with a copy someone else holds)",
                       tree.size()));
    } else {
      report.warnings.push_back("no signed checkpoint yet: run `flopline ledger checkpoint`");
    }
  } else if (previous < tree.size()) {
    report.warnings.push_back(fmt::format("entries from {} on are not yet covered by a signed checkpoint: run "
                                          "`flopline ledger checkpoint`",
                                          previous));
  }
}

// Rollback: the pinned checkpoint (one the verifier saw before, or a witness holds) must be a prefix
// of the current tree, shown by an RFC 9162 consistency proof, whatever the store's own
// checkpoints say.
void CheckSince(const std::string& note, const Verifier& verifier, const std::string& origin,
                const MemoryTree& tree, VerifyReport& report) {
  Result<std::string> text = verifier.Open(note);
  if (!text) {
    Fail(report, std::nullopt, fmt::format("the pinned checkpoint: {}", text.error().message));
    return;
  }
  Result<Checkpoint> cp = Checkpoint::Parse(*text);
  if (!cp || cp->origin != origin) {
    Fail(report, std::nullopt, "the pinned checkpoint does not name this log");
    return;
  }
  if (cp->size > tree.size()) {
    Fail(report, tree.size(),
         fmt::format("rolled back: the pinned checkpoint signed {} entries, the log holds {}", cp->size,
                     tree.size()));
    return;
  }
  Result<Hash> new_root = tree.Root();
  bool consistent = false;
  if (cp->size == 0) {
    consistent = cp->root == Sha256("");
  } else if (new_root) {
    Result<std::vector<Hash>> proof = ConsistencyProof(tree, cp->size, tree.size());
    consistent = proof && VerifyConsistency(cp->size, tree.size(), cp->root, *new_root, *proof);
  }
  if (!consistent) {
    Fail(report, std::nullopt,
         fmt::format("the log is not an extension of the pinned checkpoint of {} entries: it was rewritten or "
                     "rolled back and regrown",
                     cp->size));
  }
}

}  // namespace

// What verification derives from the leaves in log order: which entries are purged (and by which
// record), the inventory the logged imports wrote, and the last recorded time.
struct LogAudit {
  core::Instant now;
  std::vector<Hash> leaf_hashes;  // recomputed from the leaves
  std::vector<LeafInfo> leaves;   // version 0 where the leaf did not parse
  std::map<std::uint64_t, std::pair<std::uint64_t, core::Instant>> purged;  // entry -> (purge entry, when)
  InventoryReplay inventory;
  bool inventory_complete = true;        // every model-inventory document was opened
  std::set<std::string> model_files;     // SHA-256 (hex) of the model-file documents opened so far
  std::optional<core::Instant> last_time;
  int max_version = 0;                           // leaf versions never decrease along the log
  std::optional<core::Instant> initialised_at;   // no record may claim an earlier time
  // Each inventory event by (model, kind, at) -> the time of the first verified record that logged
  // it. A withdrawal counts from the later of its claimed date and that time: an import cannot
  // start a retention clock before the log knew of the event.
  std::map<std::tuple<std::string, std::string, std::string>, core::Instant> event_logged_at;

  std::vector<std::pair<std::string, core::Instant>> Events(const std::string& model) const {
    std::vector<std::pair<std::string, core::Instant>> out = inventory.Events(model);
    for (auto& [kind, at] : out) {
      auto it = event_logged_at.find({model, kind, at.ToString()});
      if (it != event_logged_at.end() && at < it->second) at = it->second;
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    return out;
  }
};

namespace {

// Appends sealed records in one durable transaction, with the purge or the imports they log.
// Recorded times are checked here, the last entry's under the log's lock.
Result<std::vector<Appended>> AppendBatch(Storage& storage, const std::vector<RecordInput>& inputs,
                                          const std::vector<SealedRecord>& sealed,
                                          std::optional<std::uint64_t> purge_target,
                                          const std::vector<InventoryRows>& imports,
                                          std::optional<std::uint64_t> expected_size = std::nullopt) {
  FL_ASSIGN_OR_RETURN(std::optional<std::string> origin, storage.GetMeta(kMetaOrigin));
  if (!origin) return Precondition("the log is not initialised: run `flopline ledger init` first");
  core::Instant now = WallClock();
  // A log that predates kMetaInitialisedAt has no recorded start: its first record may not be
  // older than the skew either.
  FL_ASSIGN_OR_RETURN(std::optional<std::string> init_text, storage.GetMeta(kMetaInitialisedAt));
  core::Instant initialised = now;
  if (init_text) {
    Result<core::Instant> parsed = core::Instant::Parse(*init_text);
    if (!parsed) return core::MakeError(core::Code::kDataLoss, "the stored initialised_at is not a time");
    initialised = *parsed;
  }
  for (const RecordInput& r : inputs) {
    if (r.recorded_at > now + kClockSkew) {
      return core::InvalidArgument(fmt::format("{} lies in the future (the clock says {}; at most {} s ahead is "
                                               "accepted)",
                                               r.recorded_at.ToString(), now.ToString(), kClockSkew.count()),
                                   "recorded-at");
    }
  }
  std::vector<Appended> out;
  FL_RETURN_IF_ERROR(storage.Append(
      [&](std::uint64_t size, const NodeReader& nodes, std::string_view last_leaf) -> Result<Batch> {
        out.clear();  // a retried transaction starts again
        if (expected_size && size != *expected_size) {
          return core::MakeError(core::Code::kAborted,
                                 fmt::format("the log holds {} entries, not the {} the change was checked against",
                                             size, *expected_size));
        }
        std::optional<core::Instant> last;
        if (!last_leaf.empty()) {
          if (Result<LeafInfo> info = ParseLeaf(last_leaf)) last = info->recorded_at;
        } else if (size == 0 && !inputs.empty() && inputs[0].recorded_at + kClockSkew < initialised) {
          // The first record has no earlier entry to be checked against: the log's start bounds it.
          return core::InvalidArgument(
              fmt::format("{} is before the log was initialised ({}): a record cannot be back-dated",
                          inputs[0].recorded_at.ToString(), initialised.ToString()),
              "recorded-at");
        }
        FL_ASSIGN_OR_RETURN(Frontier frontier, Frontier::Load(nodes, size));
        Batch batch;
        for (size_t i = 0; i < sealed.size(); ++i) {
          Entry e;
          e.index = frontier.size();
          e.leaf = sealed[i].leaf;
          core::Instant at = inputs[i].recorded_at;
          std::vector<std::string> notices = sealed[i].notices;
          if (last && at < *last) {
            // A writer whose clock is a little behind (or who sealed just before another writer
            // committed) is stamped with the last entry's time; anything older is a back-dating.
            if (last->time() - at.time() > kClockSkew) {
              return core::InvalidArgument(
                  fmt::format("{} is before the log's last entry ({}): recorded times never go backwards",
                              at.ToString(), last->ToString()),
                  "recorded-at");
            }
            FL_ASSIGN_OR_RETURN(e.leaf, Restamp(e.leaf, *last));
            notices.push_back(fmt::format("recorded at {}, the log's last entry's time, not {}", last->ToString(),
                                          at.ToString()));
            at = *last;
          }
          last = at;
          e.leaf_hash = LeafHash(e.leaf);
          e.kind = inputs[i].kind;
          e.model = inputs[i].model;
          e.recorded_at = at.ToString();
          e.content_hash = sealed[i].content_hash;
          e.openings = sealed[i].openings;
          frontier.Append(e.leaf_hash, [&](NodeId id, const Hash& h) {
            if (id.level > 0) batch.nodes.emplace_back(id, h);
          });
          out.push_back({e.index, e.leaf_hash, std::move(notices)});
          if (purge_target) batch.purges.emplace_back(*purge_target, e.recorded_at);
          batch.documents.emplace_back(e.index, inputs[i].document);
          batch.entries.push_back(std::move(e));
        }
        batch.imports = imports;
        return batch;
      }));
  return out;
}

const char* kKindRetentionNote = "verify derives state from it, so it is kept as long as the log";

// The checks a leaf allows on its own, in log order.
void AuditLeaf(LogAudit& audit, std::uint64_t index, std::string_view leaf, const Hash& leaf_hash,
               VerifyReport& report) {
  audit.leaf_hashes.push_back(leaf_hash);
  Result<LeafInfo> parsed = ParseLeaf(leaf);
  if (!parsed) {
    Fail(report, index, fmt::format("entry {}: {}", index, parsed.error().message));
    audit.leaves.emplace_back();
    return;
  }
  const LeafInfo& info = *parsed;
  if (info.version < audit.max_version) {
    // A version-1 leaf escapes the time rules and may not name a purge; once the log writes
    // version 2 an older-format leaf can only be forged.
    Fail(report, index, fmt::format("entry {}: a version-{} leaf after a version-{} one: leaf versions never "
                                    "decrease along the log",
                                    index, info.version, audit.max_version));
  }
  audit.max_version = std::max(audit.max_version, info.version);
  if (audit.initialised_at && info.recorded_at + kClockSkew < *audit.initialised_at) {
    Fail(report, index, fmt::format("entry {}: recorded at {}, before the log was initialised ({})", index,
                                    info.recorded_at.ToString(), audit.initialised_at->ToString()));
  }
  if (audit.max_version >= 2) {
    if (audit.last_time && info.recorded_at < *audit.last_time) {
      Fail(report, index,
           fmt::format("entry {}: recorded at {}, before an earlier entry's {}: recorded times never go backwards",
                       index, info.recorded_at.ToString(), audit.last_time->ToString()));
    }
    if (info.recorded_at > audit.now + kClockSkew) {
      Fail(report, index, fmt::format("entry {}: recorded at {}, in the future (the clock says {})", index,
                                      info.recorded_at.ToString(), audit.now.ToString()));
    }
    if (!audit.last_time || *audit.last_time < info.recorded_at) audit.last_time = info.recorded_at;
  }
  if (info.purges) {
    std::uint64_t target = info.purges->index;
    const RecordKind* kind = target < index ? FindRecordKind(audit.leaves[target].kind) : nullptr;
    if (target >= index || audit.leaf_hashes[target] != info.purges->leaf_hash) {
      Fail(report, index, fmt::format("entry {}: its purge names entry {}, which the log does not hold before it",
                                      index, target));
    } else if (audit.purged.contains(target)) {
      Fail(report, index, fmt::format("entry {}: entry {} was already purged by entry {}", index, target,
                                      audit.purged[target].first));
    } else if (kind == nullptr || kind->internal) {
      Fail(report, index, fmt::format("entry {}: purges entry {}, a record that may not be purged", index, target));
    } else {
      const LeafInfo& purged = audit.leaves[target];
      RetentionEnd end = RetentionOf(*kind, purged.recorded_at, audit.Events(purged.model));
      if (!end.until || info.recorded_at < *end.until) {
        std::string problem = fmt::format("entry {}: purged entry {} ({}) at {}, before its retention ended: {}",
                                          index, target, purged.kind, info.recorded_at.ToString(), end.reason);
        if (audit.inventory_complete || kind->retention != Retention::kAvailabilityPlusYears) {
          Fail(report, index, std::move(problem));
        } else {
          report.warnings.push_back(problem + " (the inventory is not fully disclosed here: not checked)");
        }
      }
      audit.purged[target] = {index, info.recorded_at};
    }
  }
  audit.leaves.push_back(info);
}

// The checks an opened document allows: a model-file's hash, an import's rows.
void AuditDocument(LogAudit& audit, std::uint64_t index, std::string_view document, VerifyReport& report) {
  const LeafInfo& info = audit.leaves[index];
  if (info.kind == kModelFileKind) audit.model_files.insert(Hex(Sha256(document)));
  if (info.kind != kInventoryKind) return;
  Result<InventoryDocument> doc = InventoryFromJson(document);
  if (!doc) {
    Fail(report, index, fmt::format("entry {}: {}", index, doc.error().message));
    return;
  }
  for (const InventoryRows::Event& event : doc->rows.events) {
    Result<core::Instant> at = core::Instant::Parse(event.at);
    if (!at) continue;  // InventoryFromJson checked the form
    if (info.recorded_at + kClockSkew < *at) {
      Fail(report, index, fmt::format("entry {}: its inventory dates a '{}' event of {} at {}, after the record "
                                      "itself ({}): an import records what has happened",
                                      index, event.kind, event.model, event.at, info.recorded_at.ToString()));
    }
    audit.event_logged_at.try_emplace({event.model, event.kind, at->ToString()}, info.recorded_at);
  }
  for (const std::string& file : doc->file_sha256) {
    if (!audit.model_files.contains(file)) {
      Fail(report, index, fmt::format("entry {}: its inventory comes from a model file ({}) the log does not hold "
                                      "before it",
                                      index, file.substr(0, 12)));
    }
  }
  audit.inventory.Apply(doc->rows);
}

// A stored column that is a copy of a leaf field must equal it: commands read the columns.
void CheckColumns(const Entry& e, const LeafInfo& info, VerifyReport& report) {
  if (info.version == 0) return;  // already reported
  for (auto [column, stored, logged] : {std::tuple{"kind", e.kind, info.kind}, {"model", e.model, info.model},
                                        {"recorded_at", e.recorded_at, info.recorded_at.ToString()}}) {
    if (stored != logged) {
      Fail(report, e.index, fmt::format("entry {}: the stored {} column says '{}' but the logged leaf says '{}'",
                                        e.index, column, stored, logged));
    }
  }
}

}  // namespace

Result<void> Log::Init(Storage& storage, const std::string& origin, const Signer& signer,
                       std::optional<core::Instant> at) {
  if (origin.empty() || origin.find('\n') != std::string::npos) {
    return core::InvalidArgument("an origin is one non-empty line, e.g. example.com/flopline", "origin");
  }
  FL_RETURN_IF_ERROR(storage.InitMeta(kMetaOrigin, origin));
  FL_RETURN_IF_ERROR(storage.InitMeta(kMetaVerifierKey, signer.VerifierKey()));
  // A checkpoint of the empty log: from now on a log without checkpoints has lost them.
  FL_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> checkpoints, storage.Checkpoints());
  FL_ASSIGN_OR_RETURN(std::uint64_t size, storage.Size());
  FL_ASSIGN_OR_RETURN(std::optional<std::string> initialised, storage.GetMeta(kMetaInitialisedAt));
  if (!initialised && size == 0) {
    // Only an empty log gets a start time: an older log's records would predate it.
    FL_RETURN_IF_ERROR(storage.InitMeta(kMetaInitialisedAt, at.value_or(WallClock()).ToString()));
  }
  if (checkpoints.empty() && size == 0) {
    Log log(storage);
    FL_RETURN_IF_ERROR(log.Checkpoint(signer));
  }
  return core::Ok();
}

Result<std::string> Log::Origin() {
  FL_ASSIGN_OR_RETURN(std::optional<std::string> origin, storage_.GetMeta(kMetaOrigin));
  if (!origin) return Precondition("the log is not initialised: run `flopline ledger init` first");
  return *origin;
}

Result<void> Log::PinKey(const std::string& verifier_key) {
  std::string key(verifier_key);
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  Result<Verifier> parsed = Verifier::Parse(key);
  if (!parsed) return core::InvalidArgument(fmt::format("not a verifier key: {}", parsed.error().message), "key");
  pinned_key_ = std::move(key);
  return core::Ok();
}

Result<Verifier> Log::LogVerifier() {
  if (pinned_key_) return Verifier::Parse(*pinned_key_);
  FL_ASSIGN_OR_RETURN(std::optional<std::string> key, storage_.GetMeta(kMetaVerifierKey));
  if (!key) return Precondition("the log is not initialised: run `flopline ledger init` first");
  return Verifier::Parse(*key);
}

Result<std::vector<Appended>> Log::Append(const std::vector<RecordInput>& records) {
  std::vector<SealedRecord> sealed;
  sealed.reserve(records.size());
  for (const RecordInput& r : records) {
    FL_ASSIGN_OR_RETURN(SealedRecord s, Seal(r));
    sealed.push_back(std::move(s));
  }
  return AppendSealed(records, sealed);
}

Result<std::vector<Appended>> Log::AppendSealed(const std::vector<RecordInput>& inputs,
                                                const std::vector<SealedRecord>& sealed) {
  return AppendBatch(storage_, inputs, sealed, std::nullopt, {});
}

Result<std::vector<Appended>> Log::Import(const ImportInput& input) {
  std::vector<RecordInput> records;
  std::vector<SealedRecord> sealed;
  InventoryDocument doc{input.rows, {}};
  for (const InventoryRows::Event& event : input.rows.events) {
    // Verify refuses it too: an event dated after its record would be a claim about the future.
    Result<core::Instant> at = core::Instant::Parse(event.at);
    if (at && input.recorded_at + kClockSkew < *at) {
      return core::InvalidArgument(fmt::format("the '{}' event of {} is dated {}, after the import ({}): an import "
                                               "records what has happened",
                                               event.kind, event.model, event.at, input.recorded_at.ToString()),
                                   "events");
    }
  }
  for (const std::string& file : input.files) {
    records.push_back({std::string(kModelFileKind), "", file, input.recorded_at, {}});
    FL_ASSIGN_OR_RETURN(SealedRecord s, Seal(records.back()));
    doc.file_sha256.push_back(Hex(s.content_hash));
    sealed.push_back(std::move(s));
  }
  records.push_back({std::string(kInventoryKind), "", InventoryToJson(doc), input.recorded_at, {}});
  FL_ASSIGN_OR_RETURN(SealedRecord s, SealInternal(records.back()));
  sealed.push_back(std::move(s));
  return AppendBatch(storage_, records, sealed, std::nullopt, {input.rows}, input.expected_size);
}

Result<std::string> Log::Checkpoint(const Signer& signer) {
  FL_ASSIGN_OR_RETURN(std::string origin, Origin());
  // The same verifier key means the same Ed25519 key: the note will open under the stored key.
  FL_ASSIGN_OR_RETURN(std::optional<std::string> key, storage_.GetMeta(kMetaVerifierKey));
  if (!key || signer.VerifierKey() != *key) {
    return Precondition("this key is not the log's key (compare `flopline ledger key`)");
  }
  FL_ASSIGN_OR_RETURN(std::uint64_t size, Size());
  FL_ASSIGN_OR_RETURN(Hash root, RootAt(storage_, size));
  // C2SP: a log must never sign a checkpoint inconsistent with one it signed before. The store's
  // latest checkpoint must still be a prefix of the tree (a truncated or rewritten store is not
  // signed over, which would launder it).
  FL_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> previous, storage_.Checkpoints());
  if (!previous.empty()) {
    FL_ASSIGN_OR_RETURN(Verifier verifier, Verifier::Parse(*key));
    Result<std::string> text = verifier.Open(previous.back().note);
    Result<ledger::Checkpoint> last = text ? ledger::Checkpoint::Parse(*text) : tl::unexpected(text.error());
    Result<Hash> then = last && last->size <= size ? RootAt(storage_, last->size) : Result<Hash>(Hash{});
    if (!last || last->size > size || !then || *then != last->root) {
      return core::MakeError(core::Code::kDataLoss,
                             fmt::format("refused: the log no longer extends its last signed checkpoint{}; run "
                                         "`flopline ledger verify`",
                                         last ? fmt::format(" (of {} entries)", last->size) : std::string()));
    }
  }
  // A signature vouches for every entry below it: what was appended since the last checkpoint
  // (perhaps raw, past Append's checks) is verified, with the rest of the log, under this key.
  {
    FL_ASSIGN_OR_RETURN(Verifier verifier, Verifier::Parse(*key));
    LogAudit audit;
    FL_ASSIGN_OR_RETURN(VerifyReport report, VerifyInto(VerifyOptions{}, audit, verifier, /*signing=*/true));
    if (!report.ok) {
      return core::MakeError(core::Code::kDataLoss,
                             fmt::format("refused: the log does not verify{}: {}; nothing was signed",
                                         report.first_bad_index
                                             ? fmt::format(" at index {}", *report.first_bad_index)
                                             : std::string(),
                                         report.problem));
    }
  }
  ledger::Checkpoint cp{origin, size, root};
  FL_ASSIGN_OR_RETURN(std::string note, signer.Sign(cp.Text()));
  FL_RETURN_IF_ERROR(storage_.AddCheckpoint({size, note}));
  return note;
}

Result<std::uint64_t> Log::Size() { return storage_.Size(); }

Result<InclusionResult> Log::Prove(std::uint64_t index, std::optional<std::uint64_t> tree_size) {
  FL_ASSIGN_OR_RETURN(std::uint64_t size, storage_.Size());
  std::uint64_t n = tree_size.value_or(size);
  if (n > size) {
    return core::InvalidArgument(fmt::format("the log holds {} entries, not {}", size, n), "tree-size");
  }
  if (index >= n) {
    return core::InvalidArgument(fmt::format("index {} is not below the tree size {}", index, n), "index");
  }
  InclusionResult r;
  r.index = index;
  r.tree_size = n;
  FL_ASSIGN_OR_RETURN(Entry e, storage_.GetEntry(index));
  r.leaf = e.leaf;
  FL_ASSIGN_OR_RETURN(r.hashes, InclusionProof(storage_, index, n));
  FL_ASSIGN_OR_RETURN(r.root, RootAt(storage_, n));
  return r;
}

Result<ConsistencyResult> Log::Consistency(std::uint64_t from, std::uint64_t to) {
  FL_ASSIGN_OR_RETURN(std::uint64_t size, storage_.Size());
  if (to > size) return core::InvalidArgument(fmt::format("the log holds {} entries, not {}", size, to), "to");
  if (from == 0 || from > to) {
    return core::InvalidArgument(fmt::format("need 0 < from <= to, got {} and {}", from, to), "from");
  }
  ConsistencyResult r{from, to, {}, {}, {}};
  FL_ASSIGN_OR_RETURN(r.hashes, ConsistencyProof(storage_, from, to));
  FL_ASSIGN_OR_RETURN(r.old_root, RootAt(storage_, from));
  FL_ASSIGN_OR_RETURN(r.new_root, RootAt(storage_, to));
  return r;
}

Result<VerifyReport> Log::Verify() { return Verify(VerifyOptions{}); }

Result<VerifyReport> Log::Verify(const VerifyOptions& options) {
  LogAudit audit;
  FL_ASSIGN_OR_RETURN(Verifier verifier, LogVerifier());
  FL_ASSIGN_OR_RETURN(VerifyReport report, VerifyInto(options, audit, verifier, /*signing=*/false));
  if (!pinned_key_) {
    report.warnings.push_back("the verifier key came from the store itself: whoever can rewrite the store can "
                              "replace it and re-sign the checkpoints; pin it with --key (or keep the signing "
                              "key beside a SQLite store)");
  } else {
    FL_ASSIGN_OR_RETURN(std::optional<std::string> stored, storage_.GetMeta(kMetaVerifierKey));
    if (!stored || *stored != *pinned_key_) {
      // Named first: every checkpoint failing to open is its consequence.
      std::string problem = "the store's verifier key is not the pinned key: it was replaced";
      report.problem = report.ok ? problem : problem + "; " + report.problem;
      report.ok = false;
    }
  }
  return report;
}

Result<VerifyReport> Log::VerifyInto(const VerifyOptions& options, LogAudit& audit, const Verifier& verifier,
                                     bool signing) {
  FL_ASSIGN_OR_RETURN(std::string origin, Origin());
  audit.now = options.now.value_or(WallClock());
  FL_ASSIGN_OR_RETURN(std::optional<std::string> initialised, storage_.GetMeta(kMetaInitialisedAt));
  if (initialised) {
    Result<core::Instant> at = core::Instant::Parse(*initialised);
    if (!at) return core::MakeError(core::Code::kDataLoss, "the stored initialised_at is not a time");
    audit.initialised_at = *at;
  }
  VerifyReport report;
  FL_ASSIGN_OR_RETURN(report.size, storage_.Size());
  MemoryTree tree;
  std::uint64_t expected = 0;
  std::vector<std::pair<std::uint64_t, std::string>> marked_purged;  // index, purged_at column
  Result<void> scanned = storage_.ForEachEntry(0, report.size, [&](const Entry& e) -> Result<void> {
    if (e.index != expected) {
      Fail(report, expected, fmt::format("entry {} is missing", expected));
      // The audit is positional: without the missing leaves nothing after them can be judged.
      return core::MakeError(core::Code::kAborted, "missing entries");
    }
    ++expected;
    Hash computed = LeafHash(e.leaf);
    if (computed != e.leaf_hash) {
      Fail(report, e.index, fmt::format("entry {}: the leaf does not hash to its stored leaf hash", e.index));
    }
    tree.Append(computed);
    AuditLeaf(audit, e.index, e.leaf, computed, report);
    CheckColumns(e, audit.leaves.back(), report);
    if (e.purged_at) {
      marked_purged.emplace_back(e.index, *e.purged_at);
      if (audit.leaves.back().kind == kInventoryKind) audit.inventory_complete = false;
      return core::Ok();
    }
    Result<std::optional<std::string>> doc = storage_.GetDocument(e.index);
    if (!doc) return tl::unexpected(doc.error());
    if (!doc->has_value()) {
      Fail(report, e.index, fmt::format("entry {}: its document is missing", e.index));
    } else if (Sha256(**doc) != e.content_hash) {
      Fail(report, e.index, fmt::format("entry {}: its document does not hash to its content hash", e.index));
    } else if (Result<void> opened = CheckOpening(e.leaf, **doc, e.openings); !opened) {
      Fail(report, e.index, fmt::format("entry {}: {}", e.index, opened.error().message));
    } else {
      ++report.documents;
      AuditDocument(audit, e.index, **doc, report);
      return core::Ok();
    }
    if (audit.leaves.back().kind == kInventoryKind) audit.inventory_complete = false;
    return core::Ok();
  });
  if (!scanned && !(scanned.error().code == core::Code::kAborted && !report.ok)) return tl::unexpected(scanned.error());
  if (expected != report.size) {
    Fail(report, expected, fmt::format("entries from {} are missing", expected));
    return report;
  }
  // A purge is a logged record: a document and salts deleted without one were deleted by hand.
  std::set<std::uint64_t> marked;
  for (const auto& [index, at] : marked_purged) {
    marked.insert(index);
    auto it = audit.purged.find(index);
    if (it == audit.purged.end()) {
      Fail(report, index, fmt::format("entry {}: its document and salts were deleted (purged_at {}) but no purge "
                                      "of it is logged",
                                      index, at));
    } else if (it->second.second.ToString() != at) {
      Fail(report, index, fmt::format("entry {}: the stored purged_at column says {} but its purge (entry {}) was "
                                      "recorded at {}",
                                      index, at, it->second.first, it->second.second.ToString()));
    }
  }
  for (const auto& [index, by] : audit.purged) {
    if (!marked.contains(index)) {
      Fail(report, index, fmt::format("entry {}: its purge is logged (entry {}) but the store does not mark it "
                                      "purged",
                                      index, by.first));
    }
  }
  // Stored nodes are checked against the tree recomputed from the leaves. A failure there is
  // reported only when no entry failed: an altered entry also breaks every node above it, and the
  // entry is the more exact answer.
  VerifyReport nodes;
  FL_RETURN_IF_ERROR(storage_.ForEachNode([&](NodeId id, const Hash& stored) -> Result<void> {
    std::uint64_t first = id.index << id.level;
    Result<Hash> computed = tree.Node(id);
    if (!computed) {
      Fail(nodes, first, fmt::format("a node at level {} index {} covers entries the log lacks", id.level, id.index));
    } else if (*computed != stored) {
      Fail(nodes, first,
           fmt::format("the stored hash of entries {}..{} (level {} node {}) differs from the recomputed one",
                       first, first + (std::uint64_t{1} << id.level) - 1, id.level, id.index));
    }
    return core::Ok();
  }));
  if (report.ok && !nodes.ok) {
    report.ok = false;
    report.first_bad_index = nodes.first_bad_index;
    report.problem = nodes.problem;
  }
  // The inventory tables are derived state: they must be what the logged imports wrote.
  FL_ASSIGN_OR_RETURN(InventoryRows stored, storage_.Inventory());
  if (std::optional<std::string> diff = InventoryDifference(audit.inventory.Tables(), stored)) {
    if (audit.inventory_complete) {
      Fail(report, std::nullopt, "inventory: " + *diff);
    }
  }
  FL_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> checkpoints, storage_.Checkpoints());
  CheckCheckpoints(checkpoints, verifier, origin, tree, report, signing);
  if (options.since) CheckSince(*options.since, verifier, origin, tree, report);
  return report;
}

Result<void> Log::VerifyInventory() {
  FL_ASSIGN_OR_RETURN(std::uint64_t size, storage_.Size());
  InventoryReplay replay;
  FL_RETURN_IF_ERROR(storage_.ForEachEntry(0, size, [&](const Entry& e) -> Result<void> {
    // Only what the leaf says counts: the kind column is not trusted.
    if (e.leaf.find(kInventoryKind) == std::string::npos) return core::Ok();
    Result<LeafInfo> info = ParseLeaf(e.leaf);
    if (!info || info->kind != kInventoryKind) return core::Ok();
    if (LeafHash(e.leaf) != e.leaf_hash) {
      return core::MakeError(core::Code::kDataLoss, fmt::format("entry {}: the leaf does not hash to its stored "
                                                                "leaf hash",
                                                                e.index));
    }
    FL_ASSIGN_OR_RETURN(std::optional<std::string> doc, storage_.GetDocument(e.index));
    if (!doc) return core::MakeError(core::Code::kDataLoss, fmt::format("entry {}: its document is missing", e.index));
    if (Result<void> opened = CheckOpening(e.leaf, *doc, e.openings); !opened) {
      return core::MakeError(core::Code::kDataLoss, fmt::format("entry {}: {}", e.index, opened.error().message));
    }
    FL_ASSIGN_OR_RETURN(InventoryDocument rows, InventoryFromJson(*doc));
    replay.Apply(rows.rows);
    return core::Ok();
  }));
  FL_ASSIGN_OR_RETURN(InventoryRows stored, storage_.Inventory());
  if (std::optional<std::string> diff = InventoryDifference(replay.Tables(), stored)) {
    return core::MakeError(core::Code::kDataLoss, "inventory: " + *diff);
  }
  return core::Ok();
}

Result<ProducedRecord> Log::Produce(std::uint64_t index) {
  FL_ASSIGN_OR_RETURN(Verifier verifier, LogVerifier());
  FL_ASSIGN_OR_RETURN(std::string origin, Origin());
  ProducedRecord out;
  out.key_pinned = pinned_key_.has_value();
  FL_ASSIGN_OR_RETURN(out.entry, storage_.GetEntry(index));
  const Entry& e = out.entry;
  auto data_loss = [&](std::string problem) {
    return core::MakeError(core::Code::kDataLoss, fmt::format("entry {}: {}", index, problem));
  };
  if (LeafHash(e.leaf) != e.leaf_hash) return data_loss("the leaf does not hash to its stored leaf hash");
  Result<LeafInfo> info = ParseLeaf(e.leaf);
  if (!info) return data_loss(info.error().message);
  out.leaf = *info;
  VerifyReport columns;
  CheckColumns(e, out.leaf, columns);
  if (!columns.ok) return tl::unexpected(core::Error{core::Code::kDataLoss, columns.problem, {}, {}});
  if (pinned_key_) {
    FL_ASSIGN_OR_RETURN(std::optional<std::string> stored, storage_.GetMeta(kMetaVerifierKey));
    if (!stored || *stored != *pinned_key_) return data_loss("the store's verifier key is not the pinned key");
  }
  // The leaf as signed: included in the largest checkpoint that covers it. A checkpoint that does
  // not open under the key was not signed by the log: a forgery, never skipped.
  FL_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> checkpoints, storage_.Checkpoints());
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    if (it->size <= index || (out.checkpoint && *out.checkpoint >= it->size)) continue;
    Result<std::string> text = verifier.Open(it->note);
    Result<ledger::Checkpoint> cp = text ? ledger::Checkpoint::Parse(*text) : tl::unexpected(text.error());
    if (!cp || cp->origin != origin || cp->size != it->size) {
      return data_loss(fmt::format("the stored checkpoint of {} entries is not one this log's key signed", it->size));
    }
    Result<std::vector<Hash>> proof = InclusionProof(storage_, index, cp->size);
    if (!proof || !VerifyInclusion(e.leaf_hash, index, cp->size, *proof, cp->root)) {
      return data_loss(fmt::format("the leaf is not the one the signed checkpoint of {} entries includes", cp->size));
    }
    out.checkpoint = cp->size;
  }
  if (e.purged_at) {
    // A purge is believed only when a later leaf logs it.
    bool logged = false;
    FL_ASSIGN_OR_RETURN(std::uint64_t size, storage_.Size());
    FL_RETURN_IF_ERROR(storage_.ForEachEntry(index + 1, size, [&](const Entry& later) -> Result<void> {
      if (logged || later.leaf.find("\"purges\"") == std::string::npos) return core::Ok();
      Result<LeafInfo> p = ParseLeaf(later.leaf);
      if (p && p->purges && p->purges->index == index && p->purges->leaf_hash == e.leaf_hash &&
          LeafHash(later.leaf) == later.leaf_hash) {
        logged = true;
      }
      return core::Ok();
    }));
    if (!logged) return data_loss("it is marked purged but no purge of it is logged");
    return out;
  }
  FL_ASSIGN_OR_RETURN(std::optional<std::string> doc, storage_.GetDocument(e.index));
  if (!doc || Sha256(*doc) != e.content_hash) return data_loss("the document is missing or altered");
  if (Result<void> opened = CheckOpening(e.leaf, *doc, e.openings); !opened) return data_loss(opened.error().message);
  out.document = std::move(*doc);
  return out;
}

Result<void> Log::Purge(std::uint64_t index, core::Instant now) {
  if (!pinned_key_) {
    // Under the store's own key a rewritten log (forged imports, re-signed checkpoints) would
    // decide what is deleted for ever.
    return Precondition("refused: a purge needs the log's verifier key obtained outside the store (--key, or the "
                        "signing key beside a SQLite store): retention is judged from verified records only");
  }
  LogAudit audit;
  FL_ASSIGN_OR_RETURN(Verifier verifier, LogVerifier());
  FL_ASSIGN_OR_RETURN(VerifyReport report, VerifyInto(VerifyOptions{}, audit, verifier, /*signing=*/false));
  FL_ASSIGN_OR_RETURN(std::optional<std::string> stored_key, storage_.GetMeta(kMetaVerifierKey));
  if (report.ok && (!stored_key || *stored_key != *pinned_key_)) {
    Fail(report, std::nullopt, "the store's verifier key is not the pinned key: it was replaced");
  }
  if (!report.ok) {
    return Precondition(fmt::format("refused: the log does not verify{}: {}; retention is judged from verified "
                                    "records only",
                                    report.first_bad_index ? fmt::format(" at index {}", *report.first_bad_index)
                                                           : std::string(),
                                    report.problem));
  }
  if (index >= audit.leaves.size()) return core::NotFound(fmt::format("the log has no entry {}", index), "index");
  if (audit.purged.contains(index)) return core::Ok();
  const LeafInfo& info = audit.leaves[index];
  const RecordKind* kind = FindRecordKind(info.kind);
  if (kind == nullptr) return Precondition(fmt::format("entry {} has an unknown kind '{}'", index, info.kind));
  if (kind->internal) {
    return Precondition(fmt::format("refused: entry {} is a {} record: {}", index, info.kind, kKindRetentionNote));
  }
  RetentionEnd end = RetentionOf(*kind, info.recorded_at, audit.Events(info.model));
  if (!end.until || now < *end.until) {
    return Precondition(fmt::format(
        "refused: entry {} ({}) must be kept {}{}", index, info.kind,
        end.until ? fmt::format("until {}: ", end.until->date().ToString()) : std::string(), end.reason));
  }
  nlohmann::json doc = {{"index", index}, {"leaf_hash", Hex(audit.leaf_hashes[index])}, {"reason", end.reason}};
  RecordInput record{std::string(kPurgeKind), info.model, doc.dump(), now, {}};
  FL_ASSIGN_OR_RETURN(SealedRecord sealed, SealInternal(record));
  FL_RETURN_IF_ERROR(AppendBatch(storage_, {record}, {sealed}, index, {}));
  return core::Ok();
}

Result<void> Log::Export(const std::string& dir, bool public_copy) {
  FL_ASSIGN_OR_RETURN(std::string origin, Origin());
  FL_ASSIGN_OR_RETURN(std::optional<std::string> key, storage_.GetMeta(kMetaVerifierKey));
  FL_ASSIGN_OR_RETURN(std::uint64_t size, storage_.Size());
  FL_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> checkpoints, storage_.Checkpoints());
  std::error_code ec;
  fs::path root(dir);
  if (fs::exists(root, ec) && !fs::is_empty(root, ec)) {
    return core::InvalidArgument(fmt::format("{} exists and is not empty", dir), "out");
  }
  // A full copy holds every salt and redacted field: owner-only from creation. A public copy is
  // meant to be handed out.
  mode_t dir_mode = public_copy ? 0755 : 0700;
  mode_t file_mode = public_copy ? 0644 : 0600;
  if (root.has_parent_path()) fs::create_directories(root.parent_path(), ec);
  if (ec) return core::MakeError(core::Code::kUnavailable, fmt::format("cannot create {}: {}", dir, ec.message()));
  for (const fs::path& d : {root, root / "checkpoints", root / "documents"}) {
    if (mkdir(d.c_str(), dir_mode) != 0 && errno != EEXIST) {
      return core::MakeError(core::Code::kUnavailable, fmt::format("cannot create {}", d.string()));
    }
    if (chmod(d.c_str(), dir_mode) != 0) {
      return core::MakeError(core::Code::kUnavailable, fmt::format("cannot set the mode of {}", d.string()));
    }
  }

  FL_RETURN_IF_ERROR(WriteText(root / "key.vkey", *key + "\n", file_mode));
  for (size_t i = 0; i < checkpoints.size(); ++i) {
    FL_RETURN_IF_ERROR(WriteText(root / "checkpoints" / CheckpointFileName(checkpoints[i].size, i),
                                 checkpoints[i].note, file_mode));
  }
  FL_RETURN_IF_ERROR(CreateFile(root / "leaves.jsonl", file_mode));
  FL_RETURN_IF_ERROR(CreateFile(root / "openings.jsonl", file_mode));
  std::ofstream leaves(root / "leaves.jsonl", std::ios::binary);
  std::ofstream openings(root / "openings.jsonl", std::ios::binary);
  FL_RETURN_IF_ERROR(storage_.ForEachEntry(0, size, [&](const Entry& e) -> Result<void> {
    if (e.leaf.find('\n') != std::string::npos) {
      return core::MakeError(core::Code::kInternal, fmt::format("entry {} holds a newline", e.index));
    }
    leaves << e.leaf << '\n';
    if (e.purged_at) return core::Ok();
    FL_ASSIGN_OR_RETURN(std::optional<std::string> doc, storage_.GetDocument(e.index));
    if (!doc) return core::MakeError(core::Code::kDataLoss, fmt::format("entry {}: document missing", e.index));
    json line = {{"index", e.index}};
    bool publish_document = true;
    if (public_copy) {
      FL_ASSIGN_OR_RETURN(std::string disclosure, PublicDisclosure(e.leaf, *doc, e.openings));
      json d = json::parse(disclosure);
      publish_document = !d["redacted"].is_object() || d["redacted"].empty();
      line["disclosure"] = std::move(d);
    } else {
      json salts = json::parse(e.openings, nullptr, /*allow_exceptions=*/false);
      if (salts.is_discarded()) {
        return core::MakeError(core::Code::kDataLoss, fmt::format("entry {}: its openings are not JSON", e.index));
      }
      line["openings"] = std::move(salts);
    }
    if (publish_document) {
      line["content_hash"] = Hex(e.content_hash);
      fs::path document = root / "documents" / Hex(e.content_hash);
      // Two entries may hold the same document: written once.
      if (!fs::exists(document, ec)) FL_RETURN_IF_ERROR(WriteText(document, *doc, file_mode));
    }
    openings << line.dump() << '\n';
    return core::Ok();
  }));
  leaves.close();
  openings.close();
  if (!leaves || !openings) return core::MakeError(core::Code::kUnavailable, fmt::format("cannot write {}", dir));
  json manifest = {{"format", "flopline-ledger-export/1"},
                   {"origin", origin},
                   {"size", size},
                   {"copy", public_copy ? "public" : "full"}};
  return WriteText(root / "manifest.json", manifest.dump(2) + "\n", file_mode);
}

Result<VerifyReport> VerifyExport(const std::string& dir, const std::optional<std::string>& pinned_key,
                                  const VerifyOptions& options) {
  fs::path root(dir);
  FL_ASSIGN_OR_RETURN(std::string manifest_text, ReadExportFile(root / "manifest.json", kMaxSmallExportFile));
  json manifest = json::parse(manifest_text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() || !manifest["origin"].is_string() ||
      !manifest["size"].is_number_unsigned()) {
    return core::InvalidArgument(fmt::format("{}/manifest.json is not an export manifest", dir));
  }
  VerifyReport report;
  std::string origin = manifest["origin"];
  report.size = manifest["size"];
  std::string key_text;
  if (pinned_key) {
    key_text = *pinned_key;
  } else {
    FL_ASSIGN_OR_RETURN(key_text, ReadExportFile(root / "key.vkey", kMaxSmallExportFile));
    report.warnings.push_back("the key came from the export itself: pin it with --key to rule out a substituted log");
  }
  FL_ASSIGN_OR_RETURN(Verifier verifier, Verifier::Parse(key_text));

  MemoryTree tree;
  std::vector<std::string> leaves;
  {
    FL_ASSIGN_OR_RETURN(std::string text, ReadExportFile(root / "leaves.jsonl", kMaxLargeExportFile));
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      tree.Append(LeafHash(line));
      leaves.push_back(std::move(line));
    }
  }
  if (tree.size() != report.size) {
    Fail(report, tree.size(), fmt::format("the manifest says {} entries, leaves.jsonl holds {}", report.size, tree.size()));
  }

  std::vector<StoredCheckpoint> checkpoints;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(root / "checkpoints", ec)) files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    FL_ASSIGN_OR_RETURN(std::string note, ReadExportFile(f, kMaxSmallExportFile));
    std::uint64_t size = std::strtoull(f.filename().string().c_str(), nullptr, 10);
    checkpoints.push_back({size, note});
  }
  CheckCheckpoints(checkpoints, verifier, origin, tree, report);
  if (checkpoints.empty()) Fail(report, std::nullopt, "the export holds no signed checkpoint");
  if (options.since) CheckSince(*options.since, verifier, origin, tree, report);

  // The openings by entry; an entry without one must have a logged purge.
  std::map<std::uint64_t, json> openings;
  {
    FL_ASSIGN_OR_RETURN(std::string text, ReadExportFile(root / "openings.jsonl", kMaxLargeExportFile));
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      json o = json::parse(line, nullptr, false);
      if (o.is_discarded() || !o.is_object() || !o["index"].is_number_unsigned() ||
          o["index"].get<std::uint64_t>() >= leaves.size()) {
        Fail(report, std::nullopt, "openings.jsonl holds a line that names no entry");
        continue;
      }
      std::uint64_t index = o["index"];
      if (!openings.emplace(index, std::move(o)).second) {
        Fail(report, index, fmt::format("entry {}: openings.jsonl opens it twice", index));
      }
    }
  }
  LogAudit audit;
  audit.now = options.now.value_or(WallClock());
  for (std::uint64_t index = 0; index < leaves.size(); ++index) {
    const std::string& leaf = leaves[index];
    AuditLeaf(audit, index, leaf, LeafHash(leaf), report);
    auto it = openings.find(index);
    if (it == openings.end()) {
      if (audit.leaves.back().kind == kInventoryKind) audit.inventory_complete = false;
      continue;  // judged below, once every purge is known
    }
    json& o = it->second;  // not const: a const operator[] on a missing key is undefined
    std::optional<std::string> doc;
    if (o.contains("content_hash")) {
      std::optional<Hash> content = o["content_hash"].is_string() ? HashFromHex(o["content_hash"].get<std::string>())
                                                                  : std::nullopt;
      Result<std::string> bytes = content ? ReadExportFile(root / "documents" / Hex(*content), kMaxLargeExportFile)
                                          : Result<std::string>(tl::unexpected(core::Error{}));
      if (!bytes || Sha256(*bytes) != *content) {
        Fail(report, index, fmt::format("entry {}: its document is missing or altered", index));
        continue;
      }
      doc = *bytes;
    }
    Result<void> checked = core::Ok();
    bool opened = false;
    if (o.contains("openings")) {
      checked = doc ? CheckOpening(leaf, *doc, o["openings"].dump())
                    : tl::unexpected(core::Error{core::Code::kDataLoss, "no document", {}, {}});
      opened = doc.has_value();
    } else if (o.contains("disclosure")) {
      checked = CheckDisclosure(leaf, o["disclosure"].dump());
      if (checked && doc && o["disclosure"].contains("document_salt")) {
        json salts = {{"document", o["disclosure"]["document_salt"]}, {"fields", json::object()}};
        for (auto& [name, field] : o["disclosure"]["fields"].items()) salts["fields"][name] = field["salt"];
        checked = CheckOpening(leaf, *doc, salts.dump());
        opened = true;
      }
    } else {
      checked = tl::unexpected(core::Error{core::Code::kDataLoss, "its opening line holds neither openings nor a "
                                                                  "disclosure", {}, {}});
    }
    if (!checked) {
      Fail(report, index, fmt::format("entry {}: {}", index, checked.error().message));
    } else {
      ++report.documents;
    }
    if (checked && opened) {
      AuditDocument(audit, index, *doc, report);
    } else if (audit.leaves.back().kind == kInventoryKind) {
      audit.inventory_complete = false;
    }
  }
  for (std::uint64_t index = 0; index < leaves.size(); ++index) {
    if (!openings.contains(index) && !audit.purged.contains(index)) {
      Fail(report, index, fmt::format("entry {}: the export holds no opening for it and no purge of it is logged",
                                      index));
    }
  }
  return report;
}

GroupCommitter::GroupCommitter(Log& log, size_t max_batch)
    : log_(log), max_batch_(max_batch), completer_([this] { Complete(); }), writer_([this] { Run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
  {
    std::lock_guard lock(done_mu_);
    writer_stopped_ = true;
  }
  done_cv_.notify_all();
  completer_.join();
}

std::future<Result<Appended>> GroupCommitter::Submit(RecordInput record) {
  std::promise<Result<Appended>> done;
  std::future<Result<Appended>> result = done.get_future();
  Result<SealedRecord> sealed = Seal(record);  // on the caller's thread, outside the lock
  if (!sealed) {
    done.set_value(tl::unexpected(sealed.error()));
    return result;
  }
  {
    std::lock_guard lock(mu_);
    queue_.push_back({std::move(record), std::move(*sealed), std::move(done)});
  }
  cv_.notify_one();
  return result;
}

void GroupCommitter::Run() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<RecordInput> inputs;
    std::vector<SealedRecord> sealed;
    for (Pending& p : batch) {
      inputs.push_back(std::move(p.input));
      sealed.push_back(std::move(p.sealed));
    }
    Result<std::vector<Appended>> appended = log_.AppendSealed(inputs, sealed);
    std::vector<Outcome> outcomes;
    outcomes.reserve(batch.size());
    if (!appended && appended.error().code == core::Code::kInvalidArgument && batch.size() > 1) {
      // One caller's bad record (a back-dated time) must not fail the others' appends: each is
      // tried on its own.
      for (size_t i = 0; i < batch.size(); ++i) {
        Result<std::vector<Appended>> one = log_.AppendSealed({inputs[i]}, {sealed[i]});
        outcomes.push_back({std::move(batch[i].done), one ? Result<Appended>((*one)[0]) : tl::unexpected(one.error())});
      }
    } else {
      for (size_t i = 0; i < batch.size(); ++i) {
        outcomes.push_back({std::move(batch[i].done),
                            appended ? Result<Appended>((*appended)[i]) : tl::unexpected(appended.error())});
      }
    }
    Finish(std::move(outcomes));
  }
}

// Hands a committed batch's outcomes to the completer. Waking a batch's callers is the slow part
// of fulfilling it (each set_value wakes a thread, which on a small machine runs at once), so the
// writer goes on to the next transaction and leaves it to the completer.
void GroupCommitter::Finish(std::vector<Outcome> outcomes) {
  {
    std::lock_guard lock(done_mu_);
    if (outcomes_.empty()) {
      outcomes_ = std::move(outcomes);
    } else {
      std::move(outcomes.begin(), outcomes.end(), std::back_inserter(outcomes_));
    }
  }
  done_cv_.notify_one();
}

void GroupCommitter::Complete() {
  std::unique_lock lock(done_mu_);
  for (;;) {
    done_cv_.wait(lock, [&] { return writer_stopped_ || !outcomes_.empty(); });
    if (outcomes_.empty()) return;  // the writer has stopped and everything is fulfilled
    std::vector<Outcome> ready = std::move(outcomes_);
    outcomes_.clear();
    lock.unlock();
    for (Outcome& o : ready) o.done.set_value(std::move(o.result));
    lock.lock();
  }
}

}  // namespace flopline::ledger
