// File: flopline/meter/webhook.h
//
// Posts an alert's JSON to a webhook (Slack, PagerDuty, a team's own receiver) with libcurl:
// `Content-Type: application/json`, a bounded time, no redirects followed. A failure is returned,
// never thrown; the meter reports it and goes on (the alert is in stdout and the ledger anyway).
#pragma once

#include <string>

#include "flopline/core/result.h"

namespace flopline::meter {

// kUnavailable naming the URL when the request cannot be made or the answer is not 2xx.
core::Result<void> PostJson(const std::string& url, const std::string& body, long timeout_ms = 5000);

}  // namespace flopline::meter
