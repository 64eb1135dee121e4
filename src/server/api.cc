// The workspace API: the route table and its thin handlers (api.h).
#include "flopline/server/api.h"

#include <openssl/sha.h>

#include <atomic>
#include <chrono>
#include <mutex>

#include <fmt/format.h>

#include "flopline/http/auth.h"
#include "flopline/server/document_routes.h"
#include "flopline/server/meter_routes.h"
#include "responses.h"

namespace flopline::server {

using nlohmann::json;

namespace {

// Who may change the inventory (models, training stages) and record events: the engineers who
// train, and those who own compliance.
const std::vector<std::string> kRecorders = {"developer-admin", "compliance-officer", "engineer"};
// Who may file evidence: the recorders, and the board (it signs statements of compliance).
const std::vector<std::string> kFilers = {"developer-admin", "compliance-officer", "engineer", "board"};
// Who may sign a checkpoint of the log.
const std::vector<std::string> kOfficers = {"developer-admin", "compliance-officer"};
// At most this many argon2id checks at once (each takes 64 MiB): the others are told to retry.
constexpr int kMaxConcurrentLogins = 4;


// The body as a JSON value, or a problem naming "body".
core::Result<json> Body(const http::Request& req) {
  auto type = req.headers.find("content-type");
  if (type != req.headers.end() && type->second.find("application/json") == std::string::npos) {
    return core::InvalidArgument("the body must be application/json", "content-type");
  }
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return core::InvalidArgument("is not valid JSON", "body");
  return body;
}

core::Date Today() {
  return core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())).date();
}

core::Result<core::Date> AsOf(const http::Request& req) {
  auto it = req.query.find("as_of");
  if (it == req.query.end() || it->second.empty()) return Today();
  auto d = core::Date::Parse(it->second);
  if (!d) return core::InvalidArgument(d.error().message, "as_of");
  return *d;
}

core::Result<std::size_t> Limit(const http::Request& req) {
  auto it = req.query.find("limit");
  if (it == req.query.end()) return std::size_t{100};
  const std::string& s = it->second;
  if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos) {
    return core::InvalidArgument("must be a whole number from 1 to 1000", "limit");
  }
  std::size_t n = std::stoul(s);
  if (n < 1 || n > 1000) return core::InvalidArgument("must be a whole number from 1 to 1000", "limit");
  return n;
}

core::Result<std::uint64_t> Index(const std::string& s, const std::string& field) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) {
    return core::InvalidArgument("must be a whole number", field);
  }
  return std::stoull(s);
}

std::string Query(const http::Request& req, const std::string& key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? std::string() : it->second;
}

json PageJson(const workspace::Page& page) {
  return {{"items", page.items}, {"next_cursor", page.next_cursor ? json(*page.next_cursor) : json(nullptr)}};
}

std::string Actor(const http::Request& req) { return req.principal ? req.principal->name : ""; }

// A model's entity tag: its version (the log index of its last change), "v42".
std::string VersionTag(const json& model) {
  return fmt::format("\"v{}\"", model.value("version", std::uint64_t{0}));
}

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof digest);
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// The name a session is ended under: a hash of its cookie's nonce (never the cookie or its MAC).
std::string SessionId(const std::string& nonce) { return Sha256Hex("flopline-session:" + nonce).substr(0, 32); }

struct Api {
  workspace::Workspace* ws;
  WorkspaceAuthenticator* auth;
  ApiOptions options;
  http::SessionKeys keys;
  std::atomic<int> logins{0};
  std::string started = http::RandomSecret().substr(0, 8);  // this process's law

  Api(workspace::Workspace* w, WorkspaceAuthenticator* a, ApiOptions o)
      : ws(w), auth(a), options(o), keys(a ? a->SessionSecret() : std::string()) {}

  // An auditor's every read is logged (issue 13: "read-only, every read logged").
  std::optional<http::Response> LogRead(const http::Request& req) {
    if (!req.principal || req.principal->role != "auditor") return std::nullopt;
    if (auto r = ws->RecordAction(req.principal->name, "read", req.target); !r) return Fail(r.error(), req);
    return std::nullopt;
  }

