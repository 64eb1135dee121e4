#include "flopline/killswitch/etcd.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <cstdio>
#include <exception>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "flopline/killswitch/protocol.h"
#include "flopline/ledger/hash.h"

namespace flopline::killswitch {

using core::Result;
using nlohmann::json;

namespace {

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string B64(const std::string& s) { return ledger::Base64(std::string_view(s)); }
std::string Unb64(const json& j) {
  if (!j.is_string()) return {};
  return ledger::FromBase64(j.get<std::string>()).value_or("");
}

tl::unexpected<core::Error> Unavailable(std::string message) {
  return core::MakeError(core::Code::kUnavailable, "etcd: " + std::move(message));
}

bool TooLarge(const std::string& response) {
  return response.find("larger than max") != std::string::npos;
}

}  // namespace

Result<void> EtcdOrderFits(const std::vector<std::string>& targets,
                           const std::vector<std::string>& named) {
  // The order's entry: {"note": the signed order line, "targets": [...], "controller": ...},
  // sealed (the entry JSON-escaped once more into an envelope). The targets are escaped once: a
  // quote or backslash doubles. The note is escaped twice: its fixed fields (a reason of at most
  // 1 KiB, a scope, a signature) at most 4 times over in 8 KiB, and the agents it names by
  // lineage at most 4 times over.
  std::string list = json(targets).dump();
  std::size_t bytes = 8192 + list.size() + 4 * json(named).dump().size();
  bytes += static_cast<std::size_t>(
      std::count_if(list.begin(), list.end(), [](char c) { return c == '"' || c == '\\'; }));
  if (bytes <= kEtcdMaxOrderBytes) return core::Ok();
  return core::MakeError(
      core::Code::kFailedPrecondition,
      fmt::format("this order names {} agents: its entry for the other controllers (up to {} "
                  "bytes) would not fit in one etcd request ({} bytes at most, below etcd's "
                  "default --max-request-bytes of 1.5 MiB); not issued: narrow the scope",
                  targets.size(), bytes, kEtcdMaxOrderBytes));
}

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

EtcdClient::EtcdClient(std::vector<std::string> endpoints) : endpoints_(std::move(endpoints)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

EtcdClient::~EtcdClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

void EtcdClient::Served(size_t i) {
  if (!members_) return;
  members_->silent[i] = false;
  members_->served = i;
}
void EtcdClient::Silent(size_t i) {
  if (!members_) return;
  members_->silent[i] = true;
  ++members_->silenced[i];
}
size_t EtcdClient::Start() {
  if (!members_ || !members_->silent[current_]) return current_;
  size_t served = members_->served;
  return served < endpoints_.size() && !members_->silent[served] ? served : current_;
}

Result<json> EtcdClient::Call(const std::string& path, const json& body) {
  std::string request = body.dump();
  std::string last_error = "no endpoint";
  current_ = Start();
  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    const std::string& base = endpoints_[(current_ + attempt) % endpoints_.size()];
    CURL* c = static_cast<CURL*>(curl_);
    curl_easy_reset(c);
    std::string response;
    std::string url = base + path;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.size()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms_);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
      last_error = fmt::format("{}: {}", url, curl_easy_strerror(rc));
      Silent((current_ + attempt) % endpoints_.size());
      continue;
    }
    json out = json::parse(response, nullptr, false);
    if (status == 400 || status == 413 || (status == 429 && TooLarge(response))) {
      // A refusal of the request itself (too large, too many operations, a key twice): not the
      // member's state, so not tried on the next one. A request over etcd's gRPC bound
      // (--max-request-bytes + 512 KiB) is answered 429 "received message larger than max": it
      // was taken for a member failure, kept at the head of the queue and never split.
      current_ = (current_ + attempt) % endpoints_.size();
      return core::MakeError(core::Code::kFailedPrecondition,
                             fmt::format("etcd: {} answered {}: {}", url, status,
                                         response.substr(0, 300)));
    }
    if (status != 200 || out.is_discarded()) {
      // "no leader", "request timed out", "leader changed" (5xx), and whatever else a member
      // answers in a partition or an election: this member cannot serve it now, another may (one
      // isolated from its peers but not from us answers so). A lease not found (404) is tried on
      // every member too, and then left to the caller, who takes a new lease. A 404 or 429 is an
      // answer about the request, not the member's state: the member is not marked silent for it.
      last_error = fmt::format("{} answered {}: {}", url, status, response.substr(0, 300));
      if (status != 404 && status != 429) Silent((current_ + attempt) % endpoints_.size());
      continue;
    }
    current_ = (current_ + attempt) % endpoints_.size();
    Served(current_);
    return out;
  }
  return Unavailable(last_error);
}

