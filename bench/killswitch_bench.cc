// Time to full shutdown, from the order to the last confirmation, with real processes on loopback:
//
//   flopline  a `flopline killswitch controller` and N `flopline killswitch agent` processes, each
//             running a real workload (sleep); the controller's report gives the time from signing
//             the order to the last "workload gone" acknowledgement.
//   etcd      the same shutdown through an etcd watch (the anchor design): N watchers, each with its
//             own watch stream on the etcd v3 JSON gateway and its own workload process; the order is
//             a put, each watcher kills its workload and puts an ack, the issuer watches the acks.
//             Measured from the order's put to the last ack seen.
//   floor     the physical limit on this host, measured in the same run: N minimal processes, each
//             blocked on a socket with a sleep child; one message each; each kills its child, waits
//             for it and acknowledges. No protocol, no crypto: only waking and exiting processes.
//   fail-closed  the controller is SIGKILLed; time until every workload is gone, against TTL.
//
// Rounds are repeated; p50 and p99 are over rounds (with few rounds p99 is the worst one).
// usage: killswitch_bench FLOPLINE_BINARY [AGENTS=10,100,1000] [ROUNDS=20,10,5]
// Needs etcd on PATH (Debian's etcd-server).
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/etcd.h"
#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/net.h"
#include "flopline/killswitch/protocol.h"
#include "killswitch_bench_util.h"

