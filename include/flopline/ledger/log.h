// File: flopline/ledger/log.h
//
// The evidence log over a Storage: appends (one at a time, in batches, or group-committed from many
// threads), signed checkpoints, proofs, full verification, retention-checked purges, and the
// offline export an auditor verifies without the database.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "flopline/core/instant.h"
#include "flopline/core/result.h"
#include "flopline/ledger/inventory.h"
#include "flopline/ledger/note.h"
#include "flopline/ledger/records.h"
#include "flopline/ledger/storage.h"

namespace flopline::ledger {

inline constexpr char kMetaOrigin[] = "origin";
inline constexpr char kMetaVerifierKey[] = "verifier_key";
// When `Init` created the log: no record may claim an earlier time (a first record back-dated to
// 1970 would make a years-from-record retention end at once). Set once, with the first checkpoint.
inline constexpr char kMetaInitialisedAt[] = "initialised_at";

// How far a recorded time may lie ahead of the clock of whoever appends or verifies, and how far
// behind the log's last entry a writer's clock may be before its record is refused rather than
// stamped with the last entry's time (concurrent writers seal outside the log's lock).
inline constexpr std::chrono::seconds kClockSkew{300};

struct Appended {
  std::uint64_t index = 0;
  Hash leaf_hash{};
  std::vector<std::string> notices;
};

struct InclusionResult {
  std::uint64_t index = 0, tree_size = 0;
  std::string leaf;
  std::vector<Hash> hashes;
  Hash root{};
};

struct ConsistencyResult {
  std::uint64_t from = 0, to = 0;
  std::vector<Hash> hashes;
  Hash old_root{}, new_root{};
};

struct VerifyReport {
  bool ok = true;
  std::uint64_t size = 0;
  std::uint64_t checkpoints = 0;       // signed checkpoints checked
  std::uint64_t documents = 0;         // documents and openings checked
  std::optional<std::uint64_t> first_bad_index;
  std::string problem;                 // what failed, first
  std::vector<std::string> warnings;   // not failures: e.g. an unpinned key
};

struct VerifyOptions {
  // A checkpoint the verifier saw before (pinned, or from a witness): the log must still hold it,
  // extended only by appends, as a consistency proof from it to the current tree shows. This is
  // what detects a rollback (entries and later checkpoints removed), which the store alone cannot.
  std::optional<std::string> since;
  // The verifier's clock (default: the system's): recorded times may not lie beyond it by more
  // than kClockSkew.
  std::optional<core::Instant> now;
};

// One record as filed, every column taken from the leaf (and checked against the stored copy).
struct ProducedRecord {
  Entry entry;
  LeafInfo leaf;
  std::optional<std::string> document;      // checked against the leaf; nullopt when purged
  std::optional<std::uint64_t> checkpoint;  // the size of the signed checkpoint that includes it
  bool key_pinned = false;                  // the checkpoint opened under a pinned key
};

// Model files and the inventory `flopline import` derived from them, logged and applied together.
struct ImportInput {
  std::vector<std::string> files;  // the model files' bytes, each logged as a model-file record
  InventoryRows rows;              // logged as a model-inventory record, then applied to the tables
  core::Instant recorded_at;
  // The log's size the writer read the inventory at: when the log has grown past it by the time the
  // import holds the log's lock (another writer, process or replica appended), nothing is written
  // and Import returns kAborted, so that the writer reads again and re-checks its change (an
  // optimistic, conditional append: two writers can never both change what they read). nullopt:
  // unconditional.
  std::optional<std::uint64_t> expected_size = std::nullopt;
};

struct LogAudit;  // what Verify derives from the leaves (log.cc)

class Log {
 public:
  explicit Log(Storage& storage) : storage_(storage) {}

  // Records the origin, the key's verifier form and the time of initialisation (`at`, default
  // now) and signs a checkpoint of the empty log, so that a store without any checkpoint is one
  // whose checkpoints were deleted; refuses a log initialised differently.
  static core::Result<void> Init(Storage& storage, const std::string& origin, const Signer& signer,
                                 std::optional<core::Instant> at = std::nullopt);

  // The verifier key obtained independently of the store (from the auditor, or derived from the
  // signing key). The store's own copy is writable by whoever can rewrite the log, so without a
  // pinned key verify can only warn, and Purge refuses.
  core::Result<void> PinKey(const std::string& verifier_key);
  bool KeyPinned() const { return pinned_key_.has_value(); }

