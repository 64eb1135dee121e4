// The route table rendered as an OpenAPI 3.1 document and as the markdown table of docs/api.md.
#include <fmt/format.h>

#include "flopline/server/api.h"

namespace flopline::server {

using nlohmann::json;

namespace {

json Schemas() {
  json number_or_null = {{"type", json::array({"number", "null"})}};
  json stage = {{"type", "object"},
                {"additionalProperties", false},
                {"required", json::array({"kind", "start", "flop"})},
                {"properties",
                 {{"kind", {{"type", "string"}, {"enum", json::array({"pretrain", "fine-tune", "rl", "synthetic-data", "other"})}}},
                  {"start", {{"type", "string"}, {"format", "date"}}},
                  {"flop", {{"type", "number"}, {"exclusiveMinimum", 0}}},
                  {"flop_low", {{"type", "number"}}},
                  {"flop_high", {{"type", "number"}}},
                  {"flop_method", {{"type", "string"}}},
                  {"cost_usd", number_or_null},
                  {"cost_source", {{"type", "string"}}}}}};
  json model = {{"type", "object"},
                {"additionalProperties", false},
                {"required", json::array({"id", "developer"})},
                {"properties",
                 {{"id", {{"type", "string"}}},
                  {"developer", {{"type", "string"}}},
                  {"developer_revenue_usd", number_or_null},
                  {"foundation_model", {{"type", "boolean"}}},
                  {"base", {{"type", "string"}}},
                  {"derivation", {{"type", "string"}}},
                  {"open_source", {{"type", "boolean"}}},
                  {"eu_established", {{"type", json::array({"boolean", "null"})}}},
                  {"developer_turnover_eur", number_or_null},
                  {"costs", {{"type", "object"}, {"additionalProperties", {{"type", "number"}}}}},
                  {"training", {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/TrainingStage"}}}}}}}};
  json event = {{"type", "object"},
                {"additionalProperties", false},
                {"required", json::array({"model", "kind", "at"})},
                {"properties",
                 {{"model", {{"type", "string"}}},
                  {"kind", {{"type", "string"}}},
                  {"at", {{"type", "string"}, {"format", "date-time"}}}}}};
  json evidence = {{"type", "object"},
                   {"additionalProperties", false},
                   {"required", json::array({"kind", "document"})},
                   {"properties",
                    {{"kind", {{"type", "string"}}},
                     {"model", {{"type", "string"}}},
                     {"document", {{"type", json::array({"object", "string"})}}},
                     {"redactions", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}}}}};
  json login = {{"type", "object"},
                {"additionalProperties", false},
                {"required", json::array({"name", "password"})},
                {"properties", {{"name", {{"type", "string"}}}, {"password", {{"type", "string"}}}}}};
  json fill = {{"type", "object"},
              {"additionalProperties", false},
              {"description", "what people write (docs/documents.md, the fill file as JSON)"},
              {"properties",
               {{"kind", {{"type", "string"}}},
                {"signatory", {{"type", "object"}, {"properties", {{"name", {{"type", "string"}}}, {"role", {{"type", "string"}}}}}}},
                {"elements", {{"type", "object"}, {"additionalProperties", {{"type", json::array({"string", "array"})}}}}},
                {"redact", {{"type", "object"}, {"additionalProperties", {{"type", "object"}, {"properties", {{"ground", {{"type", "string"}}}, {"why", {{"type", "string"}}}}}}}}}}}};
  json filing = {{"type", "object"},
                 {"additionalProperties", false},
                 {"properties",
                  {{"as_of", {{"type", "string"}, {"format", "date"}}},
                   {"fill", fill},
                   {"fail_if_incomplete", {{"type", "boolean"}}}}}};
  json signature = {{"type", "object"},
                    {"additionalProperties", false},
                    {"required", json::array({"signer", "role"})},
                    {"properties",
                     {{"signer", {{"type", "string"}}},
                      {"role", {{"type", "string"}}},
                      {"signed_at", {{"type", "string"}, {"format", "date-time"}}}}}};
  json field_error = {{"type", "object"},
                      {"properties", {{"field", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}};
  json problem = {{"type", "object"},
                  {"required", json::array({"type", "title", "status"})},
                  {"properties",
                   {{"type", {{"type", "string"}}},
                    {"title", {{"type", "string"}}},
                    {"status", {{"type", "integer"}}},
                    {"detail", {{"type", "string"}}},
                    {"instance", {{"type", "string"}}},
                    {"errors", {{"type", "array"}, {"items", field_error}}}}}};
  json page = {{"type", "object"},
               {"properties",
                {{"items", {{"type", "array"}}}, {"next_cursor", {{"type", json::array({"string", "null"})}}}}}};
  return {{"TrainingStage", stage}, {"Model", model},       {"Event", event}, {"Evidence", evidence},
          {"Login", login},         {"Problem", problem}, {"Page", page},   {"DocumentFiling", filing},
          {"DocumentSignature", signature}};
}

json Parameter(const std::string& name, const std::string& in, const std::string& description) {
  return {{"name", name}, {"in", in}, {"required", in == "path"}, {"schema", {{"type", "string"}}},
          {"description", description}};
}

// The query parameters each path reads (the handlers refuse any other).
std::vector<json> QueryParameters(const std::string& method, const std::string& pattern) {
  std::vector<json> out;
  auto add = [&](const char* name, const char* description) { out.push_back(Parameter(name, "query", description)); };
  if (method != "GET") return out;
  if (pattern == "/api/v1/models") {
    add("regime", "a regime id: only models with a determination under it (with status: in that status)");
    add("status", "a regime status, or 'covered'");
    add("search", "a substring of the id or the developer");
    add("derived_from", "a model id: only the models whose lineage passes through it (its derivatives)");
  }
  if (pattern == "/api/v1/obligations") {
    add("regime", "a regime id: only its obligations");
    add("model", "a model id: only its obligations");
    add("search", "a substring of the model id");
    add("versions", "all (default), or current: no superseded version of a statute (an id with '@')");
  }
  if (pattern == "/api/v1/models" || pattern == "/api/v1/obligations" || pattern.ends_with("/determination")) {
    add("as_of", "YYYY-MM-DD (default: today, UTC)");
  }
  if (pattern == "/api/v1/events") add("model", "only this model's events");
  if (pattern == "/api/v1/evidence") {
    add("kind", "only records of this kind");
    add("model", "only records of this model");
  }
  if (pattern == "/api/v1/models" || pattern == "/api/v1/events" || pattern == "/api/v1/evidence" ||
      pattern == "/api/v1/obligations") {
    add("limit", "1 to 1000 (default 100)");
    add("cursor", "next_cursor of the previous page");
  }
  if (pattern == "/api/v1/evidence/{index}/proof") {
    add("tree_size", "the tree size to prove against (default: the current size)");
  }
  // The document routes (document_routes.cc).
  if (pattern.starts_with("/api/v1/models/{id}/documents")) add("as_of", "YYYY-MM-DD: the facts as of this date (default: today, UTC)");
  if (pattern == "/api/v1/models/{id}/documents/{kind}") add("format", "json (default), html or pdf");
  if (pattern.ends_with("/public") || pattern.ends_with("/original")) add("format", "html (default), pdf or json");
  return out;
}

std::string BodySchema(const std::string& method, const std::string& pattern) {
  if (method == "POST" && pattern == "/api/v1/models") return "Model";
  if (method == "PUT") return "Model";
  if (method == "POST" && pattern == "/api/v1/events") return "Event";
  if (method == "POST" && pattern == "/api/v1/evidence") return "Evidence";
  if (method == "POST" && pattern == "/api/v1/session") return "Login";
  if (method == "POST" && pattern == "/api/v1/models/{id}/documents/{kind}") return "DocumentFiling";
  if (method == "POST" && pattern == "/api/v1/documents/{index}/signatures") return "DocumentSignature";
  return "";
}

}  // namespace

json OpenApi(const std::vector<http::Route>& routes) {
  json paths = json::object();
  json problem_content = {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}};
  for (const http::Route& r : routes) {
    std::string method = r.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    json op = {{"summary", r.summary}, {"x-roles", r.open ? json::array({"anyone"}) : json(r.roles)}};
    json parameters = json::array();
    std::size_t at = 0;
    while ((at = r.pattern.find('{', at)) != std::string::npos) {
      std::size_t end = r.pattern.find('}', at);
      parameters.push_back(Parameter(r.pattern.substr(at + 1, end - at - 1), "path", "the resource's identifier"));
      at = end;
    }
    for (json& p : QueryParameters(r.method, r.pattern)) parameters.push_back(std::move(p));
    if (!parameters.empty()) op["parameters"] = parameters;
    if (std::string schema = BodySchema(r.method, r.pattern); !schema.empty()) {
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/" + schema}}}}}}}};
    }
    bool creates = r.method == "POST";
    json responses = json::object();
    if (r.poll) {
      responses[creates ? "201" : "200"] = {{"description", "an event stream"}, {"content", {{"text/event-stream", json::object()}}}};
    } else {
      responses[creates ? "201" : "200"] = {{"description", "success"}, {"content", {{"application/json", json::object()}}}};
    }
    if (r.method == "GET") responses["304"] = {{"description", "not modified (If-None-Match matched the ETag)"}};
    responses["400"] = {{"description", "bad input: the problem names the field"}, {"content", problem_content}};
    if (!r.open) {
      responses["401"] = {{"description", "no credentials, or bad ones"}, {"content", problem_content}};
      responses["403"] = {{"description", "the caller's role may not do this, or a missing CSRF token"},
                          {"content", problem_content}};
    }
    responses["429"] = {{"description", "over the per-client rate limit"}, {"content", problem_content}};
    if (!r.open) {
      // A bearer token not yet known is checked (argon2id) on a bounded pool of its own: beyond the
      // bound the request is refused for now, with Retry-After (docs/api.md).
      responses["503"] = {{"description", "too many credential checks waiting: retry after Retry-After seconds"},
                          {"content", problem_content}};
    }
    op["responses"] = responses;
    op["security"] = r.open ? json::array() : json::array({{{"bearer", json::array()}}, {{"session", json::array()}}});
    paths[r.pattern][method] = op;
  }
  return {{"openapi", "3.1.0"},
          {"info",
           {{"title", "flopline workspace API"},
            {"version", "1"},
            {"description",
             "The compliance workspace: inventory, determinations, obligations, evidence and its proofs. Every write is "
             "an entry in the workspace's tamper-evident log. Errors are RFC 9457 problem documents naming the field. "
             "Generated from the server's route table (src/server/api.cc); kept in the repository as "
             "api/openapi.json."}}},
          {"servers", json::array({{{"url", "/"}}})},
          {"paths", paths},
          {"components",
           {{"schemas", Schemas()},
            {"securitySchemes",
             {{"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"description", "an API token from `flopline user token`"}}},
              {"session",
               {{"type", "apiKey"},
                {"in", "cookie"},
                {"name", http::kSessionCookie},
                {"description", "from POST /api/v1/session; unsafe methods also need X-CSRF-Token"}}}}}}}};
}

std::string RoutesMarkdown(const std::vector<http::Route>& routes) {
  std::string out = "| method | path | roles | what |\n|---|---|---|---|\n";
  for (const http::Route& r : routes) {
    std::string roles;
    if (r.open) {
      roles = "anyone";
    } else {
      for (const std::string& role : r.roles) roles += (roles.empty() ? "" : ", ") + role;
    }
    std::string summary = r.summary;
    for (std::size_t at = 0; (at = summary.find('|', at)) != std::string::npos; at += 2) summary.replace(at, 1, "\\|");
    out += fmt::format("| {} | `{}` | {} | {} |\n", r.method, r.pattern, roles, summary);
  }
  return out;
}

}  // namespace flopline::server