Result<std::int64_t> EtcdClient::Put(const std::string& key, const std::string& value,
                                     std::int64_t lease) {
  json body = {{"key", B64(key)}, {"value", B64(value)}};
  if (lease != 0) body["lease"] = std::to_string(lease);
  FL_ASSIGN_OR_RETURN(json r, Call("/v3/kv/put", body));
  return std::stoll(r["header"].value("revision", "0"));
}

Result<std::vector<std::pair<std::string, std::string>>> EtcdClient::RangePrefix(
    const std::string& prefix) {
  FL_ASSIGN_OR_RETURN(
      json r, Call("/v3/kv/range", {{"key", B64(prefix)}, {"range_end", B64(PrefixEnd(prefix))}}));
  std::vector<std::pair<std::string, std::string>> out;
  for (const json& kv : r.value("kvs", json::array()))
    out.emplace_back(Unb64(kv["key"]), Unb64(kv["value"]));
  return out;
}

Result<void> EtcdClient::Delete(const std::string& key) {
  FL_RETURN_IF_ERROR(Call("/v3/kv/deleterange", {{"key", B64(key)}}));
  return core::Ok();
}

Result<std::int64_t> EtcdClient::GrantLease(std::int64_t ttl_seconds) {
  FL_ASSIGN_OR_RETURN(json r, Call("/v3/lease/grant", {{"TTL", std::to_string(ttl_seconds)}}));
  return std::stoll(r.value("ID", "0"));
}

Result<void> KeepAliveAnswer(const json& r) {
  // Only an answer for the lease with TTL 0 (or none) says the lease is gone: an error in its
  // place ({"error": ...}: no leader, a timeout while the cluster elects one; etcd 3.4 sends it
  // with HTTP 503, a stream's later error comes with 200) says nothing of the lease, and taking it
  // for a lost lease would put every agent entry under a new lease while etcd has no leader.
  if (!r.is_object()) return Unavailable("lease keep-alive: not a JSON object");
  if (auto e = r.find("error"); e != r.end()) {
    std::string message = e->is_object() ? e->value("message", e->dump()) : e->dump();
    return Unavailable("lease keep-alive: " + message);
  }
  auto result = r.find("result");
  if (result == r.end() || !result->is_object())
    return Unavailable("lease keep-alive: no result in " + r.dump().substr(0, 200));
  // An expired (or unknown) lease is answered with TTL 0, which the gateway leaves out.
  auto ttl = result->find("TTL");
  std::int64_t seconds = 0;
  if (ttl != result->end() && ttl->is_string()) {
    const std::string& text = ttl->get_ref<const std::string&>();
    std::from_chars(text.data(), text.data() + text.size(), seconds);
  } else if (ttl != result->end() && ttl->is_number_integer()) {
    seconds = ttl->get<std::int64_t>();
  }
  if (seconds <= 0) {
    auto header = result->find("header");
    std::string member = header != result->end() && header->is_object()
                             ? header->value("member_id", std::string("?"))
                             : std::string("?");
    return core::MakeError(core::Code::kNotFound,
                           "etcd: the lease is gone (TTL 0, answered by member " + member + ")");
  }
  return core::Ok();
}

Result<void> EtcdClient::KeepAlive(std::int64_t lease) {
  FL_ASSIGN_OR_RETURN(json r, Call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}}));
  return KeepAliveAnswer(r);
}

namespace {

struct WatchState {
  std::string buffer;
  const std::function<void(const std::string&, const std::string&)>* on_put;
  std::int64_t* last_revision;  // the highest mod_revision delivered, if wanted
};

size_t OnWatchData(char* data, size_t size, size_t n, void* p) {
  auto* w = static_cast<WatchState*>(p);
  w->buffer.append(data, size * n);
  // The gateway streams one JSON object per line. Nothing may throw out of a curl callback (it
  // would end the process): every field is type-checked, and the callback's own errors stop here.
  for (size_t eol; (eol = w->buffer.find('\n')) != std::string::npos;) {
    json msg = json::parse(w->buffer.substr(0, eol), nullptr, false);
    w->buffer.erase(0, eol + 1);
    if (!msg.is_object()) continue;
    auto result = msg.find("result");
    if (result == msg.end() || !result->is_object()) continue;
    auto events = result->find("events");
    if (events == result->end() || !events->is_array()) continue;
    for (const json& ev : *events) {
      if (!ev.is_object()) continue;
      auto kv = ev.find("kv");
      if (kv == ev.end() || !kv->is_object()) continue;
      // Every event's revision counts, deletes' too: the stream has got that far (the gateway
      // writes int64s as strings).
      if (auto rev = kv->find("mod_revision"); rev != kv->end() && w->last_revision != nullptr) {
        std::int64_t r = 0;
        if (rev->is_string()) {
          const std::string& text = rev->get_ref<const std::string&>();
          std::from_chars(text.data(), text.data() + text.size(), r);
        } else if (rev->is_number_integer()) {
          r = rev->get<std::int64_t>();
        }
        *w->last_revision = std::max(*w->last_revision, r);
      }
      auto type = ev.find("type");
      if (type != ev.end() && !(type->is_string() && type->get<std::string>() == "PUT")) continue;
      auto key = kv->find("key"), value = kv->find("value");
      if (key == kv->end() || value == kv->end()) continue;
      try {
        (*w->on_put)(Unb64(*key), Unb64(*value));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "flopline killswitch controller: etcd watch: skipped an event: %s\n",
                     Printable(e.what()).c_str());
      } catch (...) {
        std::fprintf(stderr, "flopline killswitch controller: etcd watch: skipped an event\n");
      }
    }
  }
  return size * n;
}

}  // namespace