  http::Response Login(http::Request& req) {
    auto body = Body(req);
    if (!body) return Fail(body.error(), req);
    if (!body->is_object()) return Bad("body", "expected a JSON object {\"name\", \"password\"}", req);
    for (const auto& [key, value] : body->items()) {
      if (key != "name" && key != "password") return Bad(key, "is not a known field", req);
    }
    for (const char* key : {"name", "password"}) {
      if (!body->contains(key) || !(*body)[key].is_string()) return Bad(key, "is required: a string", req);
    }
    if (logins.fetch_add(1) >= kMaxConcurrentLogins) {
      logins.fetch_sub(1);
      http::Response r = http::Problem(503, "Service Unavailable", "too many logins at once: retry", "", req.path);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    std::optional<http::Principal> who = auth->Password((*body)["name"], (*body)["password"]);
    logins.fetch_sub(1);
    if (!who) return http::Problem(401, "Unauthorized", "the name or the password is wrong", "password", req.path);
    if (auto r = ws->RecordAction(who->name, "login", "session"); !r) return Fail(r.error(), req);
    auto now = std::chrono::system_clock::now();
    std::int64_t expires =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + options.session_seconds;
    std::string cookie = keys.Issue(*who, expires);
    std::string csrf = keys.Csrf(cookie);
    std::string secure = options.tls ? "; Secure" : "";
    http::Response r = Ok(201, {{"name", who->name}, {"role", who->role}, {"csrf_token", csrf}});
    r.headers.emplace_back("Set-Cookie", fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
                                                     http::kSessionCookie, cookie, options.session_seconds, secure));
    r.headers.emplace_back("Set-Cookie", fmt::format("flopline_csrf={}; Path=/; SameSite=Strict; Max-Age={}{}", csrf,
                                                     options.session_seconds, secure));
    return r;
  }

  // Ends the session server side (every replica refuses its cookie from then on, even a copy kept
  // by someone else), and clears the cookies. With a bearer token there is no session to end.
  http::Response Logout(http::Request& req) {
    http::Response r = Ok(200, {{"logged_out", true}});
    r.headers.emplace_back("Set-Cookie", fmt::format("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
                                                     http::kSessionCookie));
    r.headers.emplace_back("Set-Cookie", "flopline_csrf=; Path=/; SameSite=Strict; Max-Age=0");
    auto rec = req.principal && !req.principal->session.empty()
                   ? ws->EndSession(Actor(req), SessionId(req.principal->session))
                   : ws->RecordAction(Actor(req), "logout", "token");
    if (!rec) return Fail(rec.error(), req);
    return r;
  }

  http::Response ListModels(http::Request& req) {
    if (auto bad = OnlyQuery(req, {"regime", "status", "search", "derived_from", "as_of", "limit", "cursor"})) {
      return *bad;
    }
    workspace::ModelQuery q;
    auto as_of = AsOf(req);
    if (!as_of) return Fail(as_of.error(), req);
    auto limit = Limit(req);
    if (!limit) return Fail(limit.error(), req);
    q.as_of = *as_of;
    q.limit = *limit;
    q.regime = Query(req, "regime");
    q.status = Query(req, "status");
    q.search = Query(req, "search");
    q.derived_from = Query(req, "derived_from");
    q.cursor = Query(req, "cursor");
    auto page = ws->ListModels(q);
    if (!page) return Fail(page.error(), req);
    return Ok(200, PageJson(*page));
  }

  http::Response GetModel(http::Request& req) {
    if (auto bad = OnlyQuery(req, {})) return *bad;
    auto model = ws->GetModel(req.params["id"]);
    if (!model) return Fail(model.error(), req);
    http::Response r = Ok(200, *model);
    r.etag = VersionTag(*model);  // what a conditional PUT states in If-Match
    return r;
  }

  http::Response CreateModel(http::Request& req) {
    auto body = Body(req);
    if (!body) return Fail(body.error(), req);
    auto model = ws->CreateModel(*body, Actor(req));
    if (!model) return Fail(model.error(), req);
    http::Response r = Ok(201, *model);
    r.headers.emplace_back("Location", "/api/v1/models/" + (*model)["id"].get<std::string>());
    r.headers.emplace_back("ETag", VersionTag(*model));
    return r;
  }

