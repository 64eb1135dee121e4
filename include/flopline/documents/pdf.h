// File: flopline/documents/pdf.h
//
// PDF from the canonical HTML, behind an interface so another renderer can replace the default:
// Debian's headless Chromium printing the page (`chromium --headless --print-to-pdf`), which honours
// the HTML's @page rules (running header, page numbers) with its own header and footer turned off.
//
// Thread safety: a renderer may be used from one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "flopline/core/result.h"

namespace flopline::documents {

class PdfRenderer {
 public:
  virtual ~PdfRenderer() = default;
  // Writes `pdf_path` from the HTML file `html_path`. kUnavailable when the renderer cannot run or
  // does not produce a PDF in time; the PDF is then absent (never a partial file).
  virtual core::Result<void> Render(const std::string& html_path, const std::string& pdf_path) = 0;
};

// `binary`: the Chromium executable (default "chromium", found on PATH). Each render uses a fresh
// profile directory, removed afterwards, and is killed after `timeout`.
std::unique_ptr<PdfRenderer> MakeChromiumRenderer(std::string binary = "chromium",
                                                  std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace flopline::documents
