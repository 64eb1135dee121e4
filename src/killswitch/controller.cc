#include "flopline/killswitch/controller.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "flopline/killswitch/protocol.h"
#include "flopline/ledger/log.h"

namespace flopline::killswitch {

using nlohmann::json;

namespace {

class Local final : public Coordinator {
 public:
  core::Result<std::uint64_t> NextFence() override {
    // Wall-clock milliseconds, kept increasing: a restarted controller still issues fences above
    // every fence its agents have acted on.
    last_ = std::max<std::uint64_t>(last_ + 1, static_cast<std::uint64_t>(NowMs()));
    return last_;
  }
  std::uint64_t AgentUp(const json&) override {
    last_ = std::max<std::uint64_t>(last_, static_cast<std::uint64_t>(NowMs()));
    return last_;
  }
  void AgentRenewed(const std::string&) override {}
  void AgentDown(const std::string&) override {}
  std::vector<json> RemoteAgents() override { return {}; }
  void PublishOrder(std::uint64_t, const std::string&, const std::vector<std::string>&) override {}
  void PublishAck(std::uint64_t, const json&) override {}
  Inbound Poll() override { return {}; }

 private:
  std::uint64_t last_ = 0;
};

void Log(const std::string& message) {
  std::fprintf(stderr, "flopline killswitch controller: %s\n", message.c_str());
  std::fflush(stderr);
}

}  // namespace

std::unique_ptr<Coordinator> LocalCoordinator() { return std::make_unique<Local>(); }

struct Controller::Impl {
  struct Agent {
    std::string id, model, deployment;
    std::vector<std::string> lineage;
    int fd = -1;                 // -1 while disconnected
    std::int64_t last_renew = 0; // monotonic ms
    std::string state = "live";  // live | stopped | drained | exited | lease-expired
  };
  struct Pending {
    Order order;
    std::string note;
    bool drill = false;
    std::vector<std::string> targeted;
    std::map<std::string, json> acks;
    std::int64_t start = 0, deadline = 0;  // monotonic ms
    int client = -1;
    std::int64_t last_confirm = 0;
  };

  ControllerOptions opt;
  ledger::Signer signer;
  std::unique_ptr<Coordinator> coord;
  int listener = -1;
  std::map<int, std::unique_ptr<LineConn>> conns;
  std::map<int, std::string> agent_of;  // fd -> agent id
  std::map<std::string, Agent> agents;
  std::vector<Pending> pending;

  Impl(ControllerOptions o, ledger::Signer s, std::unique_ptr<Coordinator> c)
      : opt(std::move(o)), signer(std::move(s)), coord(std::move(c)) {}

  void Send(int fd, const json& j) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    it->second->Queue(j.dump());
    it->second->Flush();
  }

  bool LeaseValid(const Agent& a, std::int64_t now) const { return now - a.last_renew <= opt.lease_ttl_ms; }

  // What the agent declared, plus the model's ancestors in the inventory's base map.
  static std::vector<std::string> Lineage(const std::string& model, std::vector<std::string> declared,
                                          const std::map<std::string, std::string>& bases) {
    std::string at = model;
    for (size_t steps = 0; steps < bases.size(); ++steps) {  // bounded: a cycle cannot loop forever
      auto base = bases.find(at);
      if (base == bases.end() || base->second.empty()) break;
      at = base->second;
      if (std::find(declared.begin(), declared.end(), at) == declared.end()) declared.push_back(at);
    }
    return declared;
  }

  void OnEnroll(int fd, const json& m, std::int64_t now) {
    if (!m["id"].is_string() || m["id"].get<std::string>().empty() || !m["model"].is_string()) {
      Send(fd, {{"type", "error"}, {"message", "enroll needs id and model"}});
      return;
    }
    Agent& a = agents[m["id"]];
    if (a.fd >= 0 && a.fd != fd) agent_of.erase(a.fd);
    a.id = m["id"];
    a.model = m["model"];
    a.deployment = m.value("deployment", "");
    a.lineage.clear();
    if (m["lineage"].is_array()) {
      for (const json& l : m["lineage"]) {
        if (l.is_string()) a.lineage.push_back(l);
      }
    }
    a.fd = fd;
    a.last_renew = now;
    a.state = "live";
    agent_of[fd] = a.id;
    std::uint64_t floor = coord->AgentUp({{"id", a.id}, {"model", a.model}, {"lineage", a.lineage}});
    Send(fd, {{"type", "enrolled"}, {"ttl_ms", opt.lease_ttl_ms}, {"key", signer.VerifierKey()}, {"fence", floor}});
    // An order still waiting for this agent reaches it as soon as it is back.
    for (const Pending& p : pending) {
      if (std::find(p.targeted.begin(), p.targeted.end(), a.id) != p.targeted.end() && !p.acks.contains(a.id)) {
        Send(fd, {{"type", "order"}, {"order", p.note}});
      }
    }
  }