Result<void> EtcdClient::Watch(
    const std::string& prefix, std::int64_t start_revision, const std::atomic<bool>& stop,
    const std::function<void(const std::string&, const std::string&)>& on_put,
    std::int64_t* last_revision, long idle_s, const std::function<bool()>& move_on) {
  json body = {{"create_request",
                {{"key", B64(prefix)},
                 {"range_end", B64(PrefixEnd(prefix))},
                 {"start_revision", std::to_string(start_revision)}}}};
  std::string request = body.dump();
  CURL* c = curl_easy_init();
  WatchState state{{}, &on_put, last_revision};
  current_ = Start();
  const size_t member = current_;
  const std::uint64_t silenced = members_ ? members_->silenced[member].load() : 0;
  std::string url = endpoints_[member] + "/v3/watch";
  // A member that loses its leader (killed, partitioned away) cancels the watch instead of
  // keeping it open and silent; the caller then watches through the next endpoint.
  curl_slist* headers = curl_slist_append(nullptr, "Grpc-Metadata-hasleader: true");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnWatchData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  if (idle_s > 0) {
    // Not one byte in idle_s seconds: the member is cut off (a partition drops its packets, so it
    // cannot even cancel the watch), and the stream moves on to the next member.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle_s);
  }
  // Driven here rather than by curl_easy_perform, so that `stop` and `move_on` are looked at
  // every 100 ms whatever the stream does.
  CURLM* m = curl_multi_init();
  curl_multi_add_handle(m, c);
  CURLcode rc = CURLE_OK;
  bool moved = false;
  for (int running = 1; running > 0;) {
    if (curl_multi_perform(m, &running) != CURLM_OK) break;
    if (running == 0 || stop.load()) break;
    // Behind what this process has written, or found silent by another client of the process
    // since the stream began, while another member is not: with every member silent there is
    // none better to move to, and this stream is the one to wait on.
    if ((move_on && move_on()) ||
        (members_ && members_->silenced[member].load() != silenced && !members_->AllSilent())) {
      moved = true;
      break;
    }
    curl_multi_poll(m, nullptr, 0, 100, nullptr);
  }
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
    if (msg->msg == CURLMSG_DONE) rc = msg->data.result;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_multi_remove_handle(m, c);
  curl_multi_cleanup(m);
  curl_easy_cleanup(c);
  curl_slist_free_all(headers);
  if (stop.load()) return core::Ok();
  // However the stream ended (refused, cut, cancelled for want of a leader, behind), the next
  // watch goes to the next endpoint: one dead or isolated member must not keep the others' events
  // away (found by tests/cli/killswitch_chaos_test.sh: with the leader SIGKILLed, a controller's
  // watch retried that member alone and relayed an order only after it had expired).
  if (!moved && rc != CURLE_OK) Silent(member);
  current_ = (member + 1) % endpoints_.size();
  if (moved) {
    return core::MakeError(core::Code::kAborted,
                           fmt::format("etcd: the watch on {} is behind what the cluster has "
                                       "committed, or its member went silent: moved on",
                                       url));
  }
  return Unavailable(fmt::format("the watch on {} ended: {} (HTTP {})", url,
                                 curl_easy_strerror(rc), status));
}

namespace {

Secret EtcdValueKey(const Secret& master, std::string_view key) {
  // Distinct from every credential (those are HMAC(master, "agent\n"...|"operator\n")).
  return SessionKey(SessionKey(master, "etcd values"), key);
}

}  // namespace

