// `flopline killswitch ...`: the full-shutdown control plane (SB 1047 §22603(a)(2), §22604(a)(6)).
// Thin: flags -> killswitch::Controller / RunAgent / one request to a controller -> text or JSON
// (docs/killswitch.md).
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "key_file.h"
#include "flopline/killswitch/agent.h"
#include "flopline/killswitch/controller.h"
#include "flopline/killswitch/etcd.h"
#include "flopline/killswitch/protocol.h"
#include "flopline/ledger/log.h"
#include "flopline/store/open.h"

namespace flopline::cli {
namespace {

using nlohmann::json;
namespace ks = killswitch;

struct KillswitchFlags {
  std::string listen = "127.0.0.1:7600", key, etcd, store, controller, id, model, lineage, deployment, pubkey,
              scope, reason, format = "table";
  double lease_ttl = 5, grace = 10, timeout = 30, drain = 60;
  std::vector<std::string> exempt, command;
};

ks::Controller* g_controller = nullptr;

core::Result<std::vector<ks::Endpoint>> Endpoints(const std::string& list) {
  std::vector<ks::Endpoint> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    auto e = ks::Endpoint::Parse(item);
    if (!e) return core::InvalidArgument(e.error().message, "--controller");
    out.push_back(*e);
  }
  if (out.empty()) return core::InvalidArgument("give at least one ADDR:PORT", "--controller");
  return out;
}

int Fail(const std::string& command, const core::Error& e) {
  return ReportError("killswitch " + command, e.ToString(), e.code == core::Code::kInvalidArgument);
}

int RunController(const KillswitchFlags& f) {
  auto listen = ks::Endpoint::Parse(f.listen);
  if (!listen) return Fail("controller", {core::Code::kInvalidArgument, listen.error().message, {}, "--listen"});
  if (f.key.empty()) return Fail("controller", {core::Code::kInvalidArgument, "give --key KEYFILE", {}, "--key"});
  if (f.lease_ttl <= 0) return Fail("controller", {core::Code::kInvalidArgument, "must be positive", {}, "--lease-ttl"});
  auto signer = LoadOrCreateSigner(f.key, "flopline-killswitch");
  if (!signer) return Fail("controller", signer.error());
  std::unique_ptr<ledger::Storage> storage;
  std::unique_ptr<ledger::Log> log;
  if (!f.store.empty()) {
    auto s = store::Open(f.store);
    if (!s) return Fail("controller", s.error());
    storage = std::move(*s);
    log = std::make_unique<ledger::Log>(*storage);
    if (auto origin = log->Origin(); !origin) return Fail("controller", origin.error());
  }
  ks::ControllerOptions options;
  options.listen = *listen;
  options.lease_ttl_ms = static_cast<std::int64_t>(f.lease_ttl * 1000);
  options.exempt = {f.exempt.begin(), f.exempt.end()};
  options.drain_ms = static_cast<std::int64_t>(f.drain * 1000);
  options.log = log.get();
  if (storage) {
    // Lineage scopes also follow the models imported into the store (`flopline import`).
    options.model_bases = [&storage] {
      std::map<std::string, std::string> bases;
      if (auto inventory = storage->Inventory()) {
        for (const auto& m : inventory->models) bases[m.id] = m.base;
      }
      return bases;
    };
  }
  std::unique_ptr<ks::Coordinator> coordinator = ks::LocalCoordinator();
  if (!f.etcd.empty()) {
    auto etcd = ks::EtcdCoordinator(f.etcd, options.lease_ttl_ms);
    if (!etcd) return Fail("controller", etcd.error());
    coordinator = std::move(*etcd);
  }
  ks::Controller controller(options, *signer, std::move(coordinator));
  if (auto r = controller.Bind(); !r) return Fail("controller", r.error());
  std::cerr << fmt::format("flopline killswitch controller: listening on {}:{}; lease {} ms; verifier key {}\n",
                           listen->host, controller.port(), options.lease_ttl_ms, signer->VerifierKey());
  g_controller = &controller;
  signal(SIGTERM, [](int) { g_controller->Stop(); });
  signal(SIGINT, [](int) { g_controller->Stop(); });
  controller.Run();
  return 0;
}

int RunAgentCommand(const KillswitchFlags& f) {
  auto controllers = Endpoints(f.controller);
  if (!controllers) return Fail("agent", controllers.error());
  ks::AgentOptions o;
  o.controllers = *controllers;
  o.id = f.id;
  o.model = f.model;
  o.deployment = f.deployment;
  std::stringstream in(f.lineage);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) o.lineage.push_back(item);
  }
  o.command = f.command;
  o.grace_ms = static_cast<std::int64_t>(f.grace * 1000);
  if (!f.pubkey.empty()) {
    auto text = access(f.pubkey.c_str(), F_OK) == 0 ? core::ReadFile(f.pubkey) : core::Result<std::string>(f.pubkey);
    if (!text) return Fail("agent", text.error());
    std::string key = *text;
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    if (auto v = ledger::Verifier::Parse(key); !v) {
      return Fail("agent", {core::Code::kInvalidArgument, v.error().message, {}, "--pubkey"});
    }
    o.pubkey = key;
  }
  if (o.command.empty()) return Fail("agent", {core::Code::kInvalidArgument, "no workload after --", {}, "command"});
  return ks::RunAgent(o);
}