  void OnAck(const json& m, std::int64_t now, bool remote) {
    if (!m["id"].is_string() || !m["fence"].is_number_unsigned()) return;
    std::string id = m["id"];
    std::string result = m.value("result", "");
    auto agent = agents.find(id);
    if (result == "refused") {
      Log(fmt::format("agent {} refused order {}: {} ({})", id, m["fence"].get<std::uint64_t>(),
                      m.value("refusal", ""), m.value("detail", "")));
    } else if (agent != agents.end()) {
      agent->second.state = result;
      if (!remote) coord->AgentDown(id);
    }
    for (Pending& p : pending) {
      if (p.order.fence == m["fence"].get<std::uint64_t>() && result != "refused") {
        p.acks[id] = m;
        p.last_confirm = now;
      }
    }
    if (!remote && m["fence"].get<std::uint64_t>() != 0) coord->PublishAck(m["fence"], m);
  }

  void OnShutdown(int fd, const json& m, std::int64_t now) {
    auto scope = Scope::Parse(m.value("scope", ""));
    if (!scope) {
      Send(fd, {{"type", "error"}, {"message", scope.error().message}});
      return;
    }
    auto fence = coord->NextFence();
    if (!fence) {
      Send(fd, {{"type", "error"}, {"message", fence.error().message}});
      return;
    }
    Pending p;
    p.drill = m.value("drill", false);
    p.client = fd;
    p.start = now;
    p.last_confirm = now;
    std::int64_t timeout = std::max<std::int64_t>(m.value("timeout_ms", 30'000), 1);
    p.deadline = now + timeout;
    p.order.fence = *fence;
    p.order.scope = scope->ToString();
    p.order.reason = m.value("reason", "");
    p.order.issued_ms = NowMs();
    p.order.expires_ms = p.order.issued_ms + timeout;
    p.order.drain_ms = opt.drain_ms;
    // Targets, and among them those the scope reaches only through the inventory's lineage: the
    // order names those, since the agent cannot know it is included (others check the scope).
    std::set<std::string> targets, named;
    std::map<std::string, std::string> bases;
    if (scope->kind == Scope::Kind::kLineage && opt.model_bases) bases = opt.model_bases();
    auto consider = [&](const std::string& id, const std::string& model, const std::vector<std::string>& declared) {
      if (scope->Matches(id, model, declared)) {
        targets.insert(id);
      } else if (!bases.empty() && scope->Matches(id, model, Lineage(model, declared, bases))) {
        targets.insert(id);
        named.insert(id);
      }
    };
    for (const auto& [id, a] : agents) {
      // Live agents, and agents whose lease lapsed without a confirmation that they stopped.
      if (a.state == "live" || a.state == "lease-expired") consider(id, a.model, a.lineage);
    }
    for (const json& r : coord->RemoteAgents()) {
      std::vector<std::string> lineage;
      for (const json& l : r.value("lineage", json::array())) lineage.push_back(l.get<std::string>());
      consider(r["id"], r["model"], lineage);
    }
    p.targeted.assign(targets.begin(), targets.end());
    p.order.targets.assign(named.begin(), named.end());
    for (const std::string& id : p.targeted) {
      if (opt.exempt.contains(id)) p.order.drain.push_back(id);
    }
    auto note = SignOrder(p.order, signer);
    if (!note) {
      Send(fd, {{"type", "error"}, {"message", note.error().message}});
      return;
    }
    p.note = *note;
    Log(fmt::format("order {} ({}): {} targeted; reason: {}", p.order.fence, p.order.scope, p.targeted.size(),
                    p.order.reason));
    json order = {{"type", "order"}, {"order", p.note}};
    std::string line = order.dump();
    for (const std::string& id : p.targeted) {
      auto a = agents.find(id);
      if (a != agents.end() && a->second.fd >= 0) {
        conns[a->second.fd]->Queue(line);
        conns[a->second.fd]->Flush();
      }
    }
    coord->PublishOrder(p.order.fence, p.note, p.targeted);
    pending.push_back(std::move(p));
  }

  json Report(const Pending& p, std::int64_t now) {
    json stopped = json::array(), not_stopped = json::array(), drained = json::array();
    for (const std::string& id : p.targeted) {
      auto ack = p.acks.find(id);
      if (ack == p.acks.end()) {
        not_stopped.push_back(id);
      } else {
        (ack->second.value("result", "") == "drained" ? drained : stopped).push_back(id);
      }
    }
    bool complete = not_stopped.empty();
    json why = json::object();
    for (const auto& id : not_stopped) {
      auto a = agents.find(id);
      std::string reason = "no confirmation before the timeout";
      if (a != agents.end() && a->second.fd < 0) reason = "disconnected: its lease lapses and it stops itself, unconfirmed";
      why[id.get<std::string>()] = reason;
    }
    return {{"type", "report"},
            {"fence", p.order.fence},
            {"scope", p.order.scope},
            {"reason", p.order.reason},
            {"drill", p.drill},
            {"targeted", p.targeted.size()},
            {"stopped", stopped.size() + drained.size()},
            {"stopped_agents", stopped},
            {"drained_agents", drained},
            {"not_stopped", not_stopped},
            {"not_stopped_why", why},
            {"elapsed_ms", complete ? p.last_confirm - p.start : now - p.start},
            {"complete", complete}};
  }

  void Record(const Pending& p, const json& report) {
    if (opt.log == nullptr) return;
    json doc = report;
    doc.erase("type");
    doc["order"] = p.note;
    doc["acks"] = p.acks;
    ledger::RecordInput r{p.drill ? "shutdown-drill" : "shutdown-order", "", doc.dump(2),
                          core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())),
                          {}};
    auto appended = opt.log->Append({r});
    if (!appended) {
      Log("could not record the order in the ledger: " + appended.error().ToString());
    } else {
      Log(fmt::format("order {} recorded as ledger entry {}", p.order.fence, appended->front().index));
    }
  }

