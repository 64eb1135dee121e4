// `flopline document`: the documents the statutes require, filled from the evidence log
// (docs/documents.md). Thin: flags -> documents:: (kinds, facts, build, render, PDF) and ledger::Log.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "key_file.h"
#include "flopline/compute/accelerators.h"
#include "flopline/compute/prices.h"
#include "flopline/core/format.h"
#include "flopline/documents/document.h"
#include "flopline/documents/facts.h"
#include "flopline/documents/filing.h"
#include "flopline/documents/fill.h"
#include "flopline/documents/kinds.h"
#include "flopline/documents/pdf.h"
#include "flopline/ledger/log.h"
#include "flopline/rules/engine.h"
#include "flopline/store/open.h"

namespace flopline::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct DocumentFlags {
  std::string kind, model, store, as_of, fill, out, format = "table", data_dir, regimes_dir, documents_dir, key,
      chromium = "chromium", signer, role, at, dir;
  std::uint64_t index = 0;
  bool file = false, fail_if_incomplete = false, no_pdf = false;
};

core::Instant Now() {
  return core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

core::Error WithField(core::Error e, const std::string& field) {
  if (e.field.empty()) e.field = field;
  return e;
}

core::Result<void> WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) {
    return core::MakeError(core::Code::kUnavailable, "cannot write the file", "--out", core::Location{path.string(), 0, 0});
  }
  return core::Ok();
}

core::Result<std::string> ReadSmall(const std::string& path, const std::string& field, size_t max_bytes) {
  core::ReadLimits limits;
  limits.max_bytes = max_bytes;
  limits.follow_symlink = true;
  auto bytes = core::ReadRegularFile(path, limits);
  if (!bytes) return tl::unexpected(WithField(bytes.error(), field));
  return bytes;
}

class DocumentCommand {
 public:
  DocumentCommand(std::string name, const DocumentFlags& flags) : name_(std::move(name)), f_(flags) {}

  int Fail(const core::Error& e) { return ReportError(name_, e.ToString(), e.code != core::Code::kDataLoss); }
  int Bad(std::string message, std::string field) {
    return Fail({core::Code::kInvalidArgument, std::move(message), {}, std::move(field)});
  }

  core::Result<std::vector<documents::DocumentKind>> Kinds() {
    return documents::LoadKindDir(FindDocumentsDir(f_.documents_dir));
  }