// Sends one request to a controller and waits for its one-line answer.
core::Result<json> Ask(const std::string& controller, const json& request, std::int64_t timeout_ms) {
  FL_ASSIGN_OR_RETURN(auto endpoints, Endpoints(controller));
  core::Error last{core::Code::kUnavailable, "no controller answered", {}, "--controller"};
  for (const ks::Endpoint& e : endpoints) {
    auto fd = ks::Connect(e, 2000);
    if (!fd) {
      last = fd.error();
      continue;
    }
    ks::LineConn conn(*fd);
    if (!conn.SendLine(request.dump())) continue;
    std::optional<std::string> line = conn.ReadLine(timeout_ms);
    conn.Close();
    if (!line) {
      last = {core::Code::kUnavailable, fmt::format("{} did not answer in time", e.ToString()), {}, "--controller"};
      continue;
    }
    json reply = json::parse(*line, nullptr, false);
    if (reply.is_discarded()) continue;
    if (reply.value("type", "") == "error") {
      return core::InvalidArgument(reply.value("message", "the controller refused"), "--scope");
    }
    return reply;
  }
  return tl::unexpected(last);
}

int RunShutdown(const KillswitchFlags& f, bool drill) {
  std::string name = drill ? "drill" : "shutdown";
  if (auto scope = ks::Scope::Parse(f.scope); !scope) return Fail(name, scope.error());
  if (f.timeout <= 0) return Fail(name, {core::Code::kInvalidArgument, "must be positive", {}, "--timeout"});
  auto timeout_ms = static_cast<std::int64_t>(f.timeout * 1000);
  json request = {{"type", "shutdown"}, {"scope", f.scope}, {"reason", f.reason},
                  {"timeout_ms", timeout_ms}, {"drill", drill}};
  auto report = Ask(f.controller, request, timeout_ms + 5000);
  if (!report) return Fail(name, report.error());
  json& r = *report;
  r.erase("type");
  if (f.format == "json") {
    std::cout << r.dump(2) << "\n";
  } else {
    std::cout << fmt::format("{} {} ({}): {} of {} targeted workloads confirmed stopped in {} ms\n",
                             drill ? "drill" : "order", r["fence"].get<std::uint64_t>(), r["scope"].get<std::string>(),
                             r["stopped"].get<size_t>(), r["targeted"].get<size_t>(), r["elapsed_ms"].get<std::int64_t>());
    if (!r["drained_agents"].empty()) std::cout << "drained gracefully (exempt): " << r["drained_agents"].dump() << "\n";
    for (const auto& [id, why] : r["not_stopped_why"].items()) {
      std::cout << fmt::format("NOT STOPPED {}: {}\n", id, why.get<std::string>());
    }
  }
  return r["not_stopped"].empty() ? 0 : 1;
}

