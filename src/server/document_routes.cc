// The document routes (document_routes.h): thin adapters from HTTP to documents::Library and
// documents/filing.h; filing and signing append through the workspace (who did it is logged).
#include "flopline/server/document_routes.h"

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flopline/documents/filing.h"
#include "flopline/ledger/hash.h"
#include "flopline/ledger/records.h"
#include "flopline/store/open.h"
#include "responses.h"

namespace flopline::server {

using nlohmann::json;

struct DocumentService {
  documents::Library lib;
  std::unique_ptr<ledger::Storage> storage;
  std::unique_ptr<ledger::Log> log;
  std::string chromium;
  std::atomic<int> printing{0};
  std::mutex mu;  // guards the PDFs kept
  std::map<std::string, std::shared_ptr<const std::string>> pdfs;
  std::deque<std::string> pdf_order;
};

namespace {

constexpr int kMaxPrinting = 2;
constexpr std::size_t kPdfsKept = 32;
// Who may read a filed document's unredacted original: those who keep, sign and check it, and the
// regulator (to whom the law lets the public copy withhold nothing); not every engineer.
const std::vector<std::string> kOriginalReaders = {"developer-admin", "compliance-officer", "board", "auditor",
                                                   "regulator-readonly"};
const std::vector<std::string> kFilers = {"developer-admin", "compliance-officer"};
// A board member signs a document whose statute names its signer (the statement of compliance:
// "the chief technology officer, or a more senior corporate officer", §22603(f)(1)).
const std::vector<std::string> kSigners = {"developer-admin", "compliance-officer", "board"};

http::Response Problem(int status, const std::string& detail, const std::string& field, const http::Request& req) {
  return http::Problem(status, TitleOf(status), detail, field, req.path);
}

// An error of the documents layer, its field named as the API names it.
http::Response Refuse(core::Error e, const http::Request& req, const std::string& prefix = "") {
  static const std::map<std::string, std::string> kFields = {
      {"--model", "id"}, {"--index", "index"}, {"--pdf", "format"}, {"--signer", "signer"}};
  if (auto it = kFields.find(e.field); it != kFields.end()) e.field = it->second;
  if (!prefix.empty() && !e.field.empty()) e.field = prefix + e.field;
  return Fail(e, req);
}

std::string Query(const http::Request& req, const std::string& key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? std::string() : it->second;
}

core::Result<core::Date> AsOf(const std::string& text, const std::string& field) {
  if (text.empty()) {
    return core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())).date();
  }
  auto d = core::Date::Parse(text);
  if (!d) return core::InvalidArgument(d.error().message, field);
  return *d;
}

core::Result<std::uint64_t> IndexOf(const std::string& s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) {
    return core::InvalidArgument("must be a whole number", "index");
  }
  return std::stoull(s);
}

core::Result<std::string> Format(const http::Request& req, std::initializer_list<const char*> allowed) {
  std::string f = Query(req, "format");
  if (f.empty()) f = *allowed.begin();
  if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return f == a; })) {
    std::string list;
    for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    return core::InvalidArgument(fmt::format("'{}' is not one of: {}", f, list), "format");
  }
  return f;
}

const char* TextNeedName(documents::TextNeed t) {
  return t == documents::TextNeed::kRequired ? "required" : t == documents::TextNeed::kOptional ? "optional" : "none";
}

json Items(const std::vector<documents::CompletenessItem>& items) {
  json out = json::array();
  for (const auto& i : items) out.push_back({{"element", i.element}, {"heading", i.heading}, {"state", i.state}, {"why", i.why}});
  return out;
}

std::string Slug(std::string s) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
  }
  return s;
}

struct Routes {
  workspace::Workspace* ws;
  std::shared_ptr<DocumentService> svc;

  // An auditor's every read is logged (as the rest of the API does).
  std::optional<http::Response> LogRead(const http::Request& req) {
    if (!req.principal || req.principal->role != "auditor") return std::nullopt;
    if (auto r = ws->RecordAction(req.principal->name, "read", req.target); !r) return Refuse(r.error(), req);
    return std::nullopt;
  }

