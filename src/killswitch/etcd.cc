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

}  // namespace

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

Result<json> EtcdClient::Call(const std::string& path, const json& body) {
  std::string request = body.dump();
  std::string last_error = "no endpoint";
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
      continue;
    }
    json out = json::parse(response, nullptr, false);
    if (status != 200 || out.is_discarded()) {
      return Unavailable(fmt::format("{} answered {}: {}", url, status, response));
    }
    current_ = (current_ + attempt) % endpoints_.size();
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
  const std::atomic<bool>* stop;
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
      auto type = ev.find("type");
      if (type != ev.end() && !(type->is_string() && type->get<std::string>() == "PUT")) continue;
      auto kv = ev.find("kv");
      if (kv == ev.end() || !kv->is_object()) continue;
      auto key = kv->find("key"), value = kv->find("value");
      if (key == kv->end() || value == kv->end()) continue;
      // The gateway writes int64s as strings.
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

int OnWatchProgress(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<WatchState*>(p)->stop->load() ? 1 : 0;
}

}  // namespace

Result<void> EtcdClient::Watch(
    const std::string& prefix, std::int64_t start_revision, const std::atomic<bool>& stop,
    const std::function<void(const std::string&, const std::string&)>& on_put,
    std::int64_t* last_revision, long idle_s) {
  json body = {{"create_request",
                {{"key", B64(prefix)},
                 {"range_end", B64(PrefixEnd(prefix))},
                 {"start_revision", std::to_string(start_revision)}}}};
  std::string request = body.dump();
  CURL* c = curl_easy_init();
  WatchState state{{}, &stop, &on_put, last_revision};
  std::string url = endpoints_[current_] + "/v3/watch";
  // A member that loses its leader (killed, partitioned away) cancels the watch instead of
  // keeping it open and silent; the caller then watches through the next endpoint.
  curl_slist* headers = curl_slist_append(nullptr, "Grpc-Metadata-hasleader: true");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnWatchData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnWatchProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &state);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  if (idle_s > 0) {
    // Not one byte in idle_s seconds: the member is cut off (a partition drops its packets, so it
    // cannot even cancel the watch), and the stream moves on to the next member.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle_s);
  }
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  curl_slist_free_all(headers);
  if (stop.load()) return core::Ok();
  // However the stream ended (refused, cut, cancelled for want of a leader), the next watch goes
  // to the next endpoint: one dead or isolated member must not keep the others' events away
  // (found by tests/cli/killswitch_chaos_test.sh: with the leader SIGKILLed, a controller's watch
  // retried that member alone and relayed an order only after it had expired).
  current_ = (current_ + 1) % endpoints_.size();
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
        wake_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

  ~Etcd() override {
    stop_ = true;
    { std::lock_guard lock(queue_mu_); }  // the writer is waiting, or will see stop_
    queued_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (watcher_.joinable()) watcher_.join();
    if (keeper_.joinable()) keeper_.join();
    close(wake_);
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
    SendQueued();
    FL_ASSIGN_OR_RETURN(std::int64_t revision, client_.Put(std::string(kRoot) + "fence", me_));
    return static_cast<std::uint64_t>(revision);
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
    SendQueued();
    auto r = client_.Put(key, sealed, lease_);
    if (!r) {
      Warn(r.error().message);
      return 0;
    }
    return static_cast<std::uint64_t>(*r);  // every fence so far is an earlier revision
  }

  void AgentRenewed(const std::string&) override {}  // the controller's one lease keeps them all

  void AgentDown(const std::string& id) override {
    std::string key = std::string(kRoot) + "agents/" + id;
    {
      std::lock_guard lock(local_mu_);
      local_.erase(key);
    }
    Queue({key, "", true});
  }

  std::vector<json> RemoteAgents() override {
    std::lock_guard lock(mu_);
    SendQueued();
    auto kvs = client_.RangePrefix(std::string(kRoot) + "agents/");
    // An order to agents this controller cannot see is a narrowed order: while the cluster elects
    // a leader (found by tests/cli/killswitch_chaos_test.sh: the leader SIGKILLed, a shutdown
    // reached only this controller's agents), try again for up to ~3 s before giving up.
    for (int tries = 0; !kvs && tries < 30; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      kvs = client_.RangePrefix(std::string(kRoot) + "agents/");
    }
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

  void PublishOrder(std::uint64_t fence, const std::string& note,
                    const std::vector<std::string>& targets) override {
    json value = {{"note", note}, {"targets", targets}, {"controller", me_}};
    std::string key = fmt::format("{}orders/{:020}", kRoot, fence);
    // Queued: the writer sends it at once, in order with the acks that follow it.
    Queue({key, SealEtcdValue(master_, key, value.dump()), false});
  }

  void PublishAck(std::uint64_t fence, const json& ack) override {
    auto id = ack.find("id");
    if (id == ack.end() || !id->is_string()) return;
    std::string key = fmt::format("{}acks/{:020}/{}", kRoot, fence, id->get<std::string>());
    Queue({key, SealEtcdValue(master_, key, ack.dump()), false});
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

  // Writes nobody waits on (an agent gone, an ack for whichever controller issued the order) are
  // queued and sent by the writer thread, many to one transaction: ten thousand acks are then ~160
  // transactions off the controller's loop, not twenty thousand round trips in it (measured by
  // bench/killswitch_fleet.cc). A write that returns something (a fence, an agent's floor) or a
  // read first sends what is queued, under the same lock, so etcd sees every write in the order
  // the controller made it.
  struct Op {
    std::string key, value;
    bool erase = false;
    std::int64_t lease = 0;  // a put under this lease
  };
  void Queue(Op op) {
    {
      std::lock_guard lock(queue_mu_);
      queue_.push_back(std::move(op));
    }
    queued_.notify_one();
  }
  // Sends everything queued; the caller holds mu_.
  void SendQueued() {
    std::deque<Op> ops;
    {
      std::lock_guard lock(queue_mu_);
      ops.swap(queue_);
    }
    // etcd allows 128 operations per transaction by default, and a key only once in each.
    constexpr size_t kMaxTxnOps = 128;
    while (!ops.empty()) {
      json success = json::array();
      std::set<std::string> keys;
      while (!ops.empty() && success.size() < kMaxTxnOps && !keys.contains(ops.front().key)) {
        Op& op = ops.front();
        keys.insert(op.key);
        if (op.erase) {
          success.push_back({{"requestDeleteRange", {{"key", B64(op.key)}}}});
        } else {
          json put = {{"key", B64(op.key)}, {"value", B64(op.value)}};
          if (op.lease != 0) put["lease"] = std::to_string(op.lease);
          success.push_back({{"requestPut", put}});
        }
        ops.pop_front();
      }
      if (auto r = client_.Call("/v3/kv/txn", {{"success", success}}); !r) {
        Warn(r.error().message);
      }
    }
  }
  void WriteLoop() {
    for (;;) {
      {
        std::unique_lock lock(queue_mu_);
        queued_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_ && queue_.empty()) return;
      }
      std::lock_guard lock(mu_);
      SendQueued();
    }
  }

  void KeepLease() {
    EtcdClient client(endpoints_);
    // A member that does not answer (cut off, stopped) costs one renewal interval, not curl's 5 s:
    // the next renewal goes to the next member well within the TTL.
    client.set_timeout_ms(std::max<long>(500, static_cast<long>(ttl_s_) * 1000 / 3));
    while (!stop_) {
      if (auto r = client.KeepAlive(lease_); !r) {
        Warn(r.error().message);
        if (r.error().code == core::Code::kNotFound) Regrant(client);
      } else if (auto beat = client.Put(std::string(kRoot) + "controllers/" + me_, "up", lease_);
                 !beat) {
        // Written at each renewal, so that every controller's watch hears something every
        // TTL/3 while etcd works, and can tell a silent member from a quiet cluster (WatchLoop).
        Warn(beat.error().message);
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
      for (const auto& [key, value] : local_) queue_.push_back({key, value, false, lease_});
      agents = local_.size();
    }
    queued_.notify_one();
    Warn(fmt::format("etcd: this controller's lease had expired: a new one, and its {} agents "
                     "registered again",
                     agents));
  }

  void WatchLoop(std::int64_t from) {
    EtcdClient client(endpoints_);
    std::int64_t seen = from - 1;
    while (!stop_) {
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
          &seen, ttl_s_ + 2);
      if (!r && !stop_) {
        Warn(r.error().message);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }

  Secret master_;
  std::vector<std::string> endpoints_;
  EtcdClient client_;
  std::mutex mu_;
  std::int64_t ttl_s_;
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
