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
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/killswitch/controller.h"

namespace flopline::killswitch {

// `endpoints`: http://HOST:PORT[,http://HOST:PORT...]. The controller's own etcd lease lasts
// `lease_ttl_ms` rounded up to whole seconds (etcd's granularity).
core::Result<std::unique_ptr<Coordinator>> EtcdCoordinator(const std::string& endpoints,
                                                           std::int64_t lease_ttl_ms);

// A minimal etcd v3 JSON-gateway client, also used by the benchmark's watch-based baseline.
class EtcdClient {
 public:
  explicit EtcdClient(std::vector<std::string> endpoints);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  core::Result<nlohmann::json> Call(const std::string& path, const nlohmann::json& body);
  core::Result<std::int64_t> Put(const std::string& key, const std::string& value,
                                 std::int64_t lease = 0);
  core::Result<std::vector<std::pair<std::string, std::string>>> RangePrefix(
      const std::string& prefix);
  core::Result<void> Delete(const std::string& key);
  core::Result<std::int64_t> GrantLease(std::int64_t ttl_seconds);
  core::Result<void> KeepAlive(std::int64_t lease);
  // Streams events under `prefix` from `start_revision` until `stop` is set; calls `on_put` for
  // each put (key, value). Returns when stopped or the stream breaks.
  core::Result<void> Watch(
      const std::string& prefix, std::int64_t start_revision, const std::atomic<bool>& stop,
      const std::function<void(const std::string&, const std::string&)>& on_put);

 private:
  std::vector<std::string> endpoints_;
  size_t current_ = 0;
  void* curl_ = nullptr;
};

std::string PrefixEnd(const std::string& prefix);

}  // namespace flopline::killswitch