  void Finish(std::int64_t now) {
    for (auto it = pending.begin(); it != pending.end();) {
      bool all = std::all_of(it->targeted.begin(), it->targeted.end(),
                             [&](const std::string& id) { return it->acks.contains(id); });
      if (!all && now < it->deadline) {
        ++it;
        continue;
      }
      json report = Report(*it, now);
      if (it->client >= 0) Send(it->client, report);
      Log(fmt::format("order {}: {} of {} confirmed stopped in {} ms", it->order.fence,
                      report["stopped"].get<size_t>(), it->targeted.size(), report["elapsed_ms"].get<std::int64_t>()));
      Record(*it, report);
      it = pending.erase(it);
    }
  }

  json Status(std::int64_t now) {
    json list = json::array();
    for (const auto& [id, a] : agents) {
      std::string state = a.state == "live" && !LeaseValid(a, now) ? "lease-expired" : a.state;
      list.push_back({{"id", id}, {"model", a.model}, {"lineage", a.lineage}, {"deployment", a.deployment},
                      {"state", state},
                      {"connected", a.fd >= 0}, {"exempt", opt.exempt.contains(id)},
                      {"lease_ms_left", std::max<std::int64_t>(0, a.last_renew + opt.lease_ttl_ms - now)}});
    }
    for (const json& r : coord->RemoteAgents()) {
      if (!agents.contains(r["id"])) {
        json remote = r;
        remote["state"] = "live";
        remote["connected"] = false;
        remote["controller"] = "another";
        list.push_back(remote);
      }
    }
    return {{"type", "agents"}, {"agents", list}, {"lease_ttl_ms", opt.lease_ttl_ms}};
  }