  // PUT with If-Match: "vN" (the ETag of GET /api/v1/models/{id}) changes the model only if it is
  // still at version N when the change is written, on whichever replica; else 409 naming it.
  http::Response ChangeModel(http::Request& req) {
    std::optional<std::uint64_t> if_version;
    if (auto it = req.headers.find("if-match"); it != req.headers.end() && it->second != "*") {
      const std::string& tag = it->second;
      auto n = tag.size() > 3 && tag.starts_with("\"v") && tag.back() == '"'
                   ? Index(tag.substr(2, tag.size() - 3), "if-match")
                   : core::Result<std::uint64_t>(tl::unexpected(core::Error{}));
      if (!n) {
        return Bad("if-match", "expected the model's ETag from GET /api/v1/models/{id}, e.g. \"v42\", or *", req);
      }
      if_version = *n;
    }
    auto body = Body(req);
    if (!body) return Fail(body.error(), req);
    auto model = ws->ChangeModel(req.params["id"], *body, Actor(req), if_version);
    if (!model) return Fail(model.error(), req);
    http::Response r = Ok(200, *model);
    r.headers.emplace_back("ETag", VersionTag(*model));
    return r;
  }

  http::Response Determination(http::Request& req) {
    if (auto bad = OnlyQuery(req, {"as_of"})) return *bad;
    auto as_of = AsOf(req);
    if (!as_of) return Fail(as_of.error(), req);
    auto judged = ws->Determination(req.params["id"], *as_of);
    if (!judged) return Fail(judged.error(), req);
    http::Response r = http::Text(200, judged->json, "application/json");
    // The answer is a function of the models (their generation), the law this process loaded (its
    // start) and the URL: together they name its version without hashing it.
    r.etag = fmt::format("\"{}-{}\"", started, judged->generation);
    return r;
  }

  http::Response Obligations(http::Request& req) {
    if (auto bad = OnlyQuery(req, {"as_of", "regime", "model", "search", "versions", "limit", "cursor"})) return *bad;
    workspace::ObligationQuery q;
    auto as_of = AsOf(req);
    if (!as_of) return Fail(as_of.error(), req);
    auto limit = Limit(req);
    if (!limit) return Fail(limit.error(), req);
    std::string versions = Query(req, "versions");
    if (!versions.empty() && versions != "all" && versions != "current") {
      return Bad("versions", "must be 'all' (the default) or 'current' (no superseded version of a statute)", req);
    }
    q.as_of = *as_of;
    q.limit = *limit;
    q.regime = Query(req, "regime");
    q.model = Query(req, "model");
    q.search = Query(req, "search");
    q.current_only = versions == "current";
    q.cursor = Query(req, "cursor");
    auto out = ws->Obligations(q);
    if (!out) return Fail(out.error(), req);
    return Ok(200, *out);
  }

  // Answered from the group committer once the event is durable: no thread waits for the write.
  http::Response RecordEvent(http::Request& req) {
    auto body = Body(req);
    if (!body) return Fail(body.error(), req);
    http::Response later;
    // The server keeps the request alive until the answer is given.
    later.later = [this, &req, body = std::move(*body)](std::function<void(http::Response)> answer) {
      ws->RecordEventThen(body, Actor(req), [&req, answer = std::move(answer)](core::Result<json> event) {
        answer(event ? Ok(201, *event) : Fail(event.error(), req));
      });
    };
    return later;
  }

  http::Response ListEvents(http::Request& req) {
    if (auto bad = OnlyQuery(req, {"model", "limit", "cursor"})) return *bad;
    auto limit = Limit(req);
    if (!limit) return Fail(limit.error(), req);
    std::uint64_t cursor = 0;
    if (std::string c = Query(req, "cursor"); !c.empty()) {
      auto n = Index(c, "cursor");
      if (!n) return Fail(n.error(), req);
      cursor = *n;
    }
    auto page = ws->ListEvents(Query(req, "model"), *limit, cursor);
    if (!page) return Fail(page.error(), req);
    return Ok(200, PageJson(*page));
  }

  http::Response AppendEvidence(http::Request& req) {
    auto body = Body(req);
    if (!body) return Fail(body.error(), req);
    auto out = ws->AppendEvidence(*body, Actor(req));
    if (!out) return Fail(out.error(), req);
    return Ok(201, *out);
  }