std::string SealEtcdValue(const Secret& master, std::string_view key, std::string_view value) {
  return Seal(EtcdValueKey(master, key), Direction::kController, "controller", value);
}

std::optional<json> OpenEtcdValue(const Secret& master, std::string_view key,
                                  std::string_view stored) {
  auto env = ParseEnvelope(stored);
  if (!env || !MacValid(EtcdValueKey(master, key), Direction::kController, *env)) {
    return std::nullopt;
  }
  json v = json::parse(env->msg, nullptr, false);
  if (!v.is_object()) return std::nullopt;
  return v;
}

std::optional<RelayedOrder> ParseRelayedOrder(const json& v) {
  if (!v.is_object()) return std::nullopt;
  auto note = v.find("note"), targets = v.find("targets"), controller = v.find("controller");
  if (note == v.end() || !note->is_string() || targets == v.end() || !targets->is_array() ||
      controller == v.end() || !controller->is_string()) {
    return std::nullopt;
  }
  RelayedOrder out{note->get<std::string>(), {}, controller->get<std::string>()};
  for (const json& t : *targets) {
    if (!t.is_string()) return std::nullopt;
    out.targets.push_back(t.get<std::string>());
  }
  return out;
}

std::optional<std::string> EntryController(const json& v) {
  if (!v.is_object()) return std::nullopt;
  auto c = v.find("controller");
  if (c == v.end() || !c->is_string()) return std::nullopt;
  return c->get<std::string>();
}

namespace {

constexpr char kRoot[] = "/flopline/ks/";

class Etcd final : public Coordinator {
 public:
  Etcd(std::vector<std::string> endpoints, std::int64_t ttl_ms, const Secret& master)
      : master_(master),
        endpoints_(endpoints),
        client_(endpoints),
        ttl_s_(std::max<std::int64_t>(1, (ttl_ms + 999) / 1000)),
        // A member that does not answer (cut off, stopped) costs a third of the lease, not curl's
        // 5 s, before the next member is tried: a write, a fence or a renewal of the lease then
        // goes through a healthy member well within the lease (the chaos test's partition rounds
        // waited 5 s here for each member cut off).
        attempt_ms_(std::clamp<long>(static_cast<long>(ttl_s_) * 1000 / 3, 500, 2000)),
        members_(std::make_shared<EtcdMembers>(endpoints_.size())),
        wake_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    client_.set_timeout_ms(attempt_ms_);
    client_.SharedMembers(members_);
  }

  ~Etcd() override {
    stop_ = true;
    { std::lock_guard lock(queue_mu_); }  // the writer is waiting, or will see stop_
    queued_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (watcher_.joinable()) watcher_.join();
    if (keeper_.joinable()) keeper_.join();
    close(wake_);
    // What no member has accepted by now goes with the process: said, never in silence.
    std::lock_guard lock(queue_mu_);
    if (!queue_.empty()) {
      Warn(fmt::format("WARNING: {} etcd writes that no member accepted are lost as this "
                       "controller stops (the first: {}, waiting {} ms)",
                       queue_.size(), queue_.front().key,
                       MonotonicMs() - queue_.front().queued_ms));
    }
  }

  Result<void> Start() {
    me_ = fmt::format("{}-{}", getpid(), NowMs());
    FL_ASSIGN_OR_RETURN(lease_, client_.GrantLease(ttl_s_));
    FL_ASSIGN_OR_RETURN(std::int64_t revision,
                        client_.Put(std::string(kRoot) + "controllers/" + me_, "up", lease_));
    keeper_ = std::thread([this] { KeepLease(); });
    watcher_ = std::thread([this, revision] { WatchLoop(revision + 1); });
    writer_ = std::thread([this] { WriteLoop(); });
    return core::Ok();
  }

  Result<std::uint64_t> NextFence() override {
    std::lock_guard lock(mu_);
    // After everything queued (etcd sees the controller's writes in the order it made them): the
    // fence is not written before its earlier writes (an ack, an agent gone). Both are tried again
    // through an election (found by the chaos test: the leader cut off, the fence's first try found
    // no leader on either member left, and the order was refused).
    auto revision = Retrying([&]() -> Result<std::int64_t> {
      FL_RETURN_IF_ERROR(SendQueued());
      return client_.Put(std::string(kRoot) + "fence", me_);
    });
    if (!revision) return tl::unexpected(revision.error());
    NoteCommitted(*revision);
    return static_cast<std::uint64_t>(*revision);
  }