int RunStatus(const KillswitchFlags& f) {
  auto status = Ask(f.controller, {{"type", "status"}}, 5000);
  if (!status) return Fail("status", status.error());
  if (f.format == "json") {
    json out = *status;
    out.erase("type");
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{:<20} {:<20} {:<20} {:<16} {:<10} {}\n", "agent", "model", "deployment", "state",
                           "connected", "lease left");
  for (const json& a : (*status)["agents"]) {
    std::cout << fmt::format("{:<20} {:<20} {:<20} {:<16} {:<10} {}\n", a.value("id", ""), a.value("model", ""),
                             a.value("deployment", "-"),
                             a.value("state", ""), a.value("connected", false) ? "yes" : "no",
                             a.contains("lease_ms_left") ? fmt::format("{} ms", a["lease_ms_left"].get<std::int64_t>()) : "-");
  }
  return 0;
}

}  // namespace

CommandRunner AddKillswitchCommand(CLI::App& app) {
  auto flags = std::make_shared<KillswitchFlags>();
  KillswitchFlags& f = *flags;
  CLI::App* ks_app = app.add_subcommand("killswitch", "the fail-closed full-shutdown control plane (docs/killswitch.md)");
  ks_app->require_subcommand(1);

  CLI::App* controller = ks_app->add_subcommand("controller", "grant leases, sign and push shutdown orders");
  controller->add_option("--listen", f.listen, "ADDR:PORT (port 0: any free port, printed on start)");
  controller->add_option("--lease-ttl", f.lease_ttl, "lease TTL in seconds (default 5)");
  controller->add_option("--key", f.key, "Ed25519 order-signing key file; created (mode 0600) if missing")->required();
  controller->add_option("--etcd", f.etcd, "etcd endpoints (http://HOST:PORT,...): share agents, fences and orders");
  controller->add_option("--exempt", f.exempt, "agent ids whose stop is a graceful drain (§22603(a)(2)(B))");
  controller->add_option("--drain-seconds", f.drain, "how long an exempt workload may drain (default 60)");
  controller->add_option("--store", f.store, "record every order and drill in this evidence log");

  CLI::App* agent = ks_app->add_subcommand("agent", "run a workload under a lease; stop it on order or when cut off");
  agent->add_option("--controller", f.controller, "ADDR:PORT[,ADDR:PORT...]")->required();
  agent->add_option("--id", f.id, "this agent's name")->required();
  agent->add_option("--model", f.model, "the model the workload trains or serves")->required();
  agent->add_option("--lineage", f.lineage, "the model's ancestors, nearest first (A,B,...)");
  agent->add_option("--deployment", f.deployment, "the deployment or training run it serves (shown in status)");
  agent->add_option("--grace", f.grace, "seconds between SIGTERM and SIGKILL (default 10)");
  agent->add_option("--pubkey", f.pubkey, "the controller's verifier key (or a file of it); default: learnt on enrolment");
  agent->add_option("command", f.command, "the workload, after --");

  CLI::App* shutdown = ks_app->add_subcommand("shutdown", "stop every workload in a scope; wait for confirmation");
  CLI::App* drill = ks_app->add_subcommand("drill", "a real shutdown of a test scope, timed and recorded");
  for (CLI::App* cmd : {shutdown, drill}) {
    cmd->add_option("--controller", f.controller, "ADDR:PORT[,ADDR:PORT...]")->required();
    cmd->add_option("--scope", f.scope, "all | agent:ID | model:ID | lineage:ID")->required();
    cmd->add_option("--reason", f.reason, "why (recorded with the order)");
    cmd->add_option("--timeout", f.timeout, "seconds to wait for confirmations (default 30)");
    cmd->add_option("--format", f.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  }
  shutdown->get_option("--reason")->required();

  CLI::App* status = ks_app->add_subcommand("status", "agents, their models, leases and states");
  status->add_option("--controller", f.controller, "ADDR:PORT[,ADDR:PORT...]")->required();
  status->add_option("--format", f.format, "table or json")->check(CLI::IsMember({"table", "json"}));

  return [flags, controller, agent, shutdown, drill, status]() {
    if (controller->parsed()) return RunController(*flags);
    if (agent->parsed()) return RunAgentCommand(*flags);
    if (shutdown->parsed()) return RunShutdown(*flags, false);
    if (drill->parsed()) {
      if (flags->reason.empty()) flags->reason = "shutdown drill";
      return RunShutdown(*flags, true);
    }
    if (status->parsed()) return RunStatus(*flags);
    return 2;
  };
}

}  // namespace flopline::cli