  // The page of a document as HTML (sandboxed: it runs nothing, loads nothing), or printed as PDF.
  http::Response Page(const http::Request& req, const std::string& html, const std::string& format,
                      const std::string& name, const std::string& keep_as) {
    if (format == "html") {
      http::Response r = http::Text(200, std::make_shared<const std::string>(html), "text/html; charset=utf-8");
      r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox");
      r.headers.emplace_back("Content-Disposition", fmt::format("inline; filename=\"{}.html\"", name));
      return r;
    }
    std::shared_ptr<const std::string> pdf;
    if (!keep_as.empty()) {
      std::lock_guard lock(svc->mu);
      if (auto it = svc->pdfs.find(keep_as); it != svc->pdfs.end()) pdf = it->second;
    }
    if (!pdf) {
      if (svc->printing.fetch_add(1) >= kMaxPrinting) {
        svc->printing.fetch_sub(1);
        http::Response r = Problem(503, "two PDFs are being printed: retry in a few seconds", "format", req);
        r.headers.emplace_back("Retry-After", "5");
        return r;
      }
      auto renderer = documents::MakeChromiumRenderer(svc->chromium, std::chrono::seconds(60));
      auto bytes = documents::PrintPdf(*renderer, html);
      svc->printing.fetch_sub(1);
      if (!bytes) return Refuse(bytes.error(), req);
      pdf = std::make_shared<const std::string>(std::move(*bytes));
      if (!keep_as.empty()) {
        std::lock_guard lock(svc->mu);
        if (svc->pdfs.emplace(keep_as, pdf).second) svc->pdf_order.push_back(keep_as);
        while (svc->pdf_order.size() > kPdfsKept) {
          svc->pdfs.erase(svc->pdf_order.front());
          svc->pdf_order.pop_front();
        }
      }
    }
    http::Response r = http::Text(200, pdf, "application/pdf");
    r.headers.emplace_back("Content-Disposition", fmt::format("attachment; filename=\"{}.pdf\"", name));
    return r;
  }

  // GET /api/v1/models/{id}/documents: every kind, its completeness from the record alone, and the
  // versions filed with their signatures.
  http::Response List(http::Request& req) {
    if (auto bad = OnlyQuery(req, {"as_of"})) return *bad;
    auto as_of = AsOf(Query(req, "as_of"), "as_of");
    if (!as_of) return Refuse(as_of.error(), req);
    if (auto refused = LogRead(req)) return *refused;
    const std::string& model = req.params["id"];
    auto ev = svc->lib.LoadEvidence(*svc->log, *svc->storage, model, *as_of);
    if (!ev) return Refuse(ev.error(), req);
    // The filed documents of this model and the signatures of each, from its records.
    std::map<std::uint64_t, json> signatures;
    for (const documents::LoggedRecord& r : ev->records) {
      if (r.kind != "document-signature" || !r.fields) continue;
      const json& s = *r.fields;
      if (!s.is_object() || !s.contains("document_index") || !s["document_index"].is_number_unsigned()) continue;
      signatures[s["document_index"].get<std::uint64_t>()].push_back(
          {{"index", r.index}, {"signer", s.value("signer", "")}, {"role", s.value("role", "")},
           {"signed_at", s.value("signed_at", "")}, {"document_leaf_hash", s.value("document_leaf_hash", "")}});
    }
    json kinds = json::array();
    for (const documents::DocumentKind& kind : svc->lib.kinds()) {
      auto draft = svc->lib.Build(*ev, kind, *as_of, nullptr);
      if (!draft) return Refuse(draft.error(), req);
      const json& doc = draft->document;
      json elements = json::array();
      for (const documents::Element& e : kind.elements) {
        const json& el = doc[std::string(documents::kElementPrefix) + e.id];
        elements.push_back({{"id", e.id}, {"heading", e.heading}, {"cite", e.cite}, {"law", e.law},
                            {"required", e.required}, {"text", TextNeedName(e.text)},
                            {"input", e.input == documents::InputShape::kList ? "list" : "text"},
                            {"redactable", e.redactable}, {"signatory", e.signatory},
                            {"state", el.value("state", "")}, {"why", el.value("why", "")},
                            {"facts", el.value("facts", json::array()).size()}});
      }
      json filed = json::array();
      for (const documents::LoggedRecord& r : ev->records) {
        if (r.kind != kind.record_kind || !r.fields || r.fields->value("document_kind", "") != kind.id) continue;
        const json& f = *r.fields;
        json sigs = json::array();
        for (const json& s : signatures[r.index]) {
          if (s["document_leaf_hash"] == r.leaf_hash) sigs.push_back(s);
        }
        filed.push_back({{"index", r.index}, {"leaf_hash", r.leaf_hash}, {"recorded_at", r.recorded_at.ToString()},
                         {"version", f.value("version", json())}, {"as_of", f.value("as_of", "")},
                         {"complete", f.contains("completeness") && f["completeness"].is_object()
                                          ? f["completeness"].value("complete", false)
                                          : false},
                         {"in_checkpoint", r.in_checkpoint}, {"signatures", sigs},
                         {"redacted", f.value("redactions", json::array()).size()}});
      }
      kinds.push_back({{"kind", kind.id}, {"title", kind.title}, {"regime", kind.regime},
                       {"required_by", kind.required_by}, {"summary", kind.summary}, {"record_kind", kind.record_kind},
                       {"status", doc["applies"]["status"]}, {"owed", doc["applies"]["owed"]},
                       {"applies_to", kind.applies_to}, {"due", kind.due}, {"signer", kind.signer},
                       {"signer_cite", kind.signer_cite}, {"redaction_grounds", kind.redaction_grounds},
                       {"redaction_cite", kind.redaction_cite}, {"describe_redactions", kind.describe_redactions},
                       {"next_version", draft->version}, {"complete", draft->incomplete.empty()},
                       {"incomplete", Items(draft->incomplete)}, {"elements", elements}, {"filed", filed}});
    }
    return Ok(200, {{"model", model}, {"as_of", as_of->ToString()}, {"log_size", ev->log_size},
                    {"warnings", ev->warnings}, {"documents", kinds}});
  }

