// The answers every route handler gives (responses.h).
#include "responses.h"

#include <algorithm>

namespace flopline::server {

const char* TitleOf(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 415: return "Unsupported Media Type";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

int StatusOf(core::Code code) {
  switch (code) {
    case core::Code::kInvalidArgument: return 400;
    case core::Code::kNotFound: return 404;
    case core::Code::kAlreadyExists:
    case core::Code::kFailedPrecondition:
    case core::Code::kAborted: return 409;
    case core::Code::kUnavailable: return 503;
    case core::Code::kDataLoss:
    case core::Code::kInternal: return 500;
  }
  return 500;
}

http::Response Fail(const core::Error& e, const http::Request& req) {
  int status = StatusOf(e.code);
  return http::Problem(status, TitleOf(status), e.message, e.field, req.path);
}

http::Response Bad(const std::string& field, const std::string& detail, const http::Request& req) {
  return http::Problem(400, "Bad Request", detail, field, req.path);
}

http::Response Ok(int status, const nlohmann::json& j) {
  return http::Json(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::optional<http::Response> OnlyQuery(const http::Request& req, std::initializer_list<const char*> keys) {
  for (const auto& entry : req.query) {
    const std::string& key = entry.first;  // not a structured binding: clang 14 cannot capture one
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; })) {
      return Bad(key, "is not a known query parameter", req);
    }
  }
  return std::nullopt;
}

}  // namespace flopline::server