  core::Result<std::string> Origin();
  // The pinned key, else the store's copy.
  core::Result<Verifier> LogVerifier();
  core::Result<std::uint64_t> Size();

  // Seals and appends the records in one durable transaction, in order.
  core::Result<std::vector<Appended>> Append(const std::vector<RecordInput>& records);
  // Appends already-sealed records (the group committer seals outside the lock). A recorded time
  // later than now + kClockSkew is refused; one earlier than the log's last entry is refused, or
  // stamped with the last entry's time when it is less than kClockSkew behind (a notice says so).
  core::Result<std::vector<Appended>> AppendSealed(const std::vector<RecordInput>& inputs,
                                                   const std::vector<SealedRecord>& sealed);
  // Logs the model files and a model-inventory record, and writes the inventory tables, in one
  // transaction. Returns the model-file entries, then the inventory entry; kAborted, with nothing
  // written, when `input.expected_size` is set and the log's size is another.
  core::Result<std::vector<Appended>> Import(const ImportInput& input);

  // Signs and stores a checkpoint of the current tree; returns the signed note. The log is verified
  // first under the signer's own key: a log that does not verify is never signed (kDataLoss naming
  // the first bad index), so a forged entry cannot be laundered by a routine checkpoint.
  core::Result<std::string> Checkpoint(const Signer& signer);

  core::Result<InclusionResult> Prove(std::uint64_t index, std::optional<std::uint64_t> tree_size);
  core::Result<ConsistencyResult> Consistency(std::uint64_t from, std::uint64_t to);

  // Re-derives every leaf hash and stored node, checks every stored column against its leaf,
  // re-opens every document, checks that every purge is logged and was allowed, that recorded times
  // never go backwards, that the inventory tables are what the logged imports wrote, and every
  // checkpoint (at least one must exist; `since` must be consistent with the current tree).
  core::Result<VerifyReport> Verify(const VerifyOptions& options);
  core::Result<VerifyReport> Verify();  // now, no pinned checkpoint

  // The inventory tables against the logged imports alone (what a kill switch's lineage scope
  // reads): kDataLoss naming the first difference.
  core::Result<void> VerifyInventory();

  // One record, its columns from its leaf: the leaf must hash to its stored hash and be included in
  // the latest signed checkpoint that covers it, and the document must open it. kDataLoss otherwise.
  core::Result<ProducedRecord> Produce(std::uint64_t index);

  // Deletes a record's document and salts once its retention period is over, and logs a purge
  // record naming it in the same transaction; refuses before, naming the clause. Retention is
  // judged from the verified leaf and the logged inventory, never from a stored column, so the
  // whole log must verify first, under a pinned key (PinKey; kFailedPrecondition without one).
  // `now` is when the purge is recorded (the time rules apply).
  core::Result<void> Purge(std::uint64_t index, core::Instant now);

  // Writes DIR (docs/formats/ledger-export.md). `public_copy` withholds redacted fields and the
  // documents of redacted records.
  core::Result<void> Export(const std::string& dir, bool public_copy);

 private:
  core::Result<VerifyReport> VerifyInto(const VerifyOptions& options, LogAudit& audit, const Verifier& verifier,
                                        bool signing);

  Storage& storage_;
  std::optional<std::string> pinned_key_;
};

// Verifies an export directory offline. `pinned_key` is the verifier key the auditor obtained
// independently; without it the directory's own key is used and the report says so.
core::Result<VerifyReport> VerifyExport(const std::string& dir,
                                        const std::optional<std::string>& pinned_key,
                                        const VerifyOptions& options);

// Group commit: callers on any thread submit records; one writer drains the queue and appends
// everything waiting in one durable transaction, so one fsync serves many appends. A future is
// fulfilled only after its commit, by a second thread, so that the writer begins the next
// transaction while the last one's callers wake up.
class GroupCommitter {
 public:
  explicit GroupCommitter(Log& log, size_t max_batch = 4096);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  std::future<core::Result<Appended>> Submit(RecordInput record);

 private:
  struct Pending {
    RecordInput input;
    SealedRecord sealed;
    std::promise<core::Result<Appended>> done;
  };
  struct Outcome {
    std::promise<core::Result<Appended>> done;
    core::Result<Appended> result;
  };
  void Run();
  void Complete();
  void Finish(std::vector<Outcome> outcomes);

  Log& log_;
  size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  // Committed batches' outcomes, for the completer.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::vector<Outcome> outcomes_;
  bool writer_stopped_ = false;
  std::thread completer_;
  std::thread writer_;
};

}  // namespace flopline::ledger