namespace {

using namespace flopline::killswitch;
using nlohmann::json;
using flopline::bench::Ints;
using flopline::bench::Percentile;
using flopline::bench::Spawn;

// The controller's master secret, from its key file once the controller has written it.
std::optional<Secret> g_master;

bool LoadMaster(const std::string& key_file) {
  std::ifstream in(key_file);
  std::string key;
  if (!std::getline(in, key)) return false;
  auto signer = flopline::ledger::Signer::Parse(key);
  if (signer) g_master = MasterSecret(*signer);
  return signer.has_value();
}

// One authenticated request as the operator; the unsealed answer, or null.
json Ask(std::uint16_t port, ClientMessage request, int timeout_ms = 60000) {
  if (!g_master) return json();
  Credential op = *DeriveCredential(*g_master, "operator");
  auto fd = Connect({"127.0.0.1", port}, 2000);
  if (!fd) return json();
  LineConn conn(*fd, 1 << 24);
  std::optional<std::string> hello = conn.ReadLine(timeout_ms);
  auto h = hello ? ParseControllerMessage(*hello) : flopline::core::Result<ControllerMessage>(
                                                        flopline::core::InvalidArgument("none"));
  if (!h || !std::holds_alternative<HelloMsg>(*h)) return json();
  Secret session = SessionKey(op.secret, std::get<HelloMsg>(*h).nonce);
  std::visit([](auto& m) { m.seq = 1; }, request);
  conn.SendLine(Seal(session, Direction::kClient, op.From(), ToJson(request).dump()));
  std::optional<std::string> line = conn.ReadLine(timeout_ms);
  conn.Close();
  auto env = line ? ParseEnvelope(*line) : flopline::core::Result<Envelope>(flopline::core::InvalidArgument("none"));
  if (!env || !MacValid(session, Direction::kController, *env)) return json();
  return json::parse(env->msg, nullptr, false);
}

// Waits for a controller's key file and its answer to status.
void AwaitController(std::uint16_t port, const std::string& key_file) {
  for (int i = 0; i < 200 && !(g_master || LoadMaster(key_file)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int i = 0; i < 200 && !Ask(port, StatusMsg{}, 500).is_object(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Agent `id`'s credential file, written (0600) on first use.
std::string CredentialFile(const std::string& dir, const std::string& id) {
  std::string path = dir + "/cred-" + id;
  if (!std::filesystem::exists(path)) {
    std::ofstream(path) << DeriveCredential(*g_master, "agent:" + id)->ToString();
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  return path;
}

size_t Live(std::uint16_t port) {
  json s = Ask(port, StatusMsg{});
  size_t n = 0;
  if (s.is_object()) {
    for (const json& a : s["agents"]) n += a.value("state", "") == "live" && a.value("connected", false);
  }
  return n;
}

void Reap(std::vector<pid_t>& pids) {
  for (pid_t p : pids) kill(p, SIGKILL);
  for (pid_t p : pids) waitpid(p, nullptr, 0);
  pids.clear();
}

// Each round's agents serve a model of their own: an order stays in force until it expires, so a
// new round under the last round's scope would be told to stop at enrolment.
int g_round = 0;

std::vector<pid_t> StartAgents(const std::string& bin, std::uint16_t port, int n, const std::string& dir) {
  std::vector<pid_t> agents;
  ++g_round;
  for (int i = 0; i < n; ++i) {
    std::string id = fmt::format("a{}", i);
    agents.push_back(Spawn({bin, "killswitch", "agent", "--controller", fmt::format("127.0.0.1:{}", port), "--id", id,
                            "--model", fmt::format("m{}", g_round), "--grace", "5", "--credential",
                            CredentialFile(dir, id), "--", "sleep", "100000"},
                           dir + "/agents.log"));
  }
  for (std::int64_t deadline = MonotonicMs() + 120'000; Live(port) < static_cast<size_t>(n);) {
    if (MonotonicMs() > deadline) {
      std::fprintf(stderr, "bench: the agents did not enrol within 2 minutes; see %s\n", dir.c_str());
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return agents;
}

// One round through flopline: returns the controller's order-to-last-confirmation time in ms.
double FloplineRound(const std::string& bin, std::uint16_t port, int n, const std::string& dir) {
  std::vector<pid_t> agents = StartAgents(bin, port, n, dir);
  json report = Ask(port, ShutdownMsg{0, fmt::format("model:m{}", g_round), "bench", 60'000, NowMs(), false});
  for (pid_t p : agents) waitpid(p, nullptr, 0);
  if (!report.is_object() || report["stopped"].get<size_t>() != static_cast<size_t>(n)) {
    std::fprintf(stderr, "bench: incomplete shutdown: %s\n", report.dump().c_str());
    std::exit(1);
  }
  return report["elapsed_ms"].get<double>();
}

// One round through an etcd watch.
double EtcdRound(const std::string& endpoint, int n, int round) {
  std::string prefix = fmt::format("/bench/{}/{}/", getpid(), round);
  std::vector<pid_t> workloads;
  for (int i = 0; i < n; ++i) workloads.push_back(Spawn({"sleep", "100000"}));
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> watchers;
  EtcdClient setup({endpoint});
  std::int64_t start_rev = *setup.Put(prefix + "start", "x");
  for (int i = 0; i < n; ++i) {
    watchers.emplace_back([&, i] {
      EtcdClient client({endpoint});
      bool done = false;
      ready++;
      client.Watch(prefix + "order", start_rev + 1, stop, [&](const std::string&, const std::string&) {
        if (done) return;
        done = true;
        kill(workloads[static_cast<size_t>(i)], SIGTERM);
        waitpid(workloads[static_cast<size_t>(i)], nullptr, 0);
        client.Put(fmt::format("{}ack/{}", prefix, i), std::to_string(NowMs()));
      });
    });
  }
  while (ready < n) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200 + n));  // let every watch stream open
  std::atomic<bool> acks_stop{false};
  std::set<std::string> acked;
  std::int64_t last = 0;
  std::mutex mu;
  std::int64_t t0 = 0;
  std::thread issuer_watch([&] {
    EtcdClient client({endpoint});
    client.Watch(prefix + "ack/", start_rev + 1, acks_stop, [&](const std::string& key, const std::string&) {
      std::lock_guard lock(mu);
      acked.insert(key);
      last = MonotonicMs();
      if (acked.size() == static_cast<size_t>(n)) acks_stop = true;
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  t0 = MonotonicMs();
  setup.Put(prefix + "order", "stop");
  issuer_watch.join();
  stop = true;
  for (auto& w : watchers) w.join();
  return static_cast<double>(last - t0);
}

// The floor: what waking N processes and having each stop a child costs on this host.
double FloorRound(int n) {
  int ack[2];
  if (pipe(ack) != 0) std::exit(1);
  std::vector<int> fds;
  std::vector<pid_t> children;
  for (int i = 0; i < n; ++i) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t p = fork();
    if (p == 0) {
      close(sv[0]);
      pid_t w = fork();
      if (w == 0) {
        execlp("sleep", "sleep", "100000", nullptr);
        _exit(127);
      }
      char buf[600];
      if (read(sv[1], buf, sizeof buf) <= 0) _exit(1);
      kill(w, SIGTERM);
      waitpid(w, nullptr, 0);
      if (write(ack[1], "x", 1) != 1) _exit(1);
      _exit(0);
    }
    close(sv[1]);
    fds.push_back(sv[0]);
    children.push_back(p);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500 + n));
  char msg[600] = {};
  std::int64_t t0 = MonotonicMs();
  for (int fd : fds) {
    if (write(fd, msg, sizeof msg) != sizeof msg) std::exit(1);
  }
  for (int i = 0; i < n; ++i) {
    char c;
    if (read(ack[0], &c, 1) != 1) std::exit(1);
  }
  double elapsed = static_cast<double>(MonotonicMs() - t0);
  for (pid_t p : children) waitpid(p, nullptr, 0);
  for (int fd : fds) close(fd);
  close(ack[0]);
  close(ack[1]);
  return elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: killswitch_bench FLOPLINE_BINARY [AGENTS] [ROUNDS]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  std::string bin = argv[1];
  std::vector<int> sizes = Ints(argc > 2 ? argv[2] : "10,100,1000");
  std::vector<int> rounds = Ints(argc > 3 ? argv[3] : "20,10,5");
  std::string dir = (std::filesystem::temp_directory_path() / fmt::format("flopline-ks-bench-{}", getpid())).string();
  std::filesystem::create_directories(dir);
  // Below the ephemeral range (32768-60999), where a fleet's client connections would collide.
  std::uint16_t port = static_cast<std::uint16_t>(23000 + (getpid() % 240) * 4);
  std::uint16_t etcd_port = static_cast<std::uint16_t>(port + 1), peer = static_cast<std::uint16_t>(port + 2);
  std::string endpoint = fmt::format("http://127.0.0.1:{}", etcd_port);
  std::vector<pid_t> servers = {
      Spawn({bin, "killswitch", "controller", "--listen", fmt::format("127.0.0.1:{}", port), "--lease-ttl", "5",
             "--key", dir + "/ks.key"},
            dir + "/controller.log"),
      Spawn({"etcd", "--data-dir", dir + "/etcd", "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
             "--listen-peer-urls", fmt::format("http://127.0.0.1:{}", peer), "--initial-advertise-peer-urls",
             fmt::format("http://127.0.0.1:{}", peer), "--initial-cluster",
             fmt::format("default=http://127.0.0.1:{}", peer)},
            dir + "/etcd.log")};
  AwaitController(port, dir + "/ks.key");
  for (int i = 0; i < 200; ++i) {
    EtcdClient probe({endpoint});
    if (probe.Put("/bench/probe", "x")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::printf("%-8s %-7s %6s %10s %10s %10s\n", "path", "agents", "rounds", "p50 ms", "p99 ms", "max ms");
  for (size_t s = 0; s < sizes.size(); ++s) {
    int n = sizes[s], r = s < rounds.size() ? rounds[s] : rounds.back();
    std::vector<double> floor, ours, theirs;
    for (int i = 0; i < r; ++i) floor.push_back(FloorRound(n));
    for (int i = 0; i < r; ++i) ours.push_back(FloplineRound(bin, port, n, dir));
    for (int i = 0; i < r; ++i) theirs.push_back(EtcdRound(endpoint, n, static_cast<int>(s) * 1000 + i));
    for (auto [name, v] : {std::pair{"floor", &floor}, {"flopline", &ours}, {"etcd", &theirs}}) {
      std::printf("%-8s %-7d %6d %10.1f %10.1f %10.1f\n", name, n, r, Percentile(*v, 0.5), Percentile(*v, 0.99),
                  *std::max_element(v->begin(), v->end()));
    }
    std::fflush(stdout);
  }
  // Fail closed: SIGKILL the controller with N agents holding 1 s leases.
  std::vector<int> fail_sizes = {sizes.back()};
  for (int n : fail_sizes) {
    std::uint16_t p2 = static_cast<std::uint16_t>(port + 3);
    pid_t ctl = Spawn({bin, "killswitch", "controller", "--listen", fmt::format("127.0.0.1:{}", p2), "--lease-ttl",
                       "1", "--key", dir + "/ks.key"},
                      dir + "/controller2.log");
    AwaitController(p2, dir + "/ks.key");
    std::vector<pid_t> agents = StartAgents(bin, p2, n, dir);
    std::int64_t t0 = MonotonicMs();
    kill(ctl, SIGKILL);
    waitpid(ctl, nullptr, 0);
    for (pid_t a : agents) waitpid(a, nullptr, 0);  // an agent exits once its workload is gone
    std::printf("fail-closed: controller killed; all %d workloads gone after %lld ms (TTL 1000 ms, renewal 333 ms)\n",
                n, static_cast<long long>(MonotonicMs() - t0));
  }
  Reap(servers);
  std::filesystem::remove_all(dir);
  return 0;
}