  // GET /api/v1/models/{id}/documents/{kind}: the draft the record alone fills (JSON, HTML, PDF).
  http::Response Draft(http::Request& req) {
    if (auto bad = OnlyQuery(req, {"as_of", "format"})) return *bad;
    auto as_of = AsOf(Query(req, "as_of"), "as_of");
    if (!as_of) return Refuse(as_of.error(), req);
    auto format = Format(req, {"json", "html", "pdf"});
    if (!format) return Refuse(format.error(), req);
    const documents::DocumentKind* kind = svc->lib.Find(req.params["kind"]);
    if (kind == nullptr) return Problem(404, fmt::format("no document kind '{}'", req.params["kind"]), "kind", req);
    if (auto refused = LogRead(req)) return *refused;
    const std::string& model = req.params["id"];
    auto ev = svc->lib.LoadEvidence(*svc->log, *svc->storage, model, *as_of);
    if (!ev) return Refuse(ev.error(), req);
    auto draft = svc->lib.Build(*ev, *kind, *as_of, nullptr);
    if (!draft) return Refuse(draft.error(), req);
    if (*format == "json") {
      return Ok(200, {{"document", draft->document}, {"version", draft->version},
                      {"complete", draft->incomplete.empty()}, {"incomplete", Items(draft->incomplete)},
                      {"warnings", ev->warnings}});
    }
    return Page(req, documents::RenderHtml(draft->document, {}, documents::Header{}), *format,
                Slug(fmt::format("{}-{}-draft", kind->id, model)), "");
  }

