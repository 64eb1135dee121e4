// `flopline ledger ...` and `flopline import`: the evidence store and its tamper-evident log.
// Thin: flags -> store::Open + ledger::Log -> text or JSON (docs/ledger.md).
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "key_file.h"
#include "flopline/core/format.h"
#include "flopline/ledger/log.h"
#include "flopline/rules/inventory.h"
#include "flopline/store/open.h"

namespace flopline::cli {
namespace {

using nlohmann::json;

struct LedgerFlags {
  std::string store, key, origin, kind, file, model, recorded_at, as_of, out, dir, document_out, since,
      format = "table", data_dir;
  std::vector<std::string> redact, files;
  std::uint64_t index = 0, from = 0, to = 0, tree_size = 0;
  bool public_copy = false;
};

core::Instant Now() {
  return core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

// sqlite:PATH keeps its key beside the database; PostgreSQL has no file to sit beside.
core::Result<std::string> KeyPath(const LedgerFlags& f) {
  if (!f.key.empty()) return f.key;
  if (f.store.starts_with("sqlite:")) return f.store.substr(7) + ".key";
  return core::InvalidArgument("give --key FILE: a PostgreSQL store keeps no key file of its own", "--key");
}

// A document is logged for ever, so it is checked before anything is written: a regular file (not
// a directory, a device such as /dev/zero, or a FIFO that would block), at most kMaxDocumentBytes,
// read with that bound whatever the file claims (core::ReadRegularFile).
constexpr size_t kMaxDocumentBytes = size_t{64} << 20;

core::Result<std::string> ReadDocument(const std::string& path, const std::string& field, bool allow_empty = true) {
  core::ReadLimits limits;
  limits.max_bytes = kMaxDocumentBytes;
  limits.follow_symlink = true;  // a document is bytes to log, wherever the name points
  limits.allow_empty = allow_empty;
  auto bytes = core::ReadRegularFile(path, limits);
  if (!bytes) {
    core::Error e = bytes.error();
    e.field = field;
    e.code = core::Code::kInvalidArgument;
    return tl::unexpected(e);
  }
  return bytes;
}

json HashList(const std::vector<ledger::Hash>& hashes) {
  json out = json::array();
  for (const ledger::Hash& h : hashes) out.push_back(ledger::Base64(h));
  return out;
}

class LedgerCommand {
 public:
  LedgerCommand(const std::string& name, const LedgerFlags& flags) : name_("ledger " + name), f_(flags) {}

  int Fail(const core::Error& e) {
    return ReportError(name_, e.ToString(), e.code != core::Code::kDataLoss);
  }

  // Pins the verifier key obtained outside the store: --key (a verifier key, a file holding one, or
  // the signing key file), else the signing key kept beside a SQLite database. Returns false on an
  // error (reported); with neither, nothing is pinned and the log decides what that allows.
  bool Pin() {
    std::string text;
    std::string path = f_.key;
    if (path.empty() && f_.store.starts_with("sqlite:") && access((f_.store.substr(7) + ".key").c_str(), F_OK) == 0) {
      path = f_.store.substr(7) + ".key";
    }
    if (path.empty()) return true;
    if (access(path.c_str(), F_OK) != 0) {
      text = path;  // the key itself on the command line
    } else {
      auto signer = ReadSigner(path);
      if (signer) {
        text = signer->VerifierKey();
      } else if (!f_.key.empty()) {
        auto read = ReadKeyFile(path, "--key");
        if (!read) {
          Fail(read.error());
          return false;
        }
        text = *read;
      } else {
        Fail(signer.error());
        return false;
      }
    }
    if (auto r = log_->PinKey(text); !r) {
      core::Error e = r.error();
      e.field = "--key";
      Fail(e);
      return false;
    }
    return true;
  }

  // Opens the store; the caller checks `storage_`.
  bool Open() {
    auto storage = store::Open(f_.store);
    if (!storage) {
      Fail(storage.error());
      return false;
    }
    storage_ = std::move(*storage);
    log_ = std::make_unique<ledger::Log>(*storage_);
    return true;
  }

  int Init() {
    if (!Open()) return 2;
    auto path = KeyPath(f_);
    if (!path) return Fail(path.error());
    std::string key_name = f_.origin;
    core::Result<ledger::Signer> signer = access(path->c_str(), F_OK) == 0 ? ReadSigner(*path)
                                                                           : ledger::Signer::Generate(key_name);
    if (!signer) return Fail(signer.error());
    if (signer->name() != key_name) {
      return Fail({core::Code::kInvalidArgument,
                   fmt::format("{} holds a key named '{}', not '{}'", *path, signer->name(), key_name), {}, "--key"});
    }
    if (auto r = ledger::Log::Init(*storage_, f_.origin, *signer); !r) return Fail(r.error());
    if (access(path->c_str(), F_OK) != 0) {
      if (auto r = WriteKeyFile(*path, signer->SignerKey()); !r) return Fail(r.error());
    }
    if (f_.format == "json") {
      std::cout << json{{"origin", f_.origin}, {"key", signer->VerifierKey()}, {"key_file", *path}}.dump(2) << "\n";
    } else {
      std::cout << fmt::format("initialised log '{}'\nverifier key: {}\nsigning key:  {} (mode 0600)\n", f_.origin,
                               signer->VerifierKey(), *path);
    }
    return 0;
  }

  int Append() {
    // Every input is checked before the store is opened (opening creates a SQLite file).
    auto document = ReadDocument(f_.file, "--file");
    if (!document) return Fail(document.error());
    ledger::RecordInput input{f_.kind, f_.model, std::move(*document), Now(), {}};
    if (!f_.recorded_at.empty()) {
      auto at = core::Instant::Parse(f_.recorded_at);
      if (!at) return Fail({core::Code::kInvalidArgument, at.error().message, {}, "--recorded-at"});
      input.recorded_at = *at;
    }
    if (!Open()) return 2;
    for (const std::string& r : f_.redact) {
      size_t eq = r.find('=');
      if (eq == std::string::npos) {
        return Fail({core::Code::kInvalidArgument, fmt::format("expected FIELD=GROUND, got '{}'", r), {}, "--redact"});
      }
      input.redactions[r.substr(0, eq)] = r.substr(eq + 1);
    }
    auto appended = log_->Append({input});
    if (!appended) {
      core::Error e = appended.error();
      if (e.field == "recorded-at") e.field = "--recorded-at";
      if (e.where == std::nullopt && !e.field.empty() && e.field != "kind" && e.field != "model" &&
          e.field != "redact" && e.field != "--recorded-at") {
        e.where = core::Location{f_.file, 0, 0};  // a missing field of the document names the file
      }
      return Fail(e);
    }
    const ledger::Appended& a = appended->front();
    for (const std::string& notice : a.notices) std::cerr << "flopline ledger append: note: " << notice << "\n";
    if (f_.format == "json") {
      json out = {{"index", a.index}, {"leaf_hash", ledger::Base64(a.leaf_hash)}};
      if (!a.notices.empty()) out["notices"] = a.notices;
      std::cout << out.dump() << "\n";
    } else {
      std::cout << fmt::format("appended {} record as entry {}\nleaf hash: {}\n", f_.kind, a.index,
                               ledger::Base64(a.leaf_hash));
    }
    return 0;
  }

  int Checkpoint() {
    if (!Open()) return 2;
    auto path = KeyPath(f_);
    if (!path) return Fail(path.error());
    auto signer = ReadSigner(*path);
    if (!signer) return Fail(signer.error());
    auto note = log_->Checkpoint(*signer);
    if (!note) return Fail(note.error());
    if (f_.format == "json") {
      std::cout << json{{"checkpoint", *note}}.dump(2) << "\n";
    } else {
      std::cout << *note;
    }
    return 0;
  }

  int Key() {
    if (!Open()) return 2;
    auto key = storage_->GetMeta(ledger::kMetaVerifierKey);
    if (!key) return Fail(key.error());
    if (!*key) return Fail({core::Code::kFailedPrecondition, "the log is not initialised", {}, {}});
    if (f_.format == "json") {
      std::cout << json{{"key", **key}}.dump(2) << "\n";
    } else {
      std::cout << **key << "\n";
    }
    return 0;
  }

  int Prove() {
    if (!Open()) return 2;
    auto proof = log_->Prove(f_.index, f_.tree_size ? std::optional(f_.tree_size) : std::nullopt);
    if (!proof) return Fail(proof.error());
    json out = {{"index", proof->index},
                {"tree_size", proof->tree_size},
                {"leaf", ledger::Base64(proof->leaf)},
                {"hashes", HashList(proof->hashes)},
                {"root", ledger::Base64(proof->root)}};
    if (f_.format == "json") {
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << fmt::format("entry {} in the tree of {} entries (root {})\nleaf: {}\n", proof->index,
                               proof->tree_size, out["root"].get<std::string>(), proof->leaf);
      for (const auto& h : out["hashes"]) std::cout << "  " << h.get<std::string>() << "\n";
    }
    return 0;
  }

  int Consistency() {
    if (!Open()) return 2;
    auto proof = log_->Consistency(f_.from, f_.to);
    if (!proof) return Fail(proof.error());
    json out = {{"from", proof->from},
                {"to", proof->to},
                {"hashes", HashList(proof->hashes)},
                {"old_root", ledger::Base64(proof->old_root)},
                {"new_root", ledger::Base64(proof->new_root)}};
    if (f_.format == "json") {
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << fmt::format("tree {} ({}) is a prefix of tree {} ({})\n", proof->from,
                               out["old_root"].get<std::string>(), proof->to, out["new_root"].get<std::string>());
      for (const auto& h : out["hashes"]) std::cout << "  " << h.get<std::string>() << "\n";
    }
    return 0;
  }

  int Verify() {
    core::Result<ledger::VerifyReport> report;
    ledger::VerifyOptions options;
    if (!f_.since.empty()) {
      auto note = ReadKeyFile(f_.since, "--since");  // a signed note: small, like a key
      if (!note) return Fail(note.error());
      options.since = *note;
    }
    if (!f_.dir.empty()) {
      std::optional<std::string> pinned;
      if (!f_.key.empty()) {
        auto text = access(f_.key.c_str(), F_OK) == 0 ? ReadKeyFile(f_.key, "--key") : core::Result<std::string>(f_.key);
        if (!text) return Fail(text.error());
        pinned = *text;
      }
      report = ledger::VerifyExport(f_.dir, pinned, options);
    } else {
      if (f_.store.empty()) return Fail({core::Code::kInvalidArgument, "give --store or --dir", {}, "--store"});
      if (!Open()) return 2;
      if (!Pin()) return 2;
      report = log_->Verify(options);
    }
    if (!report) return Fail(report.error());
    for (const std::string& w : report->warnings) std::cerr << "flopline ledger verify: warning: " << w << "\n";
    if (f_.format == "json") {
      json out = {{"ok", report->ok},
                  {"size", report->size},
                  {"checkpoints", report->checkpoints},
                  {"documents", report->documents},
                  {"first_bad_index", report->first_bad_index ? json(*report->first_bad_index) : json(nullptr)},
                  {"problem", report->problem},
                  {"warnings", report->warnings}};
      std::cout << out.dump(2) << "\n";
    } else if (report->ok) {
      std::cout << fmt::format("ok: {} entries, {} signed checkpoints and {} documents verified\n", report->size,
                               report->checkpoints, report->documents);
    }
    if (!report->ok) {
      std::cerr << "flopline ledger verify: FAILED"
                << (report->first_bad_index ? fmt::format(" at index {}", *report->first_bad_index) : std::string())
                << ": " << report->problem << "\n";
      return 1;
    }
    return 0;
  }

  int Export() {
    if (!Open()) return 2;
    if (auto r = log_->Export(f_.out, f_.public_copy); !r) return Fail(r.error());
    auto size = log_->Size();
    if (!size) return Fail(size.error());
    if (f_.format == "json") {
      std::cout << json{{"out", f_.out}, {"size", *size}, {"copy", f_.public_copy ? "public" : "full"}}.dump(2) << "\n";
    } else {
      std::cout << fmt::format("exported {} entries ({} copy) to {}; verify with: flopline ledger verify --dir {}\n",
                               *size, f_.public_copy ? "public" : "full", f_.out, f_.out);
    }
    return 0;
  }

  int Purge() {
    if (!Open()) return 2;
    if (!Pin()) return 2;
    core::Instant now = Now();
    if (!f_.as_of.empty()) {
      auto at = core::Instant::Parse(f_.as_of);
      if (!at) return Fail({core::Code::kInvalidArgument, at.error().message, {}, "--as-of"});
      now = *at;
    }
    if (auto r = log_->Purge(f_.index, now); !r) {
      core::Error e = r.error();
      if (e.field == "recorded-at") e.field = "--as-of";
      return Fail(e);
    }
    std::cout << fmt::format("purged the document and salts of entry {} and logged the purge; its leaf stays in "
                             "the log\n",
                             f_.index);
    return 0;
  }

  // Produces a record as filed: every value shown comes from the logged leaf (checked against the
  // signed checkpoint that includes it), and the document is checked against the leaf before it is
  // written out. An edited column is a failure (exit 1), never printed as the record.
  int Show() {
    if (!Open()) return 2;
    if (!Pin()) return 2;
    auto record = log_->Produce(f_.index);
    if (!record) return Fail(record.error());
    const ledger::Entry& entry = record->entry;
    const ledger::LeafInfo& leaf = record->leaf;
    json out = {{"index", entry.index},
                {"kind", leaf.kind},
                {"model", leaf.model},
                {"recorded_at", leaf.recorded_at.ToString()},
                {"leaf_hash", ledger::Base64(entry.leaf_hash)},
                {"content_sha256", ledger::Hex(entry.content_hash)},
                {"leaf", json::parse(entry.leaf, nullptr, false)},
                {"checkpoint", record->checkpoint ? json(*record->checkpoint) : json(nullptr)}};
    if (!record->key_pinned) {
      std::cerr << "flopline ledger show: warning: the verifier key came from the store itself: pin it with --key\n";
    }
    if (!record->checkpoint) {
      std::cerr << "flopline ledger show: warning: no signed checkpoint covers this entry yet: run `flopline "
                   "ledger checkpoint`\n";
    }
    if (!record->document) {
      out["purged_at"] = *entry.purged_at;
    } else {
      out["document_matches_leaf"] = true;
    }
    if (!f_.document_out.empty()) {
      if (!record->document) return Fail({core::Code::kFailedPrecondition, "the document was purged", {}, "--document-out"});
      std::ofstream file(f_.document_out, std::ios::binary | std::ios::trunc);
      file << *record->document;
      if (!file) return Fail({core::Code::kUnavailable, "cannot write the document", core::Location{f_.document_out, 0, 0}, "--document-out"});
    }
    if (f_.format == "json") {
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << fmt::format("entry {}: {} for '{}', recorded {}\nleaf hash {}\ncontent sha256 {}\n", entry.index,
                               leaf.kind, leaf.model, leaf.recorded_at.ToString(), out["leaf_hash"].get<std::string>(),
                               out["content_sha256"].get<std::string>());
      std::cout << (record->checkpoint ? fmt::format("included in the signed checkpoint of {} entries\n", *record->checkpoint)
                                       : std::string("not yet covered by a signed checkpoint\n"));
      std::cout << (record->document ? std::string("document present and matches the logged leaf\n")
                                     : fmt::format("document purged {} (the purge is logged)\n", *entry.purged_at));
    }
    return 0;
  }

  int Import() {
    // The files are logged for ever: each must be a regular, non-empty, bounded file, checked before
    // the store is opened. The bytes logged are the bytes read here.
    std::vector<std::string> texts;
    for (const std::string& path : f_.files) {
      auto text = ReadDocument(path, "files", /*allow_empty=*/false);
      if (!text) return Fail(text.error());
      texts.push_back(std::move(*text));
    }
    std::string data = FindDataDir(f_.data_dir);
    auto accelerators = compute::AcceleratorTable::Load(data + "/accelerators.toml");
    if (!accelerators) return Fail(accelerators.error());
    auto prices = compute::PriceTable::Load(data + "/cloud-prices.toml");
    if (!prices) return Fail(prices.error());
    auto inventory = rules::LoadInventory(f_.files, *accelerators, *prices);
    if (!inventory) return Fail(inventory.error());
    if (inventory->models.empty()) {
      return Fail(core::Error{core::Code::kInvalidArgument, "holds no [[model]]: nothing to import", core::Location{f_.files.front(), 0, 0}, "files"});
    }
    ledger::InventoryRows rows;
    for (const rules::Model& m : inventory->models) {
      rows.models.push_back({m.id, m.developer, m.base, m.derivation, m.foundation_model, m.developer_revenue_usd});
      for (const rules::TrainingStage& s : m.training) {
        rows.runs.push_back({m.id, s.kind, s.start.ToString(), s.flop_method, s.flop, s.cost_usd});
      }
    }
    for (const rules::Event& e : inventory->events) rows.events.push_back({e.model, e.kind, e.at.ToString()});
    // The files and the rows derived from them go into the log with the tables, in one
    // transaction: what was assessed is what is recorded, and the tables are what the log says.
    if (!Open()) return 2;
    auto appended = log_->Import({texts, rows, Now()});
    if (!appended) return Fail(appended.error());
    json entries = json::array();
    for (size_t i = 0; i < f_.files.size(); ++i) {
      entries.push_back({{"file", f_.files[i]}, {"index", (*appended)[i].index},
                         {"leaf_hash", ledger::Base64((*appended)[i].leaf_hash)}});
    }
    if (f_.format == "json") {
      std::cout << json{{"models", rows.models.size()}, {"training_runs", rows.runs.size()},
                        {"events", rows.events.size()}, {"entries", entries},
                        {"inventory_index", appended->back().index}}.dump(2) << "\n";
    } else {
      std::cout << fmt::format("imported {} models, {} training runs, {} events; ", rows.models.size(),
                               rows.runs.size(), rows.events.size());
      std::cout << fmt::format("recorded {} model files and their inventory as entries {}..{}\n", f_.files.size(),
                               appended->front().index, appended->back().index);
    }
    return 0;
  }

 private:
  std::string name_;
  const LedgerFlags& f_;
  std::unique_ptr<ledger::Storage> storage_;
  std::unique_ptr<ledger::Log> log_;
};

void AddFormat(CLI::App* app, LedgerFlags& f) {
  app->add_option("--format", f.format, "table or json")->check(CLI::IsMember({"table", "json"}));
}
void AddStore(CLI::App* app, LedgerFlags& f, bool required = true) {
  auto* opt = app->add_option("--store", f.store, "sqlite:PATH or postgres:CONNINFO");
  if (required) opt->required();
}

}  // namespace

CommandRunner AddLedgerCommand(CLI::App& app) {
  auto flags = std::make_shared<LedgerFlags>();
  LedgerFlags& f = *flags;
  CLI::App* ledger = app.add_subcommand("ledger", "the tamper-evident evidence log (docs/ledger.md)");
  ledger->require_subcommand(1);

  CLI::App* init = ledger->add_subcommand("init", "create the store, its schema and the log's signing key");
  AddStore(init, f);
  init->add_option("--origin", f.origin, "the log's name, e.g. example.com/acme-evidence")->required();
  init->add_option("--key", f.key, "signing key file (default: the SQLite path + .key), created mode 0600");

  CLI::App* append = ledger->add_subcommand("append", "append an evidence record");
  AddStore(append, f);
  std::vector<std::string> kinds;
  for (const ledger::RecordKind& k : ledger::RecordKinds()) kinds.emplace_back(k.name);
  append->add_option("--kind", f.kind, "record kind: " + core::Join(kinds))->required();
  append->add_option("--file", f.file, "the document")->required();
  append->add_option("--model", f.model, "the model it concerns");
  append->add_option("--redact", f.redact, "FIELD=GROUND to withhold from public copies ('*' = the whole document)");
  append->add_option("--recorded-at", f.recorded_at, "when it was recorded (UTC; default now)");

  CLI::App* checkpoint = ledger->add_subcommand("checkpoint", "sign and store a checkpoint of the log");
  AddStore(checkpoint, f);
  checkpoint->add_option("--key", f.key, "signing key file");

  CLI::App* key = ledger->add_subcommand("key", "print the verifier key (signed-note form)");
  AddStore(key, f);

  CLI::App* prove = ledger->add_subcommand("prove", "inclusion proof of one entry");
  AddStore(prove, f);
  prove->add_option("--index", f.index, "entry index")->required();
  prove->add_option("--tree-size", f.tree_size, "tree size to prove against (default: the current size)");

  CLI::App* consistency = ledger->add_subcommand("consistency", "consistency proof between two tree sizes");
  AddStore(consistency, f);
  consistency->add_option("--from", f.from, "older tree size")->required();
  consistency->add_option("--to", f.to, "newer tree size")->required();

  CLI::App* verify = ledger->add_subcommand("verify", "re-derive every hash and check every checkpoint");
  AddStore(verify, f, false);
  verify->add_option("--dir", f.dir, "verify an export offline instead of a store");
  verify->add_option("--key", f.key,
                     "the verifier key (or a file holding it, or the signing key file) obtained independently of "
                     "the store or export (default for sqlite:PATH: PATH.key when present)");
  verify->add_option("--since", f.since,
                     "a signed checkpoint seen before (a file): the log must extend it (detects a rollback)");

  CLI::App* exp = ledger->add_subcommand("export", "write everything an auditor needs to verify offline");
  AddStore(exp, f);
  exp->add_option("--out", f.out, "directory (new or empty)")->required();
  exp->add_flag("--public", f.public_copy, "a public copy: redacted fields and redacted documents withheld");

  CLI::App* purge = ledger->add_subcommand("purge", "delete a record's document once its retention is over");
  AddStore(purge, f);
  purge->add_option("--index", f.index, "entry index")->required();
  purge->add_option("--key", f.key, "the verifier key, a file holding it, or the signing key file (default for "
                    "sqlite:PATH: PATH.key); required otherwise");
  purge->add_option("--as-of", f.as_of, "the time to judge retention at and record the purge at (default now)");

  CLI::App* show = ledger->add_subcommand("show", "one record: its leaf, and its document checked against it");
  AddStore(show, f);
  show->add_option("--index", f.index, "entry index")->required();
  show->add_option("--key", f.key, "the verifier key, a file holding it, or the signing key file (default for "
                   "sqlite:PATH: PATH.key)");
  show->add_option("--document-out", f.document_out, "write the document, once checked, to this file");

  for (CLI::App* sub : {init, append, checkpoint, key, prove, consistency, verify, exp, purge, show}) {
    AddFormat(sub, f);
  }

  return [flags, ledger, init, append, checkpoint, key, prove, consistency, verify, exp, purge, show]() {
    LedgerCommand run(ledger->get_subcommands().front()->get_name(), *flags);
    if (init->parsed()) return run.Init();
    if (append->parsed()) return run.Append();
    if (checkpoint->parsed()) return run.Checkpoint();
    if (key->parsed()) return run.Key();
    if (prove->parsed()) return run.Prove();
    if (consistency->parsed()) return run.Consistency();
    if (verify->parsed()) return run.Verify();
    if (exp->parsed()) return run.Export();
    if (purge->parsed()) return run.Purge();
    if (show->parsed()) return run.Show();
    return 2;
  };
}

CommandRunner AddImportCommand(CLI::App& app) {
  auto flags = std::make_shared<LedgerFlags>();
  CLI::App* import = app.add_subcommand("import", "record model files (as `flopline assess` reads them) in the store");
  import->add_option("files", flags->files, "model files (docs/assess.md)")->required();
  AddStore(import, *flags);
  import->add_option("--data-dir", flags->data_dir, "directory of accelerators.toml and cloud-prices.toml");
  AddFormat(import, *flags);
  return [flags]() { return LedgerCommand("import", *flags).Import(); };
}

}  // namespace flopline::cli
