// File: flopline/killswitch/etcd.h
//
// High availability on an existing engine: a Coordinator whose state lives in etcd (Debian's
// etcd-server), driven through etcd's v3 JSON gateway (keys and values base64) with libcurl.
//
//   /flopline/ks/agents/<id>      {"id","model","lineage","controller"}, attached to the enrolling
//                                 controller's etcd lease: if that controller dies, its agents'
//                                 entries vanish with its lease, and the agents re-enrol elsewhere
//   /flopline/ks/fence            written once per order; the write's cluster-wide revision is the
//                                 order's fencing token (etcd revisions only increase)
//   /flopline/ks/orders/<fence>   {"note","targets","controller"}: every controller watches the
//                                 prefix and pushes each order to the targets connected to it
//   /flopline/ks/acks/<fence>/<id>  acknowledgements, watched by the controller that issued it
//
// Every value under agents/, orders/ and acks/ is sealed (SealEtcdValue) under a key derived from
// the controllers' master secret and bound to its etcd key; a value that does not open, or whose
// fields have the wrong types, is skipped and logged, never acted on. etcd itself must still be
// access-controlled (client certificates or RBAC): whoever can write to it can delete entries and
// so hide a remote agent from a controller's status, or suppress relayed orders.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/controller.h"

namespace flopline::killswitch {

// `endpoints`: http://HOST:PORT[,http://HOST:PORT...]. The controller's own etcd lease lasts
// `lease_ttl_ms` rounded up to whole seconds (etcd's granularity). `master`: the controllers'
// master secret (MasterSecret of their shared signing key), which seals what they write.
core::Result<std::unique_ptr<Coordinator>> EtcdCoordinator(const std::string& endpoints,
                                                           std::int64_t lease_ttl_ms,
                                                           const Secret& master);

// The stored form of `value` (JSON text) under etcd key `key`: an envelope whose mac is keyed by
// the master secret and the etcd key, so a value is neither forged nor moved to another key.
std::string SealEtcdValue(const Secret& master, std::string_view key, std::string_view value);
// The JSON object sealed in `stored` under `key`; nullopt when it is not one, or its mac fails.
std::optional<nlohmann::json> OpenEtcdValue(const Secret& master, std::string_view key,
                                            std::string_view stored);

// An order relayed by another controller: nullopt unless "note" is a string, "targets" an array
// of strings and "controller" a string. Never throws, whatever the types.
struct RelayedOrder {
  std::string note;
  std::vector<std::string> targets;
  std::string controller;
};
std::optional<RelayedOrder> ParseRelayedOrder(const nlohmann::json& v);
// The controller an agent entry names ("controller", a string); nullopt when it is not a string.
std::optional<std::string> EntryController(const nlohmann::json& v);

// The most bytes an order's entry in etcd may take (an order is one put, never split): below
// etcd's default --max-request-bytes (1.5 MiB) with room for the transaction around it.
inline constexpr std::size_t kEtcdMaxOrderBytes = 1'400'000;
// Ok if an order to `targets` (`named`: those of them it names by lineage, in its note) fits in
// one etcd request; kFailedPrecondition, saying so, if it might not (issue 16 review: a write too
// large was kept at the head of the writer's queue for a day, and every later order and enrolment
// refused behind it). 100,000 ids of 7 bytes fit.
core::Result<void> EtcdOrderFits(const std::vector<std::string>& targets,
                                 const std::vector<std::string>& named);

// What a lease keep-alive's answer says: Ok while the lease lives; kNotFound once it has expired
// (TTL 0, left out by the gateway); kUnavailable for an error answered in its place (no leader, a
// timeout during an election), which says nothing of the lease.
core::Result<void> KeepAliveAnswer(const nlohmann::json& answer);

// What the clients of one process know of the members, shared between them (SharedMembers): which
// one served last, and which went unanswered (no answer, or 5xx) since it last served. A client
// starts from a member that serves rather than one another client found silent, and a watch leaves
// a member found silent (found by the chaos test's partition rounds: the lease keeper had left a
// cut-off member while the writer and the watch each waited out their own bound on it).
// `silenced` counts the times each member was found silent: a watch leaves its member only when it
// was found silent after the stream began, and never while every member is silent (it then waited
// on none and was abandoned and begun again in a loop: ~16,000 warnings and 3.2 CPU s in a 4 s
// outage of the one member; tests/cli/killswitch_etcd_stall_test.sh).
struct EtcdMembers {
  explicit EtcdMembers(std::size_t n) : silent(n), silenced(n) {}
  bool AllSilent() const {
    for (const auto& s : silent)
      if (!s.load()) return false;
    return true;
  }
  std::vector<std::atomic<bool>> silent;
  std::vector<std::atomic<std::uint64_t>> silenced;
  std::atomic<std::size_t> served{0};
};

// A minimal etcd v3 JSON-gateway client, also used by the benchmark's watch-based baseline.
class EtcdClient {
 public:
  explicit EtcdClient(std::vector<std::string> endpoints);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // How long one request to one member may take before the next member is tried (default 5 s).
  void set_timeout_ms(long ms) { timeout_ms_ = ms; }
  // Shares what this client learns of the members with the other clients given the same object
  // (its size: the number of endpoints).
  void SharedMembers(std::shared_ptr<EtcdMembers> members) { members_ = std::move(members); }

  // One request, tried on each member in turn from the one that answered last, until one serves
  // it. kUnavailable when none did (none answered, or each answered an error: no leader, timed
  // out, a lease not found); kFailedPrecondition when a member refused the request itself (400 or
  // 413: too large, too many operations; 429 "larger than max": over the gRPC bound), which the
  // next member would refuse too.
  core::Result<nlohmann::json> Call(const std::string& path, const nlohmann::json& body);
  core::Result<std::int64_t> Put(const std::string& key, const std::string& value,
                                 std::int64_t lease = 0);
  core::Result<std::vector<std::pair<std::string, std::string>>> RangePrefix(
      const std::string& prefix);
  core::Result<void> Delete(const std::string& key);
  core::Result<std::int64_t> GrantLease(std::int64_t ttl_seconds);
  // kNotFound once the lease has expired (a new one must be granted); kUnavailable if etcd cannot
  // be reached.
  core::Result<void> KeepAlive(std::int64_t lease);
  // Streams events under `prefix` from `start_revision` until `stop` is set; calls `on_put` for
  // each put (key, value) and raises `*last_revision` (if given) to each one's mod_revision.
  // `*last_revision` counts every event's revision, deletes' too.
  // Returns when stopped or the stream breaks (refused, cut, cancelled by a member that lost its
  // leader, or, with `idle_s` > 0, silent for idle_s seconds), or when `move_on` (asked every
  // 100 ms, if given) says the stream is behind (kAborted); a broken stream moves the client to
  // its next endpoint.
  core::Result<void> Watch(
      const std::string& prefix, std::int64_t start_revision, const std::atomic<bool>& stop,
      const std::function<void(const std::string&, const std::string&)>& on_put,
      std::int64_t* last_revision = nullptr, long idle_s = 0,
      const std::function<bool()>& move_on = {});

 private:
  std::vector<std::string> endpoints_;
  size_t current_ = 0;
  std::shared_ptr<EtcdMembers> members_;
  void Served(size_t i);
  void Silent(size_t i);
  size_t Start();  // the member to try first
  long timeout_ms_ = 5000;
  void* curl_ = nullptr;
};

std::string PrefixEnd(const std::string& prefix);

}  // namespace flopline::killswitch