  int List() {
    auto kinds = Kinds();
    if (!kinds) return Fail(kinds.error());
    if (f_.format == "json") {
      json out = json::array();
      for (const auto& k : *kinds) {
        json elements = json::array();
        for (const auto& e : k.elements) {
          const char* text = e.text == documents::TextNeed::kRequired   ? "required"
                             : e.text == documents::TextNeed::kOptional ? "optional"
                                                                          : "none";
          elements.push_back({{"id", e.id}, {"cite", e.cite}, {"heading", e.heading}, {"required", e.required},
                              {"text", text}, {"input", e.input == documents::InputShape::kList ? "list" : "text"},
                              {"facts", e.facts}, {"optional_facts", e.optional_facts}, {"applies_to", e.applies_to},
                              {"redactable", e.redactable}, {"signatory", e.signatory}});
        }
        out.push_back({{"id", k.id}, {"title", k.title}, {"regime", k.regime}, {"required_by", k.required_by},
                       {"record_kind", k.record_kind}, {"applies_to", k.applies_to}, {"signer", k.signer},
                       {"signer_cite", k.signer_cite}, {"discharges", k.discharges},
                       {"redaction_grounds", k.redaction_grounds}, {"describe_redactions", k.describe_redactions},
                       {"elements", elements}});
      }
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    std::cout << fmt::format("{:<38} {:<16} {:>8}  {}\n", "KIND", "REGIME", "ELEMENTS", "REQUIRED BY");
    for (const auto& k : *kinds) {
      std::cout << fmt::format("{:<38} {:<16} {:>8}  {}\n", k.id, k.regime, k.elements.size(), k.required_by);
    }
    return 0;
  }

  // Opens an existing store (a missing SQLite file is an error, never created) and pins its key when
  // the signing key sits beside it (or --key names one).
  bool Open() {
    if (f_.store.empty()) {
      Bad("give --store sqlite:PATH or postgres:CONNINFO", "--store");
      return false;
    }
    if (f_.store.starts_with("sqlite:") && access(f_.store.substr(7).c_str(), F_OK) != 0) {
      Fail({core::Code::kInvalidArgument, "no evidence store here: create it with `flopline ledger init`",
            core::Location{f_.store.substr(7), 0, 0}, "--store"});
      return false;
    }
    auto storage = store::Open(f_.store);
    if (!storage) {
      Fail(WithField(storage.error(), "--store"));
      return false;
    }
    storage_ = std::move(*storage);
    log_ = std::make_unique<ledger::Log>(*storage_);
    std::string key = f_.key;
    if (key.empty() && f_.store.starts_with("sqlite:") && access((f_.store.substr(7) + ".key").c_str(), F_OK) == 0) {
      key = f_.store.substr(7) + ".key";
    }
    if (!key.empty()) {
      auto signer = ReadSigner(key);
      std::string verifier;
      if (signer) {
        verifier = signer->VerifierKey();
      } else {
        auto text = ReadKeyFile(key, "--key");
        if (!text) {
          Fail(text.error());
          return false;
        }
        verifier = *text;
      }
      if (auto r = log_->PinKey(verifier); !r) {
        Fail(WithField(r.error(), "--key"));
        return false;
      }
    }
    return true;
  }

  int Build() {
    auto kinds = Kinds();
    if (!kinds) return Fail(kinds.error());
    const documents::DocumentKind* kind = documents::FindKind(*kinds, f_.kind);
    if (kind == nullptr) {
      std::vector<std::string> ids;
      for (const auto& k : *kinds) ids.push_back(k.id);
      return Bad(fmt::format("unknown document kind '{}'; kinds: {}", f_.kind, core::Join(ids)), "KIND");
    }
    if (f_.model.empty()) return Bad("give --model ID", "--model");
    if (f_.out.empty()) return Bad("give --out DIR", "--out");
    core::Date as_of = Now().date();
    if (!f_.as_of.empty()) {
      auto date = core::Date::Parse(f_.as_of);
      if (!date) return Bad(date.error().message, "--as-of");
      as_of = *date;
    }
    std::optional<documents::Fill> fill;
    if (!f_.fill.empty()) {
      auto text = ReadSmall(f_.fill, "--fill", size_t{4} << 20);
      if (!text) return Fail(text.error());
      auto parsed = documents::ParseFill(*text, f_.fill, *kind);
      if (!parsed) return Fail(parsed.error());
      fill = std::move(*parsed);
    }
    auto lib = documents::Library::Load(FindDocumentsDir(f_.documents_dir), FindRegimesDir(f_.regimes_dir),
                                        FindDataDir(f_.data_dir));
    if (!lib) return Fail(lib.error());
    kind = lib->Find(f_.kind);
    if (!Open()) return 2;

    auto evidence = lib->LoadEvidence(*log_, *storage_, f_.model, as_of);
    if (!evidence) {
      core::Error e = evidence.error();
      if (e.code == core::Code::kNotFound) e.where = core::Location{f_.store, 0, 0};
      return Fail(e);
    }
    auto draft = lib->Build(*evidence, *kind, as_of, fill ? &*fill : nullptr);
    if (!draft) return Fail(draft.error());
    const json* doc = &draft->document;
    const std::uint64_t version = draft->version;
    const std::vector<documents::CompletenessItem>& incomplete = draft->incomplete;
    const bool complete = incomplete.empty();

    if (f_.file) {
      // Everything the record needs is checked before anything is appended.
      if (auto r = documents::CheckFileable(*draft); !r) {
        core::Error e = r.error();
        e.message += ": add [signatory] name and role to the fill file";
        if (f_.fill.empty()) {
          e.field = "--fill";
        } else {
          e.where = core::Location{f_.fill, 0, 0};
        }
        return Fail(e);
      }
      if (!complete && f_.fail_if_incomplete) {
        PrintSummary(*kind, *doc, incomplete, {}, std::nullopt);
        std::cerr << fmt::format("flopline document: not filed: {} element(s) missing or stale\n", incomplete.size());
        return 1;
      }
    }
    std::error_code ec;
    fs::create_directories(f_.out, ec);
    if (ec) return Fail({core::Code::kInvalidArgument, ec.message(), core::Location{f_.out, 0, 0}, "--out"});
    std::vector<std::string> written;
    std::optional<ledger::Appended> filed;
    std::unique_ptr<documents::PdfRenderer> pdf = documents::MakeChromiumRenderer(f_.chromium);
    auto emit = [&](const fs::path& dir, const std::string& html) -> core::Result<void> {
      fs::create_directories(dir, ec);
      fs::path html_path = dir / (kind->id + ".html");
      FL_RETURN_IF_ERROR(WriteFile(html_path, html));
      written.push_back(html_path.string());
      if (!f_.no_pdf) {
        fs::path pdf_path = dir / (kind->id + ".pdf");
        FL_RETURN_IF_ERROR(pdf->Render(html_path.string(), pdf_path.string()));
        written.push_back(pdf_path.string());
      }
      return core::Ok();
    };
    fs::path out(f_.out);
    core::Result<void> done = core::Ok();
    if (!f_.file) {
      std::string text = doc->dump(2) + "\n";
      done = WriteFile(out / "document.json", text);
      if (done) {
        written.push_back((out / "document.json").string());
        done = emit(out, documents::RenderHtml(*doc, {}, documents::Header{}));
      }
    } else {
      auto appended = log_->Append({documents::FilingRecord(*draft, f_.model, Now())});
      if (!appended) return Fail(appended.error());
      filed = appended->front();
      auto copies = documents::OpenFiled(*log_, *storage_, filed->index, "--index");
      if (!copies) return Fail(copies.error());
      json filing = {{"index", filed->index}, {"leaf_hash", copies->leaf_hash}, {"leaf", copies->record.entry.leaf},
                     {"document_kind", kind->id}, {"model", f_.model}, {"version", version},
                     {"record_kind", kind->record_kind}};
      done = WriteFile(out / "filing.json", filing.dump(2) + "\n");
      fs::create_directories(out / "original", ec);
      fs::create_directories(out / "public", ec);
      if (done) done = WriteFile(out / "original" / "document.json", copies->document);
      if (done) done = WriteFile(out / "original" / "openings.json", copies->openings);
      if (done) done = WriteFile(out / "public" / "disclosure.json", copies->disclosure);
      if (done) {
        written.push_back((out / "filing.json").string());
        done = emit(out / "original", documents::OriginalHtml(*copies));
      }
      if (done) done = emit(out / "public", documents::PublicHtml(*copies));
    }
    if (done) {
      json report = {{"complete", complete}, {"items", json::array()}};
      for (const auto& i : incomplete) {
        report["items"].push_back({{"element", i.element}, {"state", i.state}, {"why", i.why}});
      }
      done = WriteFile(out / "completeness.json", report.dump(2) + "\n");
    }
    if (!done) {
      // A filed record stays filed: say so, with what failed.
      if (filed) {
        std::cerr << fmt::format("flopline document: filed as entry {}, but: {}\n", filed->index, done.error().ToString());
        return 1;
      }
      return Fail(done.error());
    }
    for (const std::string& w : evidence->warnings) std::cerr << "flopline document: warning: " << w << "\n";
    PrintSummary(*kind, *doc, incomplete, written, filed);
    return (!complete && f_.fail_if_incomplete) ? 1 : 0;
  }

  void PrintSummary(const documents::DocumentKind& kind, const json& doc,
                    const std::vector<documents::CompletenessItem>& incomplete, const std::vector<std::string>& written,
                    const std::optional<ledger::Appended>& filed) {
    const json& applies = doc["applies"];
    if (f_.format == "json") {
      json out = {{"kind", kind.id}, {"model", f_.model}, {"version", doc["version"]}, {"as_of", doc["as_of"]},
                  {"status", applies["status"]}, {"owed", applies["owed"]}, {"complete", incomplete.empty()},
                  {"incomplete", json::array()}, {"files", written}};
      for (const auto& i : incomplete) out["incomplete"].push_back({{"element", i.element}, {"state", i.state}, {"why", i.why}});
      if (filed) out["filed"] = {{"index", filed->index}, {"leaf_hash", ledger::Base64(filed->leaf_hash)}};
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << fmt::format("{} ({}) for {}, version {}, facts as of {}\n", kind.title, kind.required_by, f_.model,
                             doc["version"].dump(), doc["as_of"].get<std::string>());
    if (!applies["owed"].get<bool>()) {
      std::cout << fmt::format("note: under {} the model is {}; the law asks this document of {}\n", kind.regime,
                               applies["status"].get<std::string>(), core::Join(kind.applies_to));
    }
    if (incomplete.empty()) {
      std::cout << "complete: every required element is filled and current\n";
    } else {
      std::cout << fmt::format("incomplete: {} element(s) missing or stale\n", incomplete.size());
      for (const auto& i : incomplete) std::cout << fmt::format("  {:<8} {:<14} {}\n", i.state, i.element, i.why);
    }
    if (filed) {
      std::cout << fmt::format("filed as ledger entry {}, leaf hash {}\n", filed->index, ledger::Base64(filed->leaf_hash));
    }
    for (const std::string& w : written) std::cout << "wrote " << w << "\n";
  }

  int Sign() {
    if (f_.signer.empty()) return Bad("give --signer NAME", "--signer");
    if (f_.role.empty()) return Bad("give --role ROLE", "--role");
    core::Instant at = Now();
    if (!f_.at.empty()) {
      auto parsed = core::Instant::Parse(f_.at);
      if (!parsed) return Bad(parsed.error().message, "--at");
      at = *parsed;
    }
    auto kinds = Kinds();
    if (!kinds) return Fail(kinds.error());
    if (!Open()) return 2;
    auto size = log_->Size();
    if (!size) return Fail(size.error());
    if (f_.index >= *size) return Bad(fmt::format("the log has {} entries", *size), "--index");
    auto filed = documents::OpenFiled(*log_, *storage_, f_.index, "--index");
    if (!filed) return Fail(filed.error());
    auto signature = documents::SignatureDocument(*filed, *kinds, f_.signer, f_.role, at);
    if (!signature) {
      core::Error e = signature.error();
      e.field = "--" + e.field;
      return Fail(e);
    }
    auto appended =
        log_->Append({ledger::RecordInput{"document-signature", filed->record.leaf.model, signature->dump(2), Now(), {}}});
    if (!appended) return Fail(appended.error());
    const ledger::Appended& a = appended->front();
    if (f_.format == "json") {
      std::cout << json{{"index", a.index}, {"leaf_hash", ledger::Base64(a.leaf_hash)}, {"signed", f_.index}}.dump(2) << "\n";
    } else {
      std::cout << fmt::format("recorded the signature of {} ({}) on entry {}, signed {}, as entry {}\nleaf hash: {}\n",
                               f_.signer, f_.role, f_.index, at.ToString(), a.index, ledger::Base64(a.leaf_hash));
    }
    return 0;
  }

  int Verify() {
    fs::path dir(f_.dir);
    auto filing_text = ReadSmall((dir / "filing.json").string(), "DIR", size_t{1} << 20);
    if (!filing_text) return Fail(filing_text.error());
    json filing = json::parse(*filing_text, nullptr, false);
    if (!filing.is_object() || !filing["index"].is_number_unsigned() || !filing["leaf_hash"].is_string() ||
        !filing["document_kind"].is_string()) {
      return Fail({core::Code::kInvalidArgument, "not a filing: expected index, leaf_hash and document_kind",
                   core::Location{(dir / "filing.json").string(), 0, 0}, "DIR"});
    }
    if (!Open()) return 2;
    std::uint64_t index = filing["index"].get<std::uint64_t>();
    std::string kind_id = filing["document_kind"].get<std::string>();
    if (kind_id.find('/') != std::string::npos) return Bad("document_kind is not a kind id", "DIR");
    auto record = log_->Produce(index);
    if (!record) return Fail(record.error());
    auto failed = [&](const std::string& what) {
      std::cerr << "flopline document verify: FAILED: " << what << "\n";
      return 1;
    };
    std::string leaf_hash = ledger::Base64(record->entry.leaf_hash);
    if (leaf_hash != filing["leaf_hash"].get<std::string>()) {
      return failed(fmt::format("entry {} has leaf hash {}, not the filing's {}", index, leaf_hash,
                                filing["leaf_hash"].get<std::string>()));
    }
    if (!record->checkpoint) {
      return failed(fmt::format("entry {} is not yet in a signed checkpoint: run `flopline ledger checkpoint`", index));
    }
    const std::string& leaf = record->entry.leaf;
    std::vector<std::string> checked;
    size_t max = size_t{64} << 20;
    if (fs::exists(dir / "public")) {
      auto disclosure = ReadSmall((dir / "public" / "disclosure.json").string(), "DIR", max);
      if (!disclosure) return Fail(disclosure.error());
      if (auto r = ledger::CheckDisclosure(leaf, *disclosure); !r) {
        return failed(fmt::format("{}: {}", (dir / "public" / "disclosure.json").string(), r.error().message));
      }
      auto html = ReadSmall((dir / "public" / (kind_id + ".html")).string(), "DIR", max);
      if (!html) return Fail(html.error());
      if (*html != documents::PublicHtml(*disclosure, leaf, documents::Header{true, index, leaf_hash, true})) {
        return failed(fmt::format("{}: not the rendering of the disclosed fields of entry {}",
                                  (dir / "public" / (kind_id + ".html")).string(), index));
      }
      checked.push_back("public copy");
    }
    if (fs::exists(dir / "original")) {
      auto document = ReadSmall((dir / "original" / "document.json").string(), "DIR", max);
      if (!document) return Fail(document.error());
      auto openings = ReadSmall((dir / "original" / "openings.json").string(), "DIR", max);
      if (!openings) return Fail(openings.error());
      if (auto r = ledger::CheckOpening(leaf, *document, *openings); !r) {
        return failed(fmt::format("{}: {}", (dir / "original" / "document.json").string(), r.error().message));
      }
      auto html = ReadSmall((dir / "original" / (kind_id + ".html")).string(), "DIR", max);
      if (!html) return Fail(html.error());
      json doc = json::parse(*document, nullptr, false);
      if (*html != documents::RenderHtml(doc, {}, documents::Header{true, index, leaf_hash, false})) {
        return failed(fmt::format("{}: not the rendering of the document of entry {}",
                                  (dir / "original" / (kind_id + ".html")).string(), index));
      }
      checked.push_back("unredacted original");
    }
    if (checked.empty()) return Bad("holds neither public/ nor original/", "DIR");
    // Signatures of this document, each checked against the log.
    std::vector<std::string> signatures;
    auto size = log_->Size();
    if (!size) return Fail(size.error());
    auto scanned = storage_->ForEachEntry(index + 1, *size, [&](const ledger::Entry& e) -> core::Result<void> {
      if (e.kind != "document-signature") return core::Ok();
      FL_ASSIGN_OR_RETURN(ledger::ProducedRecord sig, log_->Produce(e.index));
      if (auto s = documents::SignatureOf(sig.document, index, leaf_hash)) {
        signatures.push_back(fmt::format("signed by {} ({}) at {}, entry {}", s->value("signer", ""), s->value("role", ""),
                                         s->value("signed_at", ""), e.index));
      }
      return core::Ok();
    });
    if (!scanned) return Fail(scanned.error());
    if (f_.format == "json") {
      std::cout << json{{"ok", true}, {"index", index}, {"leaf_hash", leaf_hash}, {"checkpoint", *record->checkpoint},
                        {"checked", checked}, {"signatures", signatures}}.dump(2) << "\n";
    } else {
      std::cout << fmt::format("ok: {} of entry {} (leaf hash {}) match the log, in the signed checkpoint of {} entries\n",
                               core::Join(checked, " and "), index, leaf_hash, *record->checkpoint);
      for (const std::string& s : signatures) std::cout << "  " << s << "\n";
      if (signatures.empty()) std::cout << "  not signed yet\n";
    }
    return 0;
  }

 private:
  std::string name_;
  const DocumentFlags& f_;
  std::unique_ptr<ledger::Storage> storage_;
  std::unique_ptr<ledger::Log> log_;
};

}  // namespace

CommandRunner AddDocumentCommand(CLI::App& app) {
  auto flags = std::make_shared<DocumentFlags>();
  DocumentFlags& f = *flags;
  CLI::App* doc = app.add_subcommand("document", "the documents the statutes require, filled from the evidence log "
                                                 "(docs/documents.md)");
  doc->require_subcommand(0, 1);
  doc->add_option("kind", f.kind, "document kind (flopline document list)");
  doc->add_option("--model", f.model, "the model the document is for");
  doc->add_option("--store", f.store, "the evidence store: sqlite:PATH or postgres:CONNINFO");
  doc->add_option("--as-of", f.as_of, "the date the facts are taken at (default today, UTC)");
  doc->add_option("--fill", f.fill, "a TOML file with the text people write, the signatory and the redactions");
  doc->add_option("--out", f.out, "directory to write the document to");
  doc->add_flag("--file", f.file, "file it: append it to the log and write the original and the public copy");
  doc->add_flag("--fail-if-incomplete", f.fail_if_incomplete, "exit 1 when an element is missing or stale");
  doc->add_flag("--no-pdf", f.no_pdf, "write the HTML only");
  doc->add_option("--chromium", f.chromium, "the Chromium binary that prints the PDF (default chromium)");
  doc->add_option("--key", f.key, "the verifier key, a file holding it, or the signing key file (default for "
                                  "sqlite:PATH: PATH.key)");
  doc->add_option("--data-dir", f.data_dir, "directory of accelerators.toml, cloud-prices.toml and cpi.toml");
  doc->add_option("--regimes-dir", f.regimes_dir, "directory of regime files");
  doc->add_option("--documents-dir", f.documents_dir, "directory of document kinds (documents/*.toml)");
  doc->add_option("--format", f.format, "table or json")->check(CLI::IsMember({"table", "json"}));

  CLI::App* list = doc->add_subcommand("list", "the document kinds, with the clause requiring each");
  list->add_option("--documents-dir", f.documents_dir, "directory of document kinds");
  list->add_option("--format", f.format, "table or json")->check(CLI::IsMember({"table", "json"}));

  CLI::App* sign = doc->add_subcommand("sign", "record who signed a filed document, and when");
  sign->add_option("--store", f.store, "the evidence store")->required();
  sign->add_option("--index", f.index, "the ledger entry of the filed document")->required();
  sign->add_option("--signer", f.signer, "who signs")->required();
  sign->add_option("--role", f.role, "the signer's office, e.g. Chief Technology Officer")->required();
  sign->add_option("--at", f.at, "when it was signed (UTC; default now)");
  sign->add_option("--key", f.key, "the verifier key or signing key file");
  sign->add_option("--documents-dir", f.documents_dir, "directory of document kinds");
  sign->add_option("--format", f.format, "table or json")->check(CLI::IsMember({"table", "json"}));

  CLI::App* verify = doc->add_subcommand("verify", "check a filed document's copies against the log");
  verify->add_option("dir", f.dir, "the --out directory of `flopline document --file`")->required();
  verify->add_option("--store", f.store, "the evidence store")->required();
  verify->add_option("--key", f.key, "the verifier key or signing key file");
  verify->add_option("--format", f.format, "table or json")->check(CLI::IsMember({"table", "json"}));

  return [flags, list, sign, verify]() {
    if (list->parsed()) return DocumentCommand("document list", *flags).List();
    if (sign->parsed()) return DocumentCommand("document sign", *flags).Sign();
    if (verify->parsed()) return DocumentCommand("document verify", *flags).Verify();
    if (flags->kind.empty()) {
      return ReportError("document", "field 'KIND': give a document kind (flopline document list) or list, sign, verify");
    }
    return DocumentCommand("document", *flags).Build();
  };
}

}  // namespace flopline::cli