  // POST /api/v1/models/{id}/documents/{kind}: file it {as_of?, fill?, fail_if_incomplete?}.
  http::Response File(http::Request& req) {
    json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return Problem(400, "expected a JSON object {as_of?, fill?, fail_if_incomplete?}", "body", req);
    }
    for (const auto& [key, value] : body.items()) {
      if (key != "as_of" && key != "fill" && key != "fail_if_incomplete") {
        return Problem(400, "is not a known field; expected as_of, fill, fail_if_incomplete", key, req);
      }
    }
    if (body.contains("as_of") && !body["as_of"].is_string()) return Problem(400, "expected YYYY-MM-DD", "as_of", req);
    auto as_of = AsOf(body.value("as_of", ""), "as_of");
    if (!as_of) return Refuse(as_of.error(), req);
    if (body.contains("fail_if_incomplete") && !body["fail_if_incomplete"].is_boolean()) {
      return Problem(400, "expected true or false", "fail_if_incomplete", req);
    }
    const documents::DocumentKind* kind = svc->lib.Find(req.params["kind"]);
    if (kind == nullptr) return Problem(404, fmt::format("no document kind '{}'", req.params["kind"]), "kind", req);
    std::optional<documents::Fill> fill;
    if (body.contains("fill")) {
      auto parsed = documents::FillFromJson(body["fill"], *kind);
      if (!parsed) return Refuse(parsed.error(), req, "fill.");
      fill = std::move(*parsed);
    }
    const std::string& model = req.params["id"];
    auto ev = svc->lib.LoadEvidence(*svc->log, *svc->storage, model, *as_of);
    if (!ev) return Refuse(ev.error(), req);
    auto draft = svc->lib.Build(*ev, *kind, *as_of, fill ? &*fill : nullptr);
    if (!draft) return Refuse(draft.error(), req, "fill.");
    if (auto r = documents::CheckFileable(*draft); !r) return Refuse(r.error(), req, "fill.");
    if (!draft->incomplete.empty() && body.value("fail_if_incomplete", false)) {
      return Problem(409, fmt::format("not filed: {} element(s) missing or stale", draft->incomplete.size()), "fill",
                     req);
    }
    json redactions = json::object();
    for (const auto& [field, ground] : documents::LedgerRedactions(draft->document)) redactions[field] = ground;
    json evidence = {{"kind", kind->record_kind}, {"model", model}, {"document", draft->document.dump()}};
    if (!redactions.empty()) evidence["redactions"] = redactions;
    auto appended = ws->AppendEvidence(evidence, req.principal->name);
    if (!appended) return Refuse(appended.error(), req);
    json out = *appended;
    out["document_kind"] = kind->id;
    out["version"] = draft->version;
    out["complete"] = draft->incomplete.empty();
    out["incomplete"] = Items(draft->incomplete);
    return Ok(201, out);
  }

  // GET /api/v1/documents/{index}/public and /original: a filed copy (HTML, PDF, JSON).
  http::Response Copy(http::Request& req, bool original) {
    if (auto bad = OnlyQuery(req, {"format"})) return *bad;
    auto format = Format(req, {"html", "pdf", "json"});
    if (!format) return Refuse(format.error(), req);
    auto index = IndexOf(req.params["index"]);
    if (!index) return Refuse(index.error(), req);
    if (auto refused = LogRead(req)) return *refused;
    auto filed = documents::OpenFiled(*svc->log, *svc->storage, *index, "index");
    if (!filed) return Refuse(filed.error(), req);
    if (*format == "json") {
      if (original) return Ok(200, {{"document", filed->fields}, {"openings", json::parse(filed->openings, nullptr, false)}});
      return Ok(200, json::parse(filed->disclosure, nullptr, false));
    }
    std::string copy = original ? "original" : "public";
    std::string name = Slug(fmt::format("{}-{}-v{}-{}", filed->document_kind, filed->record.leaf.model,
                                        filed->fields.value("version", json(1)).dump(), copy));
    return Page(req, original ? documents::OriginalHtml(*filed) : documents::PublicHtml(*filed), *format, name,
                fmt::format("{}/{}", *index, copy));
  }
  http::Response Public(http::Request& req) { return Copy(req, false); }
  http::Response Original(http::Request& req) { return Copy(req, true); }

  // The signatures of a filed document, from the model's signature records.
  core::Result<json> Signatures(const documents::Filed& filed) {
    json out = json::array();
    workspace::EvidenceQuery q;
    q.kind = "document-signature";
    q.model = filed.record.leaf.model;
    q.limit = 1000;
    for (;;) {
      FL_ASSIGN_OR_RETURN(workspace::Page page, ws->ListEvidence(q));
      for (const json& item : page.items) {
        std::uint64_t at = item["index"].get<std::uint64_t>();
        if (at <= filed.index) continue;
        FL_ASSIGN_OR_RETURN(ledger::ProducedRecord sig, svc->log->Produce(at));
        if (auto s = documents::SignatureOf(sig.document, filed.index, filed.leaf_hash)) {
          out.push_back({{"index", at}, {"signer", s->value("signer", "")}, {"role", s->value("role", "")},
                         {"signed_at", s->value("signed_at", "")},
                         {"signer_named_by_law", s->value("signer_named_by_law", "")}});
        }
      }
      if (!page.next_cursor) break;
      q.cursor = std::stoull(*page.next_cursor);
    }
    return out;
  }

  // GET /api/v1/documents/{index}/proof: what was checked, in words, and the proof itself.
  http::Response Proof(http::Request& req) {
    if (auto bad = OnlyQuery(req, {})) return *bad;
    auto index = IndexOf(req.params["index"]);
    if (!index) return Refuse(index.error(), req);
    if (auto refused = LogRead(req)) return *refused;
    auto filed = documents::OpenFiled(*svc->log, *svc->storage, *index, "index");
    if (!filed) return Refuse(filed.error(), req);
    const std::string& leaf = filed->record.entry.leaf;
    json checks = json::array();
    auto check = [&](const std::string& name, bool ok, const std::string& text) {
      checks.push_back({{"check", name}, {"ok", ok}, {"text", text}});
    };
    check("record", true,
          fmt::format("The record at entry {} hashes to its fingerprint, and the filed original opens every "
                      "commitment of it.", *index));
    auto disclosed = ledger::CheckDisclosure(leaf, filed->disclosure);
    check("public-copy", disclosed.has_value(),
          disclosed ? "The public copy's fields open the same record; what it withholds, the record itself names."
                    : "The public copy does not open the record: " + disclosed.error().message);
    auto opened = ledger::CheckOpening(leaf, filed->document, filed->openings);
    check("original", opened.has_value(),
          opened ? "The unredacted original opens the same record." : "The original does not open the record: " +
                                                                           opened.error().message);
    if (filed->record.checkpoint) {
      check("checkpoint", true,
            fmt::format("A signed checkpoint of {} entries includes it.", *filed->record.checkpoint));
    } else {
      check("checkpoint", false, "No signed checkpoint includes it yet: a compliance officer signs one.");
    }
    auto proof = ws->Proof(*index, filed->record.checkpoint);
    if (!proof) return Refuse(proof.error(), req);
    auto sigs = Signatures(*filed);
    if (!sigs) return Refuse(sigs.error(), req);
    const json& f = filed->fields;
    return Ok(200, {{"index", *index}, {"leaf_hash", filed->leaf_hash}, {"document_kind", filed->document_kind},
                    {"title", f.value("title", "")}, {"model", filed->record.leaf.model},
                    {"version", f.value("version", json())}, {"recorded_at", filed->record.leaf.recorded_at.ToString()},
                    {"checkpoint_size", filed->record.checkpoint ? json(*filed->record.checkpoint) : json(nullptr)},
                    {"verified", disclosed.has_value() && opened.has_value() && filed->record.checkpoint.has_value()},
                    {"checks", checks}, {"signatures", *sigs}, {"proof", *proof}});
  }

  // POST /api/v1/documents/{index}/signatures: {signer, role, signed_at?}.
  http::Response Sign(http::Request& req) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return Problem(400, "expected a JSON object {signer, role, signed_at?}", "body", req);
    }
    for (const auto& [key, value] : body.items()) {
      if (key != "signer" && key != "role" && key != "signed_at") {
        return Problem(400, "is not a known field; expected signer, role, signed_at", key, req);
      }
    }
    for (const char* key : {"signer", "role"}) {
      if (!body.contains(key) || !body[key].is_string() ||
          body[key].get<std::string>().find_first_not_of(" \t") == std::string::npos) {
        return Problem(400, "is required: a name", key, req);
      }
    }
    core::Instant at(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    if (body.contains("signed_at")) {
      auto parsed = body["signed_at"].is_string() ? core::Instant::Parse(body["signed_at"].get<std::string>())
                                                   : core::Result<core::Instant>(core::InvalidArgument("expected an instant"));
      if (!parsed) return Problem(400, "expected YYYY-MM-DDTHH:MM:SSZ", "signed_at", req);
      if (*parsed > at + ledger::kClockSkew) return Problem(400, "lies in the future", "signed_at", req);
      at = *parsed;
    }
    auto index = IndexOf(req.params["index"]);
    if (!index) return Refuse(index.error(), req);
    auto filed = documents::OpenFiled(*svc->log, *svc->storage, *index, "index");
    if (!filed) return Refuse(filed.error(), req);
    const documents::DocumentKind* kind = svc->lib.Find(filed->document_kind);
    if (req.principal->role == "board" && (kind == nullptr || kind->signer.empty())) {
      return Problem(403, "the statute names no signer for this document: a board member signs only a document whose "
                          "statute names who signs",
                     "role", req);
    }
    auto signature = documents::SignatureDocument(*filed, svc->lib.kinds(), body["signer"].get<std::string>(),
                                                  body["role"].get<std::string>(), at);
    if (!signature) return Refuse(signature.error(), req);
    auto appended = ws->AppendEvidence({{"kind", "document-signature"}, {"model", filed->record.leaf.model},
                                        {"document", signature->dump(2)}},
                                       req.principal->name);
    if (!appended) return Refuse(appended.error(), req);
    json out = *appended;
    out["signed"] = *index;
    out["signature"] = *signature;
    return Ok(201, out);
  }
};

}  // namespace

