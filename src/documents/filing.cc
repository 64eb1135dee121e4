// The document operations both front ends use (filing.h).
#include "flopline/documents/filing.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "flopline/ledger/hash.h"
#include "flopline/ledger/records.h"
#include "flopline/rules/regime.h"

namespace flopline::documents {

namespace fs = std::filesystem;
using nlohmann::json;

core::Result<Library> Library::Load(const std::string& documents_dir, const std::string& regimes_dir,
                                    const std::string& data_dir) {
  Library lib;
  FL_ASSIGN_OR_RETURN(std::vector<DocumentKind> kinds, LoadKindDir(documents_dir));
  FL_ASSIGN_OR_RETURN(std::vector<rules::Regime> regimes, rules::LoadRegimeDir(regimes_dir));
  FL_RETURN_IF_ERROR(CheckAgainstRegimes(kinds, regimes));
  FL_ASSIGN_OR_RETURN(std::vector<rules::CpiSeries> cpi, rules::LoadCpi(data_dir + "/cpi.toml"));
  FL_ASSIGN_OR_RETURN(compute::AcceleratorTable accelerators,
                      compute::AcceleratorTable::Load(data_dir + "/accelerators.toml"));
  FL_ASSIGN_OR_RETURN(compute::PriceTable prices, compute::PriceTable::Load(data_dir + "/cloud-prices.toml"));
  lib.kinds_ = std::make_shared<const std::vector<DocumentKind>>(std::move(kinds));
  lib.engine_ = std::make_shared<const rules::Engine>(std::move(regimes), std::move(cpi));
  lib.accelerators_ = std::make_shared<const compute::AcceleratorTable>(std::move(accelerators));
  lib.prices_ = std::make_shared<const compute::PriceTable>(std::move(prices));
  return lib;
}

core::Result<Evidence> Library::LoadEvidence(ledger::Log& log, ledger::Storage& storage, const std::string& model,
                                             core::Date as_of) const {
  return documents::LoadEvidence(log, storage, model, as_of, *accelerators_, *prices_);
}

core::Result<Draft> Library::Build(const Evidence& evidence, const DocumentKind& kind, core::Date as_of,
                                   const Fill* fill) const {
  Draft draft;
  draft.kind = &kind;
  FL_ASSIGN_OR_RETURN(FactSet facts, GatherFacts(evidence, *engine_, kind, as_of));
  for (const LoggedRecord& r : evidence.records) {
    if (r.kind == kind.record_kind && r.fields && r.fields->value("document_kind", "") == kind.id) ++draft.version;
  }
  FL_ASSIGN_OR_RETURN(draft.document, BuildDocument({kind, facts, evidence, as_of, fill, draft.version}));
  draft.incomplete = Incomplete(draft.document);
  return draft;
}

core::Result<void> CheckFileable(const Draft& draft) {
  const DocumentKind& kind = *draft.kind;
  const ledger::RecordKind* record = ledger::FindRecordKind(kind.record_kind);
  if (record == nullptr) {
    return core::MakeError(core::Code::kInternal, fmt::format("no ledger record kind '{}'", kind.record_kind));
  }
  for (std::string_view field : record->required_fields) {
    if (!draft.document.contains(std::string(field))) {
      return core::InvalidArgument(
          fmt::format("a {} record needs its '{}': name the signatory (name and role) ({})", kind.record_kind, field,
                      kind.signer_cite.empty() ? record->serves : kind.signer_cite),
          "signatory");
    }
  }
  return core::Ok();
}

ledger::RecordInput FilingRecord(const Draft& draft, const std::string& model, core::Instant at) {
  return ledger::RecordInput{draft.kind->record_kind, model, draft.document.dump(), at, LedgerRedactions(draft.document)};
}

core::Result<Filed> OpenFiled(ledger::Log& log, ledger::Storage& storage, std::uint64_t index, const std::string& field) {
  FL_ASSIGN_OR_RETURN(std::uint64_t size, log.Size());
  if (index >= size) return core::NotFound(fmt::format("the log has {} entries", size), field);
  Filed f;
  FL_ASSIGN_OR_RETURN(f.record, log.Produce(index));
  f.index = index;
  f.leaf_hash = ledger::Base64(f.record.entry.leaf_hash);
  if (!f.record.document) {
    return core::InvalidArgument(fmt::format("entry {} was purged: its document is gone", index), field);
  }
  f.document = *f.record.document;
  f.fields = json::parse(f.document, nullptr, /*allow_exceptions=*/false);
  if (!f.fields.is_object() || !f.fields["document_kind"].is_string()) {
    return core::InvalidArgument(fmt::format("entry {} is not a document filed by `flopline document`", index), field);
  }
  f.document_kind = f.fields["document_kind"].get<std::string>();
  FL_ASSIGN_OR_RETURN(ledger::Entry entry, storage.GetEntry(index));
  f.openings = entry.openings;
  FL_ASSIGN_OR_RETURN(f.disclosure, ledger::PublicDisclosure(f.record.entry.leaf, f.document, f.openings));
  return f;
}

std::string PublicHtml(const std::string& disclosure_text, const std::string& leaf_text, const Header& header) {
  json disclosure = json::parse(disclosure_text, nullptr, false);
  json leaf = json::parse(leaf_text, nullptr, false);
  json fields = json::object();
  if (disclosure.is_object() && disclosure["fields"].is_object()) {
    for (const auto& [name, opened] : disclosure["fields"].items()) {
      if (opened.is_object() && opened.contains("value")) fields[name] = opened["value"];
    }
  }
  std::map<std::string, std::string> redacted;
  if (leaf.is_object() && leaf.contains("redactions") && leaf["redactions"].is_object()) {
    for (const auto& [name, ground] : leaf["redactions"].items()) {
      if (ground.is_string()) redacted[name] = ground.get<std::string>();
    }
  }
  return RenderHtml(fields, redacted, header);
}

std::string PublicHtml(const Filed& filed) {
  return PublicHtml(filed.disclosure, filed.record.entry.leaf, Header{true, filed.index, filed.leaf_hash, true});
}

std::string OriginalHtml(const Filed& filed) {
  return RenderHtml(filed.fields, {}, Header{true, filed.index, filed.leaf_hash, false});
}

core::Result<json> SignatureDocument(const Filed& filed, const std::vector<DocumentKind>& kinds,
                                     const std::string& signer, const std::string& role, core::Instant at) {
  const DocumentKind* kind = FindKind(kinds, filed.document_kind);
  if (kind == nullptr) return core::InvalidArgument("the filed document's kind is not among documents/*.toml", "index");
  if (filed.fields.contains("signer") && filed.fields["signer"].is_string() &&
      filed.fields["signer"].get<std::string>() != signer) {
    return core::InvalidArgument(
        fmt::format("the document names '{}' as its signer", filed.fields["signer"].get<std::string>()), "signer");
  }
  json signature = {{"document_index", filed.index}, {"document_leaf_hash", filed.leaf_hash},
                    {"document_kind", kind->id},     {"signer", signer},
                    {"role", role},                  {"signed_at", at.ToString()}};
  if (!kind->signer.empty()) signature["signer_named_by_law"] = fmt::format("{} ({})", kind->signer, kind->signer_cite);
  return signature;
}

std::optional<json> SignatureOf(const std::optional<std::string>& document, std::uint64_t index,
                                const std::string& leaf_hash) {
  if (!document) return std::nullopt;
  json s = json::parse(*document, nullptr, false);
  if (s.is_object() && s["document_index"] == index && s["document_leaf_hash"] == leaf_hash) return s;
  return std::nullopt;
}

core::Result<std::string> PrintPdf(PdfRenderer& renderer, const std::string& html) {
  std::string pattern = (fs::temp_directory_path() / "flopline-document-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return core::MakeError(core::Code::kUnavailable, "cannot create a temporary folder for the PDF");
  }
  fs::path dir(pattern);
  std::error_code ec;
  auto done = [&](core::Result<std::string> r) {
    fs::remove_all(dir, ec);
    return r;
  };
  {
    std::ofstream out(dir / "document.html", std::ios::binary);
    out << html;
    if (!out) return done(core::MakeError(core::Code::kUnavailable, "cannot write the HTML to print"));
  }
  if (auto r = renderer.Render((dir / "document.html").string(), (dir / "document.pdf").string()); !r) {
    return done(tl::unexpected(r.error()));
  }
  std::ifstream in(dir / "document.pdf", std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return done(bytes.str());
}

}  // namespace flopline::documents