  std::uint64_t AgentUp(const json& agent) override {
    json value = agent;
    value["controller"] = me_;
    std::string key = std::string(kRoot) + "agents/" + agent["id"].get<std::string>();
    std::string sealed = SealEtcdValue(master_, key, value.dump());
    {
      std::lock_guard lock(local_mu_);
      local_[key] = sealed;
    }
    std::lock_guard lock(mu_);
    // In order after what is queued: an earlier delete of this agent's key (it exited here
    // before) sent after this put would remove the entry of the agent enrolled now.
    auto r = Retrying([&]() -> Result<std::int64_t> {
      FL_RETURN_IF_ERROR(SendQueued());
      return client_.Put(key, sealed, lease_);
    });
    if (!r) {
      Warn(r.error().message);
      return 0;  // the enrolment is refused and the agent tries again
    }
    NoteCommitted(*r);
    return static_cast<std::uint64_t>(*r);  // every fence so far is an earlier revision
  }

  void AgentRenewed(const std::string&) override {}  // the controller's one lease keeps them all

  void AgentDown(const std::string& id) override {
    std::string key = std::string(kRoot) + "agents/" + id;
    {
      std::lock_guard lock(local_mu_);
      local_.erase(key);
    }
    Queue({key, "", true, false, 0});
  }

  std::vector<json> RemoteAgents() override {
    // A read of the other controllers' entries: it does not wait for this controller's own
    // queued writes. An order to agents this controller cannot see is a narrowed order: while the
    // cluster elects a leader (found by tests/cli/killswitch_chaos_test.sh: the leader SIGKILLed,
    // a shutdown reached only this controller's agents), it is tried again for ~5 s.
    auto kvs = Retrying([&] {
      std::lock_guard lock(mu_);
      return client_.RangePrefix(std::string(kRoot) + "agents/");
    });
    std::vector<json> out;
    if (!kvs) {
      Warn(kvs.error().message);
      return out;
    }
    for (const auto& [key, value] : *kvs) {
      std::optional<json> a = OpenEtcdValue(master_, key, value);
      std::optional<std::string> controller = a ? EntryController(*a) : std::nullopt;
      if (!controller) {
        Warn("etcd: skipped " + key + ": not a sealed agent entry (is etcd access-controlled?)");
        continue;
      }
      if (*controller != me_) out.push_back(std::move(*a));
    }
    return out;
  }

  Result<void> OrderFits(const std::vector<std::string>& targets,
                         const std::vector<std::string>& named) const override {
    return EtcdOrderFits(targets, named);
  }

  void PublishOrder(std::uint64_t fence, const std::string& note,
                    const std::vector<std::string>& targets) override {
    json value = {{"note", note}, {"targets", targets}, {"controller", me_}};
    std::string key = fmt::format("{}orders/{:020}", kRoot, fence);
    // Queued: the writer sends it at once, in order with the acks that follow it.
    Queue({key, SealEtcdValue(master_, key, value.dump()), false, false, 0});
  }

  void PublishAck(std::uint64_t fence, const json& ack) override {
    auto id = ack.find("id");
    if (id == ack.end() || !id->is_string()) return;
    std::string key = fmt::format("{}acks/{:020}/{}", kRoot, fence, id->get<std::string>());
    Queue({key, SealEtcdValue(master_, key, ack.dump()), false, false, 0});
  }

  Inbound Poll() override {
    std::uint64_t count;
    while (read(wake_, &count, sizeof count) > 0) {
    }
    std::lock_guard lock(inbound_mu_);
    Inbound out = std::move(inbound_);
    inbound_ = {};
    return out;
  }

  int WakeFd() const override { return wake_; }
  bool Blocking() const override { return true; }

 private:
  static void Warn(const std::string& message) {
    std::fprintf(stderr, "flopline killswitch controller: %s\n", Printable(message).c_str());
  }

  // `call` again every 100 ms while it fails (an election, members cut off, a lease the keeper is
  // about to take again), for up to ~5 s (an election here takes 1-2.5 s, and each try of a member
  // that does not answer costs a third of the lease).
  template <typename F>
  static auto Retrying(F call) -> decltype(call()) {
    std::int64_t until = MonotonicMs() + 5000;
    auto r = call();
    while (!r && MonotonicMs() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      r = call();
    }
    return r;
  }