  http::Response ListEvidence(http::Request& req) {
    if (auto bad = OnlyQuery(req, {"kind", "model", "limit", "cursor"})) return *bad;
    workspace::EvidenceQuery q;
    auto limit = Limit(req);
    if (!limit) return Fail(limit.error(), req);
    q.limit = *limit;
    q.kind = Query(req, "kind");
    q.model = Query(req, "model");
    if (std::string c = Query(req, "cursor"); !c.empty()) {
      auto n = Index(c, "cursor");
      if (!n) return Fail(n.error(), req);
      q.cursor = *n;
    }
    auto page = ws->ListEvidence(q);
    if (!page) return Fail(page.error(), req);
    return Ok(200, PageJson(*page));
  }

  http::Response Proof(http::Request& req) {
    if (auto bad = OnlyQuery(req, {"tree_size"})) return *bad;
    auto index = Index(req.params["index"], "index");
    if (!index) return Fail(index.error(), req);
    std::optional<std::uint64_t> size;
    if (std::string t = Query(req, "tree_size"); !t.empty()) {
      auto n = Index(t, "tree_size");
      if (!n) return Fail(n.error(), req);
      size = *n;
    }
    auto out = ws->Proof(*index, size);
    if (!out) {
      core::Error e = out.error();
      if (e.field == "tree-size") e.field = "tree_size";
      return Fail(e, req);
    }
    return Ok(200, *out);
  }

  http::Response Checkpoint(http::Request& req) {
    auto out = ws->LatestCheckpoint();
    if (!out) return Fail(out.error(), req);
    return Ok(200, *out);
  }

  http::Response SignCheckpoint(http::Request& req) {
    if (!req.body.empty()) {
      auto body = Body(req);
      if (!body) return Fail(body.error(), req);
      if (!body->is_object() || !body->empty()) return Bad("body", "expected no body, or {}", req);
    }
    auto out = ws->SignCheckpoint(Actor(req));
    if (!out) return Fail(out.error(), req);
    return Ok(201, *out);
  }

  http::Response KillswitchOrders(http::Request& req) {
    if (auto bad = OnlyQuery(req, {})) return *bad;
    auto out = ws->KillswitchOrders();
    if (!out) return Fail(out.error(), req);
    return Ok(200, *out);
  }

  http::Response KillswitchAgents(http::Request& req) {
    if (auto bad = OnlyQuery(req, {})) return *bad;
    auto out = ws->KillswitchAgents();
    if (!out) return Fail(out.error(), req);
    return Ok(200, *out);
  }

  // Pushed to dashboards: the workspace's generation, and how many obligations are overdue and
  // which is due next, whenever the log grows (a write here, or on another replica). Worked out
  // once per generation and day (from the workspace's summary, kept up to date as models change),
  // however many dashboards are connected.
  std::optional<http::Route::Event> Poll(std::uint64_t last) {
    auto gen = ws->Generation();
    if (!gen || *gen == last) return std::nullopt;
    core::Date today = Today();
    std::lock_guard lock(poll_mu);
    if (!poll_event || poll_event->id != *gen || poll_day != today) {
      json data = {{"generation", *gen}};
      if (auto due = ws->Due(today)) {
        data["generation"] = due->generation;
        data["overdue"] = due->overdue;
        data["next_deadline"] = due->next;
        *gen = due->generation;
      }
      poll_event = http::Route::Event{*gen, "change", data.dump()};
      poll_day = today;
    }
    return poll_event;
  }

  std::mutex poll_mu;
  std::optional<http::Route::Event> poll_event;  // the last one worked out, for its generation and day
  core::Date poll_day;
};

}  // namespace

bool WorkspaceAuthenticator::Cached(const std::string& token, std::optional<workspace::User>& user, std::string& key,
                                    std::optional<http::Principal>& out) {
  out.reset();
  std::optional<std::string> name = http::TokenUser(token);
  if (!name) return true;
  auto found = ws_.FindUser(*name);
  if (!found || !*found || (*found)->token_hash.empty() || (*found)->disabled) return true;
  user = std::move(*found);
  // argon2id runs once per token and user record, never per request: the outcome is kept under
  // SHA-256 of the token, and holds while the user's token hash is the one it was checked against
  // (a new token, revoke or disable changes or clears it; disabled is checked above). A wrong token
  // sent again is refused from the cache too (each argon2id check costs tens of milliseconds and
  // 64 MiB), but wrong tokens are kept apart, a bounded number, so that many distinct wrong ones
  // never push out the valid ones; a check that could not be made (argon2id's memory not
  // allocated) is refused this time and not remembered.
  key = Sha256Hex(token);
  auto holds = [&](const Known& k) { return k.name == user->name && k.token_hash == user->token_hash; };
  std::lock_guard lock(mu_);
  if (auto it = verified_.find(key); it != verified_.end() && holds(it->second)) {
    out = http::Principal{user->name, user->role};
    return true;
  }
  if (auto it = refused_.find(key); it != refused_.end() && holds(it->second)) return true;
  return false;
}

