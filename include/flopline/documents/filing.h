// File: flopline/documents/filing.h
//
// The document operations both front ends use (`flopline document` and the workspace server's
// document routes), over an evidence log: the law and the tables loaded once (Library), a model's
// evidence read once and each kind built from it (Draft), what a record needs before it is filed,
// a filed document opened again from the log with its public copy and its unredacted original
// (Filed), the signature record of a filed document, and a PDF printed from HTML held in memory.
//
//   FL_ASSIGN_OR_RETURN(Library lib, Library::Load("documents", "regimes", "data"));
//   FL_ASSIGN_OR_RETURN(Evidence ev, lib.LoadEvidence(log, storage, "acme-f1", as_of));
//   FL_ASSIGN_OR_RETURN(Draft draft, lib.Build(ev, *lib.Find("sb1047-statement-of-compliance"), as_of, &fill));
//
// Thread safety: a Library is immutable once loaded; its methods may be called from any thread
// (the Log and Storage given must allow it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/compute/accelerators.h"
#include "flopline/compute/prices.h"
#include "flopline/core/date.h"
#include "flopline/core/instant.h"
#include "flopline/core/result.h"
#include "flopline/documents/document.h"
#include "flopline/documents/facts.h"
#include "flopline/documents/fill.h"
#include "flopline/documents/kinds.h"
#include "flopline/documents/pdf.h"
#include "flopline/ledger/log.h"
#include "flopline/rules/engine.h"

namespace flopline::documents {

// A document built from the evidence: not yet filed.
struct Draft {
  const DocumentKind* kind = nullptr;
  nlohmann::json document;                  // the record it would file (document.h)
  std::vector<CompletenessItem> incomplete;  // empty: complete
  std::uint64_t version = 1;                // the nth of this kind for this model
};

class Library {
 public:
  // The kinds (documents/*.toml) checked against the regimes, the engine, and the data tables.
  // Errors name the file, line and field of the first bad input.
  static core::Result<Library> Load(const std::string& documents_dir, const std::string& regimes_dir,
                                    const std::string& data_dir);

  const std::vector<DocumentKind>& kinds() const { return *kinds_; }
  const DocumentKind* Find(std::string_view id) const { return FindKind(*kinds_, id); }
  const rules::Engine& engine() const { return *engine_; }

  // LoadEvidence (facts.h) with this library's tables.
  core::Result<Evidence> LoadEvidence(ledger::Log& log, ledger::Storage& storage, const std::string& model,
                                      core::Date as_of) const;
  // The kind built from the evidence as of `as_of`, with what people wrote (`fill`, or nothing).
  core::Result<Draft> Build(const Evidence& evidence, const DocumentKind& kind, core::Date as_of,
                            const Fill* fill) const;

 private:
  std::shared_ptr<const std::vector<DocumentKind>> kinds_;
  std::shared_ptr<const rules::Engine> engine_;
  std::shared_ptr<const compute::AcceleratorTable> accelerators_;
  std::shared_ptr<const compute::PriceTable> prices_;
};

// What the record needs before it is appended: every field its record kind requires (the
// statement of compliance names its signer and role). kInvalidArgument naming "signatory".
core::Result<void> CheckFileable(const Draft& draft);

// The ledger record that files a draft: the kind's record kind, the model, the document's bytes,
// and the fill's redactions as the record's.
ledger::RecordInput FilingRecord(const Draft& draft, const std::string& model, core::Instant at);

// A filed document, opened again from the log: its record checked (leaf hash, inclusion in the
// signed checkpoint that covers it, document opening its commitments), its unredacted original,
// its salts, and its public disclosure.
struct Filed {
  ledger::ProducedRecord record;
  std::uint64_t index = 0;
  std::string leaf_hash;       // base64
  std::string document;        // the original's bytes
  nlohmann::json fields;       // the original, parsed
  std::string openings;        // the salts (private)
  std::string disclosure;      // the public copy's disclosure (ledger::PublicDisclosure)
  std::string document_kind;   // the kind id the document names
};

// kInvalidArgument naming `field` when the entry is not a document `flopline document` filed (or
// was purged); kDataLoss when it fails its checks.
core::Result<Filed> OpenFiled(ledger::Log& log, ledger::Storage& storage, std::uint64_t index,
                              const std::string& field);

// The public copy's HTML, from what a public disclosure shows: the disclosed fields and the
// redactions the leaf states. Rendering it again checks a copy (`document verify`).
std::string PublicHtml(const std::string& disclosure_text, const std::string& leaf_text, const Header& header);
// The two copies of a filed document.
std::string PublicHtml(const Filed& filed);
std::string OriginalHtml(const Filed& filed);

// The signature of a filed document: who signed, in what role, when, and who the statute says
// signs. kInvalidArgument naming "signer" when the document names another signatory, "index" when
// its kind is not among `kinds`.
core::Result<nlohmann::json> SignatureDocument(const Filed& filed, const std::vector<DocumentKind>& kinds,
                                               const std::string& signer, const std::string& role,
                                               core::Instant at);
// A `document-signature` record's document, when it signs the document at `index` with
// `leaf_hash`; nullopt otherwise.
std::optional<nlohmann::json> SignatureOf(const std::optional<std::string>& document, std::uint64_t index,
                                          const std::string& leaf_hash);

// The PDF of `html` printed by `renderer` through a private temporary folder (removed after):
// the PDF's bytes, or kUnavailable as the renderer says.
core::Result<std::string> PrintPdf(PdfRenderer& renderer, const std::string& html);

}  // namespace flopline::documents
