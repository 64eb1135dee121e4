// File: flopline/ledger/log.h
//
// The evidence log over a Storage: appends (one at a time, in batches, or group-committed from many
// threads), signed checkpoints, proofs, full verification, retention-checked purges, and the
// offline export an auditor verifies without the database.
#pragma once

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
#include "flopline/ledger/note.h"
#include "flopline/ledger/records.h"
#include "flopline/ledger/storage.h"

namespace flopline::ledger {

inline constexpr char kMetaOrigin[] = "origin";
inline constexpr char kMetaVerifierKey[] = "verifier_key";

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

class Log {
 public:
  explicit Log(Storage& storage) : storage_(storage) {}

  // Records the origin and the key's verifier form; refuses a log initialised differently.
  static core::Result<void> Init(Storage& storage, const std::string& origin, const Signer& signer);

  core::Result<std::string> Origin();
  core::Result<Verifier> LogVerifier();
  core::Result<std::uint64_t> Size();

  // Seals and appends the records in one durable transaction, in order.
  core::Result<std::vector<Appended>> Append(const std::vector<RecordInput>& records);
  // Appends already-sealed records (the group committer seals outside the lock).
  core::Result<std::vector<Appended>> AppendSealed(const std::vector<RecordInput>& inputs,
                                                   const std::vector<SealedRecord>& sealed);

  // Signs and stores a checkpoint of the current tree; returns the signed note.
  core::Result<std::string> Checkpoint(const Signer& signer);

  core::Result<InclusionResult> Prove(std::uint64_t index, std::optional<std::uint64_t> tree_size);
  core::Result<ConsistencyResult> Consistency(std::uint64_t from, std::uint64_t to);

  // Re-derives every leaf hash and stored node, re-opens every document, checks every checkpoint.
  core::Result<VerifyReport> Verify();

  // Deletes a record's document and salts once its retention period is over; refuses before,
  // naming the clause. The leaf stays: the log still verifies.
  core::Result<void> Purge(std::uint64_t index, core::Instant now);

  // Writes DIR (docs/formats/ledger-export.md). `public_copy` withholds redacted fields and the
  // documents of redacted records.
  core::Result<void> Export(const std::string& dir, bool public_copy);

 private:
  Storage& storage_;
};

// Verifies an export directory offline. `pinned_key` is the verifier key the auditor obtained
// independently; without it the directory's own key is used and the report says so.
core::Result<VerifyReport> VerifyExport(const std::string& dir,
                                        const std::optional<std::string>& pinned_key);

// Group commit: callers on any thread submit records; one writer drains the queue and appends
// everything waiting in one durable transaction, so one fsync serves many appends. A future is
// fulfilled only after its commit.
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
  void Run();

  Log& log_;
  size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace flopline::ledger