  void OnMessage(int fd, const std::string& line, std::int64_t now) {
    json m = json::parse(line, nullptr, false);
    std::string type = m.is_object() ? m.value("type", "") : "";
    if (type == "renew") {
      auto a = agents.find(m.value("id", ""));
      if (a == agents.end() || a->second.fd != fd || a->second.state != "live") {
        Send(fd, {{"type", "error"}, {"message", "not enrolled here"}});
        return;
      }
      a->second.last_renew = now;
      coord->AgentRenewed(a->first);
      Send(fd, {{"type", "renewed"}, {"seq", m.value("seq", 0)}});
    } else if (type == "enroll") {
      OnEnroll(fd, m, now);
    } else if (type == "ack") {
      OnAck(m, now, false);
    } else if (type == "exited") {
      auto a = agents.find(m.value("id", ""));
      if (a != agents.end()) {
        a->second.state = "exited";
        coord->AgentDown(a->first);
      }
    } else if (type == "shutdown") {
      OnShutdown(fd, m, now);
    } else if (type == "status") {
      Send(fd, Status(now));
    } else {
      Send(fd, {{"type", "error"}, {"message", "unknown message"}});
    }
  }

  void Drop(int fd) {
    if (auto a = agent_of.find(fd); a != agent_of.end()) {
      auto agent = agents.find(a->second);
      if (agent != agents.end() && agent->second.fd == fd) agent->second.fd = -1;
      agent_of.erase(a);
    }
    for (Pending& p : pending) {
      if (p.client == fd) p.client = -1;
    }
    conns[fd]->Close();
    conns.erase(fd);
  }

  void Accept() {
    for (;;) {
      int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      conns[fd] = std::make_unique<LineConn>(fd);
    }
  }

  void PollCoordinator(std::int64_t now) {
    Coordinator::Inbound in = coord->Poll();
    for (const auto& [note, targets] : in.orders) {
      json order = {{"type", "order"}, {"order", note}};
      for (const std::string& id : targets) {
        auto a = agents.find(id);
        if (a != agents.end() && a->second.fd >= 0) Send(a->second.fd, order);
      }
    }
    for (const json& ack : in.acks) OnAck(ack, now, true);
  }
};

Controller::Controller(ControllerOptions options, ledger::Signer signer, std::unique_ptr<Coordinator> coordinator)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(signer), std::move(coordinator))) {}

Controller::~Controller() {
  if (impl_->listener >= 0) close(impl_->listener);
}

core::Result<void> Controller::Bind() {
  FL_ASSIGN_OR_RETURN(impl_->listener, Listen(impl_->opt.listen));
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(impl_->listener, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  return core::Ok();
}

void Controller::Run() {
  signal(SIGPIPE, SIG_IGN);
  Impl& s = *impl_;
  std::vector<pollfd> fds;
  while (!stopping_) {
    fds.clear();
    fds.push_back({s.listener, POLLIN, 0});
    if (s.coord->WakeFd() >= 0) fds.push_back({s.coord->WakeFd(), POLLIN, 0});
    for (const auto& [fd, c] : s.conns) {
      fds.push_back({fd, static_cast<short>(POLLIN | (c->WantsWrite() ? POLLOUT : 0)), 0});
    }
    poll(fds.data(), fds.size(), 10);
    std::int64_t now = MonotonicMs();
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == s.listener) {
        s.Accept();
        continue;
      }
      if (p.fd == s.coord->WakeFd()) continue;
      auto it = s.conns.find(p.fd);
      if (it == s.conns.end()) continue;
      LineConn& c = *it->second;
      bool open = true;
      if (p.revents & POLLOUT) open = c.Flush();
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) open = c.ReadSome() && open;
      while (auto line = c.NextLine()) s.OnMessage(p.fd, *line, now);
      if (!open) s.Drop(p.fd);
    }
    s.PollCoordinator(now);
    for (auto& [id, a] : s.agents) {
      if (a.state == "live" && !s.LeaseValid(a, now)) {
        a.state = "lease-expired";
        Log(fmt::format("agent {}'s lease lapsed: it stops its workload itself (fail closed)", id));
      }
    }
    s.Finish(now);
  }
}

}  // namespace flopline::killswitch
