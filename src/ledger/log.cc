#include "flopline/ledger/log.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

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

Result<void> WriteText(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return core::MakeError(core::Code::kUnavailable, fmt::format("cannot write {}", path.string()));
  return core::Ok();
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

// Checks every signed checkpoint against the recomputed tree.
void CheckCheckpoints(const std::vector<StoredCheckpoint>& checkpoints, const Verifier& verifier,
                      const std::string& origin, const MemoryTree& tree, VerifyReport& report) {
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
}

}  // namespace

Result<void> Log::Init(Storage& storage, const std::string& origin, const Signer& signer) {
  if (origin.empty() || origin.find('\n') != std::string::npos) {
    return core::InvalidArgument("an origin is one non-empty line, e.g. example.com/flopline", "origin");
  }
  FL_RETURN_IF_ERROR(storage.InitMeta(kMetaOrigin, origin));
  FL_RETURN_IF_ERROR(storage.InitMeta(kMetaVerifierKey, signer.VerifierKey()));
  return core::Ok();
}

Result<std::string> Log::Origin() {
  FL_ASSIGN_OR_RETURN(std::optional<std::string> origin, storage_.GetMeta(kMetaOrigin));
  if (!origin) return Precondition("the log is not initialised: run `flopline ledger init` first");
  return *origin;
}

Result<Verifier> Log::LogVerifier() {
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
  FL_RETURN_IF_ERROR(Origin());
  std::vector<Appended> out;
  FL_RETURN_IF_ERROR(storage_.Append([&](std::uint64_t size, const NodeReader& nodes) -> Result<Batch> {
    out.clear();  // a retried transaction starts again
    FL_ASSIGN_OR_RETURN(Frontier frontier, Frontier::Load(nodes, size));
    Batch batch;
    for (size_t i = 0; i < sealed.size(); ++i) {
      Entry e;
      e.index = frontier.size();
      e.leaf = sealed[i].leaf;
      e.leaf_hash = LeafHash(e.leaf);
      e.kind = inputs[i].kind;
      e.model = inputs[i].model;
      e.recorded_at = inputs[i].recorded_at.ToString();
      e.content_hash = sealed[i].content_hash;
      e.openings = sealed[i].openings;
      frontier.Append(e.leaf_hash, [&](NodeId id, const Hash& h) {
        if (id.level > 0) batch.nodes.emplace_back(id, h);
      });
      out.push_back({e.index, e.leaf_hash, sealed[i].notices});
      batch.documents.emplace_back(e.content_hash, inputs[i].document);
      batch.entries.push_back(std::move(e));
    }
    return batch;
  }));
  return out;
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

Result<VerifyReport> Log::Verify() {
  FL_ASSIGN_OR_RETURN(std::string origin, Origin());
  FL_ASSIGN_OR_RETURN(Verifier verifier, LogVerifier());
  VerifyReport report;
  FL_ASSIGN_OR_RETURN(report.size, storage_.Size());
  MemoryTree tree;
  std::uint64_t expected = 0;
  FL_RETURN_IF_ERROR(storage_.ForEachEntry(0, report.size, [&](const Entry& e) -> Result<void> {
    if (e.index != expected) {
      Fail(report, expected, fmt::format("entry {} is missing", expected));
      expected = e.index;
    }
    ++expected;
    Hash computed = LeafHash(e.leaf);
    if (computed != e.leaf_hash) {
      Fail(report, e.index, fmt::format("entry {}: the leaf does not hash to its stored leaf hash", e.index));
    }
    tree.Append(computed);
    if (e.purged_at) return core::Ok();
    Result<std::optional<std::string>> doc = storage_.GetDocument(e.content_hash);
    if (!doc) return tl::unexpected(doc.error());
    if (!doc->has_value()) {
      Fail(report, e.index, fmt::format("entry {}: its document is missing", e.index));
    } else if (Sha256(**doc) != e.content_hash) {
      Fail(report, e.index, fmt::format("entry {}: its document does not hash to its content hash", e.index));
    } else if (Result<void> opened = CheckOpening(e.leaf, **doc, e.openings); !opened) {
      Fail(report, e.index, fmt::format("entry {}: {}", e.index, opened.error().message));
    } else {
      ++report.documents;
    }
    return core::Ok();
  }));
  if (expected != report.size) Fail(report, expected, fmt::format("entries from {} are missing", expected));
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
  FL_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> checkpoints, storage_.Checkpoints());
  CheckCheckpoints(checkpoints, verifier, origin, tree, report);
  if (checkpoints.empty()) report.warnings.push_back("no signed checkpoint yet: run `flopline ledger checkpoint`");
  return report;
}