  // Writes nobody waits on (an order for the other controllers, an ack for whichever controller
  // issued the order, an agent gone) are queued and sent by the writer thread, many to one
  // transaction: ten thousand acks are then ~160 transactions off the controller's loop, not
  // twenty thousand round trips in it (measured by bench/killswitch_fleet.cc). A write that
  // returns something (a fence, an agent's floor) first sends what is queued, under the same
  // lock, so etcd sees every write in the order the controller made it.
  //
  // A write the controller has taken is kept until a member accepts it: a transaction that no
  // member served stays at the head of the queue and is sent again (100 ms, doubling to 1 s
  // apart), said once when it begins and every 10 s while it lasts. It was dropped after one try
  // (an ack lost so: the issuing controller's report said the agent was not stopped although it
  // was; an agent's removal lost: the other controllers kept a departed agent among the targets
  // of every later order; tests/cli/killswitch_etcd_faults_test.sh). Only a write a member
  // refuses outright (too large) is dropped, or one waiting for a day, the longest an order can
  // be in force, so that nothing it was for can still be served: each with a WARNING naming it.
  struct Op {
    std::string key, value;
    bool erase = false;
    bool leased = false;         // a put under the controller's lease (the current one when sent)
    std::int64_t queued_ms = 0;  // monotonic; set by Queue
  };
  static constexpr std::int64_t kGiveUpMs = 86'400'000;

  void Queue(Op op) {
    op.queued_ms = MonotonicMs();
    {
      std::lock_guard lock(queue_mu_);
      queue_.push_back(std::move(op));
    }
    queued_.notify_one();
  }

  // One transaction of `ops`; the revision of its puts, or 0 when it has none.
  Result<std::int64_t> Txn(const std::vector<Op>& ops) {
    json success = json::array();
    bool puts = false;
    for (const Op& op : ops) {
      if (op.erase) {
        success.push_back({{"requestDeleteRange", {{"key", B64(op.key)}}}});
      } else {
        json put = {{"key", B64(op.key)}, {"value", B64(op.value)}};
        if (op.leased) put["lease"] = std::to_string(lease_.load());
        success.push_back({{"requestPut", put}});
        puts = true;
      }
    }
    FL_ASSIGN_OR_RETURN(json r, client_.Call("/v3/kv/txn", {{"success", success}}));
    if (!puts) return 0;
    std::int64_t revision = 0;
    if (auto h = r.find("header"); h != r.end() && h->is_object()) {
      std::string text = h->value("revision", std::string("0"));
      std::from_chars(text.data(), text.data() + text.size(), revision);
    }
    return revision;
  }

  // A refusal that waits on this controller rather than on the write: the lease it was put under
  // expired, and the keeper is about to take a new one (Regrant); the write is sent again then.
  static bool Transient(const core::Error& e) {
    return e.code == core::Code::kUnavailable ||
           e.message.find("lease not found") != std::string::npos;
  }

  void PopFront(std::size_t n) {
    std::lock_guard lock(queue_mu_);
    for (; n > 0 && !queue_.empty(); --n) queue_.pop_front();
  }

  // Sends everything queued, oldest first, until a transaction fails for want of a member: that
  // one stays at the head, and the error is returned. The caller holds mu_ (only this pops).
  Result<void> SendQueued() {
    // etcd allows 128 operations per transaction by default, and a key only once in each; a
    // request of at most --max-request-bytes (1.5 MiB by default): a batch is cut at 1 MiB of keys
    // and values (a single write larger than that goes alone; an order is refused at issue time if
    // it could not fit, EtcdOrderFits). A batch a member still refuses as too large (etcd set to
    // take less) is split below, one write per transaction.
    constexpr size_t kMaxTxnOps = 128;
    constexpr size_t kMaxTxnBytes = 1 << 20;
    for (;;) {
      std::vector<Op> batch;
      {
        std::lock_guard lock(queue_mu_);
        std::int64_t now = MonotonicMs();
        while (!queue_.empty() && now - queue_.front().queued_ms > kGiveUpMs) {
          Warn(fmt::format("WARNING: etcd write of {} given up after {} ms without a member that "
                           "accepted it",
                           queue_.front().key, now - queue_.front().queued_ms));
          queue_.pop_front();
        }
        std::set<std::string> keys;
        size_t bytes = 0;
        for (const Op& op : queue_) {
          size_t size = op.key.size() + op.value.size() + 32;
          if (batch.size() == kMaxTxnOps || keys.contains(op.key) ||
              (!batch.empty() && bytes + size > kMaxTxnBytes)) {
            break;
          }
          keys.insert(op.key);
          bytes += size;
          batch.push_back(op);
        }
      }
      if (batch.empty()) return core::Ok();
      auto r = Txn(batch);
      if (r) {
        if (*r > 0) NoteCommitted(*r);
        PopFront(batch.size());
        continue;
      }
      if (Transient(r.error())) return tl::unexpected(r.error());
      // Refused: one at a time, so that only the write refused is dropped.
      for (const Op& op : batch) {
        auto one = Txn({op});
        if (!one && Transient(one.error())) return tl::unexpected(one.error());
        if (!one) {
          Warn(fmt::format("WARNING: etcd refused the write of {}, dropped: {}", op.key,
                           one.error().message));
        } else if (*one > 0) {
          NoteCommitted(*one);
        }
        PopFront(1);
      }
    }
  }