bool WorkspaceAuthenticator::KnownToken(const std::string& token, std::optional<http::Principal>& out) {
  std::optional<workspace::User> user;
  std::string key;
  return Cached(token, user, key, out);
}

std::optional<http::Principal> WorkspaceAuthenticator::Token(const std::string& token) {
  std::optional<workspace::User> user;
  std::string key;
  std::optional<http::Principal> known;
  if (Cached(token, user, key, known)) return known;
  http::SecretCheck checked = check_(user->token_hash, token);
  if (checked == http::SecretCheck::kCouldNotCheck) return std::nullopt;
  std::lock_guard lock(mu_);
  if (checked == http::SecretCheck::kMismatch) {
    if (refused_.insert_or_assign(key, Known{user->name, user->token_hash}).second) {
      refused_order_.push_back(key);
      while (refused_.size() > kMaxRefused && !refused_order_.empty()) {
        refused_.erase(refused_order_.front());
        refused_order_.pop_front();
      }
    }
    return std::nullopt;
  }
  refused_.erase(key);  // its order entry goes when it comes to the front (erasing a missing key)
  if (verified_.size() > 10000) verified_.clear();  // valid tokens only: one per user and issue
  verified_[key] = {user->name, user->token_hash};
  return http::Principal{user->name, user->role};
}

std::optional<http::Principal> WorkspaceAuthenticator::Password(const std::string& name, const std::string& password) {
  auto user = ws_.FindUser(name);
  if (!user || !*user || (*user)->disabled || !http::VerifySecret((*user)->password_hash, password)) {
    return std::nullopt;
  }
  return http::Principal{(*user)->name, (*user)->role};
}

bool WorkspaceAuthenticator::SessionHolds(const http::Principal& who) {
  // Issued `session_seconds_` before it expires (Api::Login).
  core::Instant issued{std::chrono::sys_seconds(std::chrono::seconds(who.expires - session_seconds_))};
  auto holds = ws_.SessionHolds(who.name, who.role, SessionId(who.session), issued);
  return holds && *holds;
}

std::string WorkspaceAuthenticator::SessionSecret() { return ws_.signer().SignerKey(); }

std::shared_ptr<void> WorkspaceAuthenticator::Hold() { return std::make_shared<workspace::Workspace::ReadOnce>(ws_); }

std::vector<http::Route> DocumentedRoutes() { return ApiRoutes(nullptr, nullptr, {}); }

