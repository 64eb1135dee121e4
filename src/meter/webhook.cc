// The alert webhook, through libcurl (webhook.h).
#include "flopline/meter/webhook.h"

#include <curl/curl.h>

#include <fmt/format.h>

namespace flopline::meter {
namespace {

std::size_t Discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

}  // namespace

core::Result<void> PostJson(const std::string& url, const std::string& body, long timeout_ms) {
  CURL* curl = curl_easy_init();
  if (!curl) return core::MakeError(core::Code::kUnavailable, "libcurl could not start", "--webhook");
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return core::MakeError(core::Code::kUnavailable, fmt::format("webhook {}: {}", url, curl_easy_strerror(rc)),
                           "--webhook");
  }
  if (status < 200 || status >= 300) {
    return core::MakeError(core::Code::kUnavailable, fmt::format("webhook {} answered HTTP {}", url, status),
                           "--webhook");
  }
  return core::Ok();
}

}  // namespace flopline::meter
