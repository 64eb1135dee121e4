// File: flopline/server/document_routes.h
//
// The routes of the documents the statutes require (docs/api.md, docs/documents.md), part of the
// workspace API's one route table (api.h ApiRoutes): a model's document kinds with their
// completeness, a draft (JSON, HTML, PDF), filing one (the record appended through the workspace,
// with who filed it), the public copy and the unredacted original of a filed one (HTML, PDF, JSON),
// its proof (the record's checks, its public disclosure and original against the leaf, the
// inclusion proof against the signed checkpoint, its signatures), and signing it. Each handler is a
// thin adapter over documents::Library and documents/filing.h, the same operations as `flopline
// document`.
//
// PDFs are printed by headless Chromium on the worker pool, at most two at once (a third request is
// answered 503 with Retry-After), each killed after 60 s; those of filed copies (immutable) are kept.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/http/server.h"
#include "flopline/workspace/workspace.h"

namespace flopline::server {

struct DocumentOptions {
  std::string store;          // the workspace's store (read through a connection of its own)
  std::string verifier_key;   // the log's key, pinned
  std::string documents_dir, regimes_dir, data_dir;
  std::string chromium = "chromium";
};

struct DocumentService;  // document_routes.cc

core::Result<std::shared_ptr<DocumentService>> OpenDocumentService(const DocumentOptions& options);

// The routes; `ws` and `service` may be null for the documented table (handlers never called).
std::vector<http::Route> DocumentRoutes(workspace::Workspace* ws, std::shared_ptr<DocumentService> service);

}  // namespace flopline::server