Result<void> Log::Purge(std::uint64_t index, core::Instant now) {
  FL_ASSIGN_OR_RETURN(Entry e, storage_.GetEntry(index));
  if (e.purged_at) return core::Ok();
  const RecordKind* kind = FindRecordKind(e.kind);
  if (kind == nullptr) return Precondition(fmt::format("entry {} has an unknown kind '{}'", index, e.kind));
  FL_ASSIGN_OR_RETURN(core::Instant recorded, core::Instant::Parse(e.recorded_at));
  std::vector<std::pair<std::string, core::Instant>> events;
  if (!e.model.empty()) {
    FL_ASSIGN_OR_RETURN(std::vector<InventoryRows::Event> rows, storage_.ModelEvents(e.model));
    for (const InventoryRows::Event& ev : rows) {
      FL_ASSIGN_OR_RETURN(core::Instant at, core::Instant::Parse(ev.at));
      events.emplace_back(ev.kind, at);
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const auto& a, const auto& b) { return a.second < b.second; });
  }
  RetentionEnd end = RetentionOf(*kind, recorded, events);
  if (!end.until || now < *end.until) {
    return Precondition(fmt::format(
        "refused: entry {} ({}) must be kept {}{}", index, e.kind,
        end.until ? fmt::format("until {}: ", end.until->date().ToString()) : std::string(), end.reason));
  }
  return storage_.Purge(index, now.ToString());
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
  fs::create_directories(root / "checkpoints", ec);
  fs::create_directories(root / "documents", ec);
  if (ec) return core::MakeError(core::Code::kUnavailable, fmt::format("cannot create {}: {}", dir, ec.message()));

  FL_RETURN_IF_ERROR(WriteText(root / "key.vkey", *key + "\n"));
  for (size_t i = 0; i < checkpoints.size(); ++i) {
    FL_RETURN_IF_ERROR(WriteText(root / "checkpoints" / CheckpointFileName(checkpoints[i].size, i),
                                 checkpoints[i].note));
  }
  std::ofstream leaves(root / "leaves.jsonl", std::ios::binary);
  std::ofstream openings(root / "openings.jsonl", std::ios::binary);
  FL_RETURN_IF_ERROR(storage_.ForEachEntry(0, size, [&](const Entry& e) -> Result<void> {
    if (e.leaf.find('\n') != std::string::npos) {
      return core::MakeError(core::Code::kInternal, fmt::format("entry {} holds a newline", e.index));
    }
    leaves << e.leaf << '\n';
    if (e.purged_at) return core::Ok();
    FL_ASSIGN_OR_RETURN(std::optional<std::string> doc, storage_.GetDocument(e.content_hash));
    if (!doc) return core::MakeError(core::Code::kDataLoss, fmt::format("entry {}: document missing", e.index));
    json line = {{"index", e.index}};
    bool publish_document = true;
    if (public_copy) {
      FL_ASSIGN_OR_RETURN(std::string disclosure, PublicDisclosure(e.leaf, *doc, e.openings));
      json d = json::parse(disclosure);
      publish_document = !d["redacted"].is_object() || d["redacted"].empty();
      line["disclosure"] = std::move(d);
    } else {
      line["openings"] = json::parse(e.openings);
    }
    if (publish_document) {
      line["content_hash"] = Hex(e.content_hash);
      FL_RETURN_IF_ERROR(WriteText(root / "documents" / Hex(e.content_hash), *doc));
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
  return WriteText(root / "manifest.json", manifest.dump(2) + "\n");
}

Result<VerifyReport> VerifyExport(const std::string& dir, const std::optional<std::string>& pinned_key) {
  fs::path root(dir);
  FL_ASSIGN_OR_RETURN(std::string manifest_text, core::ReadFile((root / "manifest.json").string()));
  json manifest = json::parse(manifest_text, nullptr, false);
  if (manifest.is_discarded() || !manifest["origin"].is_string() || !manifest["size"].is_number_unsigned()) {
    return core::InvalidArgument(fmt::format("{}/manifest.json is not an export manifest", dir));
  }
  VerifyReport report;
  std::string origin = manifest["origin"];
  report.size = manifest["size"];
  std::string key_text;
  if (pinned_key) {
    key_text = *pinned_key;
  } else {
    FL_ASSIGN_OR_RETURN(key_text, core::ReadFile((root / "key.vkey").string()));
    report.warnings.push_back("the key came from the export itself: pin it with --key to rule out a substituted log");
  }
  FL_ASSIGN_OR_RETURN(Verifier verifier, Verifier::Parse(key_text));

  MemoryTree tree;
  std::vector<std::string> leaves;
  {
    FL_ASSIGN_OR_RETURN(std::string text, core::ReadFile((root / "leaves.jsonl").string()));
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
    FL_ASSIGN_OR_RETURN(std::string note, core::ReadFile(f.string()));
    std::uint64_t size = std::strtoull(f.filename().string().c_str(), nullptr, 10);
    checkpoints.push_back({size, note});
  }
  CheckCheckpoints(checkpoints, verifier, origin, tree, report);
  if (checkpoints.empty()) Fail(report, std::nullopt, "the export holds no signed checkpoint");

  FL_ASSIGN_OR_RETURN(std::string openings_text, core::ReadFile((root / "openings.jsonl").string()));
  std::istringstream in(openings_text);
  for (std::string line; std::getline(in, line);) {
    json o = json::parse(line, nullptr, false);
    if (o.is_discarded() || !o["index"].is_number_unsigned() || o["index"].get<std::uint64_t>() >= leaves.size()) {
      Fail(report, std::nullopt, "openings.jsonl holds a line that names no entry");
      continue;
    }
    std::uint64_t index = o["index"];
    const std::string& leaf = leaves[index];
    std::optional<std::string> doc;
    if (o["content_hash"].is_string()) {
      Result<std::string> bytes = core::ReadFile((root / "documents" / o["content_hash"].get<std::string>()).string());
      if (!bytes || Hex(Sha256(*bytes)) != o["content_hash"]) {
        Fail(report, index, fmt::format("entry {}: its document is missing or altered", index));
        continue;
      }
      doc = *bytes;
    }
    Result<void> checked = core::Ok();
    if (o.contains("openings")) {
      checked = doc ? CheckOpening(leaf, *doc, o["openings"].dump())
                    : tl::unexpected(core::Error{core::Code::kDataLoss, "no document", {}, {}});
    } else if (o.contains("disclosure")) {
      checked = CheckDisclosure(leaf, o["disclosure"].dump());
      if (checked && doc && o["disclosure"].contains("document_salt")) {
        json openings = {{"document", o["disclosure"]["document_salt"]}, {"fields", json::object()}};
        for (const auto& [name, opened] : o["disclosure"]["fields"].items()) openings["fields"][name] = opened["salt"];
        checked = CheckOpening(leaf, *doc, openings.dump());
      }
    }
    if (!checked) {
      Fail(report, index, fmt::format("entry {}: {}", index, checked.error().message));
    } else {
      ++report.documents;
    }
  }
  return report;
}

GroupCommitter::GroupCommitter(Log& log, size_t max_batch)
    : log_(log), max_batch_(max_batch), writer_([this] { Run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
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
    for (size_t i = 0; i < batch.size(); ++i) {
      if (appended) {
        batch[i].done.set_value((*appended)[i]);
      } else {
        batch[i].done.set_value(tl::unexpected(appended.error()));
      }
    }
  }
}

}  // namespace flopline::ledger
