// File: server/responses.h (private to src/server)
//
// What every route handler of the server module answers with (api.cc, document_routes.cc): RFC 9457
// problem documents naming the field, an error's code as an HTTP status, JSON bodies, and the refusal
// of a query parameter a route does not read.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "flopline/core/result.h"
#include "flopline/http/server.h"

namespace flopline::server {

// The status an error's code is answered with: kInvalidArgument 400, kNotFound 404, kAlreadyExists,
// kFailedPrecondition and kAborted 409, kUnavailable 503, others 500.
int StatusOf(core::Code code);
// The status's reason phrase, the problem document's title.
const char* TitleOf(int status);

// A problem document of the error's status naming its field.
http::Response Fail(const core::Error& e, const http::Request& req);
// 400 naming `field`.
http::Response Bad(const std::string& field, const std::string& detail, const http::Request& req);
// A JSON answer (invalid UTF-8 replaced, never thrown on).
http::Response Ok(int status, const nlohmann::json& j);
// A 400 naming the first query parameter not among `keys`, or nothing.
std::optional<http::Response> OnlyQuery(const http::Request& req, std::initializer_list<const char*> keys);

}  // namespace flopline::server