std::vector<http::Route> ApiRoutes(workspace::Workspace* ws, WorkspaceAuthenticator* auth, const ApiOptions& options) {
  auto api = std::make_shared<Api>(ws, auth, options);
  const std::vector<std::string>& everyone = workspace::kRoles;
  // A read: the auditor's is logged first.
  auto read = [api](http::Response (Api::*f)(http::Request&)) {
    return [api, f](http::Request& req) {
      if (auto refused = api->LogRead(req)) return *refused;
      return ((*api).*f)(req);
    };
  };
  auto write = [api](http::Response (Api::*f)(http::Request&)) {
    return [api, f](http::Request& req) { return ((*api).*f)(req); };
  };
  std::vector<http::Route> routes = {
      {"GET", "/healthz", {}, true, false, "liveness: 200 {\"ok\": true}",
       [](http::Request&) { return Ok(200, {{"ok", true}}); }, {}, 1000},
      {"GET", "/api/v1/openapi.json", {}, true, false, "this API's OpenAPI 3.1 document", {}, {}, 1000},
      {"POST", "/api/v1/session", {}, true, true,
       "log in: {name, password} -> an HttpOnly SameSite=Strict session cookie and its CSRF token", write(&Api::Login),
       {}, 1000},
      {"DELETE", "/api/v1/session", everyone, false, true, "log out: the session cookies are cleared",
       write(&Api::Logout), {}, 1000},
      {"GET", "/api/v1/me", everyone, false, false, "who the caller is: {name, role}",
       [](http::Request& req) { return Ok(200, {{"name", req.principal->name}, {"role", req.principal->role}}); }, {},
       1000},
      {"GET", "/api/v1/models", everyone, false, false,
       "the inventory, with each model's status, key margin and next deadline per regime; filters regime, status (a "
       "status or 'covered'), search, derived_from (a model's derivatives along its lineage); as_of; paginated "
       "(limit, cursor)",
       read(&Api::ListModels), {}, 1000},
      {"POST", "/api/v1/models", kRecorders, false, true, "add a model (the fields of a [[model]] table)",
       write(&Api::CreateModel), {}, 1000},
      {"GET", "/api/v1/models/{id}", everyone, false, false, "one model, with its events", read(&Api::GetModel), {},
       1000},
      {"PUT", "/api/v1/models/{id}", kRecorders, false, true,
       "change a model (the whole model; its events are kept); with If-Match: \"vN\" (the model's ETag) only if it "
       "is still at version N, else 409 naming it",
       write(&Api::ChangeModel), {}, 1000},
      {"GET", "/api/v1/models/{id}/determination", everyone, false, false,
       "the model judged under every regime as of a date (as_of): status, basis, clause trace, readings, margins, "
       "obligations, penalties (the explained JSON of `flopline assess`)",
       read(&Api::Determination), {}, 1000},
      {"GET", "/api/v1/obligations", everyone, false, false, "the obligations calendar as of a date: every started clock, overdue first, then soonest due; filters "
       "regime, model, search, versions (all|current); counts per group; paginated (limit, cursor)",
       read(&Api::Obligations), {}, 1000},
      {"POST", "/api/v1/events", kRecorders, false, false,
       "record an event (training-started, released, incident-discovered, compute-estimated, ...): {model, kind, at}",
       write(&Api::RecordEvent), {}, 1000},
      {"GET", "/api/v1/events", everyone, false, false, "events in time order; filter model; paginated",
       read(&Api::ListEvents), {}, 1000},
      {"GET", "/api/v1/events/stream", everyone, false, false,
       "server-sent events: 'change' {generation, overdue, next_deadline} whenever the workspace changes", {},
       [api](std::uint64_t last) { return api->Poll(last); }, 1000},
      {"POST", "/api/v1/evidence", kFilers, false, true,
       "append an evidence record {kind, model?, document, redactions?} to the log", write(&Api::AppendEvidence), {},
       1000},
      {"GET", "/api/v1/evidence", everyone, false, false, "evidence records; filters kind, model; paginated",
       read(&Api::ListEvidence), {}, 1000},
      {"GET", "/api/v1/evidence/{index}/proof", everyone, false, false,
       "an RFC 9162 inclusion proof of a record (tree_size: default the current size)", read(&Api::Proof), {}, 1000},
      {"GET", "/api/v1/checkpoint", everyone, false, false, "the latest signed checkpoint and the verifier key",
       read(&Api::Checkpoint), {}, 1000},
      {"POST", "/api/v1/checkpoint", kOfficers, false, true, "verify the log and sign a checkpoint of it",
       write(&Api::SignCheckpoint), {}, 1000},
      {"GET", "/api/v1/killswitch/orders", everyone, false, false, "the shutdown orders and drills recorded",
       read(&Api::KillswitchOrders), {}, 1000},
      {"GET", "/api/v1/killswitch/agents", everyone, false, false,
       "the kill switch's agents that recorded orders and drills reached, each with its latest and what became of "
       "its workload (stopped, drained, not stopped and why)",
       read(&Api::KillswitchAgents), {}, 1000},
  };
  for (http::Route& r : DocumentRoutes(ws, options.documents)) routes.push_back(std::move(r));
  for (http::Route& r : MeterRoutes(ws, options.meter)) routes.push_back(std::move(r));
  // The OpenAPI document is built from the table itself, once.
  auto document = std::make_shared<const std::string>(OpenApi(routes).dump(2) + "\n");
  for (http::Route& r : routes) {
    if (r.pattern == "/api/v1/openapi.json") {
      r.handler = [document](http::Request&) { return http::Text(200, document, "application/json"); };
    }
  }
  return routes;
}

}  // namespace flopline::server