  void WriteLoop() {
    std::int64_t backoff_ms = 0, failing_since = 0, said = 0;
    for (;;) {
      {
        std::unique_lock lock(queue_mu_);
        if (backoff_ms > 0) {
          queued_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [&] { return stop_.load(); });
        } else {
          queued_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        }
        // Stopping: one more try unless it is failing already; the rest is said by ~Etcd.
        if (stop_ && (queue_.empty() || backoff_ms > 0)) return;
      }
      Result<void> sent = core::Ok();
      std::size_t waiting = 0;
      {
        std::lock_guard lock(mu_);
        sent = SendQueued();
      }
      {
        std::lock_guard lock(queue_mu_);
        waiting = queue_.size();
      }
      std::int64_t now = MonotonicMs();
      if (sent) {
        if (failing_since != 0) {
          Warn(fmt::format("etcd accepted the writes that waited {} ms for a member",
                           now - failing_since));
        }
        backoff_ms = failing_since = 0;
        if (stop_) return;
        continue;
      }
      if (failing_since == 0) failing_since = now;
      if (said < failing_since || now - said >= 10'000) {
        said = now;
        Warn(fmt::format("WARNING: no etcd member accepts this controller's writes ({}); {} "
                         "waiting for {} ms, kept and sent again until one does",
                         sent.error().message, waiting, now - failing_since));
      }
      backoff_ms = std::min<std::int64_t>(backoff_ms == 0 ? 100 : backoff_ms * 2, 1000);
      if (stop_) return;
    }
  }

  // Revisions this controller's own writes were committed at, with when it learned each: the
  // watch must deliver them. A watch still short of one a second after it was committed (and
  // after the stream began) is on a member that is cut off or far behind, and moves to the next
  // one: a member cut off by a partition neither delivers nor cancels, and the stream's silence
  // bound (TTL + 2 s) is the backstop, not the rule (the chaos test's partition rounds waited for
  // it: confirmations 5-13.6 s in 6 of 26).
  static constexpr std::int64_t kWatchLagMs = 1000;
  void NoteCommitted(std::int64_t revision) {
    std::lock_guard lock(commit_mu_);
    if (!committed_.empty() && committed_.back().first >= revision) return;
    if (committed_.size() >= 4096) committed_.pop_front();
    committed_.emplace_back(revision, MonotonicMs());
  }
  bool WatchBehind(std::int64_t seen, std::int64_t stream_began) {
    std::lock_guard lock(commit_mu_);
    while (!committed_.empty() && committed_.front().first <= seen) committed_.pop_front();
    return !committed_.empty() &&
           MonotonicMs() - std::max(committed_.front().second, stream_began) > kWatchLagMs;
  }

  void KeepLease() {
    EtcdClient client(endpoints_);
    client.SharedMembers(members_);
    // A member that does not answer (cut off, stopped) costs one renewal interval, not curl's 5 s:
    // the next renewal goes to the next member well within the TTL.
    client.set_timeout_ms(attempt_ms_);
    while (!stop_) {
      if (auto r = client.KeepAlive(lease_); !r) {
        Warn(r.error().message);
        if (r.error().code == core::Code::kNotFound) Regrant(client);
      } else if (auto beat = client.Put(std::string(kRoot) + "controllers/" + me_, "up", lease_);
                 !beat) {
        // Written at each renewal, so that every controller's watch hears something every
        // TTL/3 while etcd works, and can tell a silent member from a quiet cluster (WatchLoop).
        Warn(beat.error().message);
      } else {
        NoteCommitted(*beat);
      }
      for (int i = 0; i < 10 * ttl_s_ / 3 + 1 && !stop_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // The controller's lease expired (etcd unreachable, or without a leader, for longer than the
  // TTL: found by tests/cli/killswitch_chaos_test.sh, a partition round): its key and its agents'
  // entries went with it, so the other controllers no longer saw its agents (an order issued
  // there would have left them out), and every enrolment here failed for ever ("requested lease
  // not found"). A new lease, and the controller and every agent still enrolled here put again
  // under it by the writer, after what was queued (an agent gone meanwhile is deleted after its
  // put). On the keeper's own client, without mu_: an order's fence does not wait on it.
  void Regrant(EtcdClient& client) {
    auto lease = client.GrantLease(ttl_s_);
    if (!lease) {
      Warn(lease.error().message);  // the next keep-alive finds the old lease gone again
      return;
    }
    lease_ = *lease;
    if (auto r = client.Put(std::string(kRoot) + "controllers/" + me_, "up", lease_); !r)
      Warn(r.error().message);
    std::size_t agents = 0;
    {
      std::lock_guard local(local_mu_);
      std::lock_guard queue(queue_mu_);
      for (const auto& [key, value] : local_)
        queue_.push_back({key, value, false, true, MonotonicMs()});
      agents = local_.size();
    }
    queued_.notify_one();
    Warn(fmt::format("etcd: this controller's lease had expired: a new one, and its {} agents "
                     "registered again",
                     agents));
  }

  void WatchLoop(std::int64_t from) {
    EtcdClient client(endpoints_);
    client.SharedMembers(members_);
    std::int64_t seen = from - 1;
    std::int64_t said = 0, unsaid = 0;
    while (!stop_) {
      std::int64_t began = MonotonicMs();
      // After a broken stream, resume after the last event delivered: not from the start again
      // (every order and ack since the controller started would be relayed a second time).
      auto r = client.Watch(
          std::string(kRoot), seen + 1, stop_,
          [&](const std::string& key, const std::string& value) {
            bool order = key.starts_with(std::string(kRoot) + "orders/");
            bool ack = key.starts_with(std::string(kRoot) + "acks/");
            if (!order && !ack) return;
            std::optional<json> v = OpenEtcdValue(master_, key, value);
            if (!v) {
              Warn("etcd: ignored " + key +
                   ": not sealed by a controller (is etcd access-controlled?)");
              return;
            }
            std::lock_guard lock(inbound_mu_);
            if (order) {
              std::optional<RelayedOrder> o = ParseRelayedOrder(*v);
              if (!o) {
                Warn("etcd: ignored " + key + ": not an order");
                return;
              }
              if (o->controller == me_) return;
              inbound_.orders.emplace_back(o->note, o->targets);
            } else {
              inbound_.acks.push_back(std::move(*v));  // its fields are type-checked where used
            }
            std::uint64_t one = 1;
            if (write(wake_, &one, sizeof one) < 0) {
            }
          },
          &seen, ttl_s_ + 2, [&] { return WatchBehind(seen, began); });
      if (!r && !stop_) {
        // Said at most once a second, with a count of those left unsaid: a stream that ends again
        // and again (every member down) must not flood the log.
        std::int64_t now = MonotonicMs();
        if (now - said >= 1000) {
          Warn(unsaid == 0 ? r.error().message
                           : fmt::format("{} ({} more watch errors since the last said)",
                                         r.error().message, unsaid));
          said = now;
          unsaid = 0;
        } else {
          ++unsaid;
        }
        // Whatever ended the stream (behind, cut, refused), not faster than 5 times a second.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }

  Secret master_;
  std::vector<std::string> endpoints_;
  EtcdClient client_;
  std::mutex mu_;
  std::int64_t ttl_s_;
  long attempt_ms_;
  std::shared_ptr<EtcdMembers> members_;  // what the writer's, keeper's and watch's clients learn
  std::atomic<std::int64_t> lease_{0};
  std::string me_;
  std::mutex local_mu_;
  std::map<std::string, std::string> local_;  // the agents enrolled here: key -> sealed entry
  int wake_;
  std::atomic<bool> stop_{false};
  std::thread keeper_, watcher_, writer_;
  std::mutex queue_mu_;
  std::condition_variable queued_;
  std::deque<Op> queue_;
  std::mutex commit_mu_;
  std::deque<std::pair<std::int64_t, std::int64_t>> committed_;  // revision, monotonic ms
  std::mutex inbound_mu_;
  Inbound inbound_;
};

}  // namespace

Result<std::unique_ptr<Coordinator>> EtcdCoordinator(const std::string& endpoints,
                                                     std::int64_t lease_ttl_ms,
                                                     const Secret& master) {
  std::vector<std::string> list;
  std::stringstream in(endpoints);
  for (std::string e; std::getline(in, e, ',');) {
    if (!e.starts_with("http://")) {
      return core::InvalidArgument(fmt::format("'{}' is not an http:// etcd endpoint", e),
                                   "--etcd");
    }
    list.push_back(e);
  }
  if (list.empty()) return core::InvalidArgument("give etcd endpoints", "--etcd");
  auto etcd = std::make_unique<Etcd>(list, lease_ttl_ms, master);
  FL_RETURN_IF_ERROR(etcd->Start());
  return std::unique_ptr<Coordinator>(std::move(etcd));
}

}  // namespace flopline::killswitch