core::Result<std::shared_ptr<DocumentService>> OpenDocumentService(const DocumentOptions& options) {
  auto svc = std::make_shared<DocumentService>();
  FL_ASSIGN_OR_RETURN(svc->lib, documents::Library::Load(options.documents_dir, options.regimes_dir, options.data_dir));
  FL_ASSIGN_OR_RETURN(svc->storage, store::Open(options.store));
  svc->log = std::make_unique<ledger::Log>(*svc->storage);
  FL_RETURN_IF_ERROR(svc->log->PinKey(options.verifier_key));
  svc->chromium = options.chromium;
  return svc;
}

std::vector<http::Route> DocumentRoutes(workspace::Workspace* ws, std::shared_ptr<DocumentService> service) {
  auto routes = std::make_shared<Routes>(Routes{ws, std::move(service)});
  const std::vector<std::string>& everyone = workspace::kRoles;
  auto handler = [routes](http::Response (Routes::*f)(http::Request&)) {
    return [routes, f](http::Request& req) {
      if (!routes->svc || !routes->ws) return Problem(503, "this server was started without its documents", "", req);
      return ((*routes).*f)(req);
    };
  };
  return {
      {"GET", "/api/v1/models/{id}/documents", everyone, false, true,
       "the documents the statutes ask of the model: each kind with its completeness from the record (what is "
       "missing or stale, element by element), the versions filed and their signatures; as_of",
       handler(&Routes::List), {}, 1000},
      {"GET", "/api/v1/models/{id}/documents/{kind}", everyone, false, true,
       "a draft of one kind filled from the record (format json, html or pdf); as_of", handler(&Routes::Draft), {}, 1000},
      {"POST", "/api/v1/models/{id}/documents/{kind}", kFilers, false, true,
       "file the document {as_of?, fill?: {signatory?, elements?, redact?}, fail_if_incomplete?}: the record appended "
       "(each element a committed field, the fill's redactions the record's), with who filed it",
       handler(&Routes::File), {}, 1000},
      {"GET", "/api/v1/documents/{index}/public", everyone, false, true,
       "a filed document's public copy: what the law lets be withheld is, and the copy says why (format html, pdf "
       "or json: the disclosure)",
       handler(&Routes::Public), {}, 1000},
      {"GET", "/api/v1/documents/{index}/original", kOriginalReaders, false, true,
       "a filed document's unredacted original (format html, pdf or json: the document and its salts)",
       handler(&Routes::Original), {}, 1000},
      {"GET", "/api/v1/documents/{index}/proof", everyone, false, true,
       "a filed document checked: the record, its public copy and its original against the leaf, the signed "
       "checkpoint; the inclusion proof and the signatures",
       handler(&Routes::Proof), {}, 1000},
      {"POST", "/api/v1/documents/{index}/signatures", kSigners, false, true,
       "record who signed a filed document and when {signer, role, signed_at?} (a board member: only a document "
       "whose statute names its signer)",
       handler(&Routes::Sign), {}, 1000},
  };
}

}  // namespace flopline::server
