// `flopline killswitch ...`: the full-shutdown control plane (SB 1047 §22603(a)(2), §22604(a)(6)).
// Thin: flags -> killswitch::Controller / RunAgent / one request to a controller -> text or JSON
// (docs/killswitch.md).
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "flopline/killswitch/agent.h"
#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/client.h"
#include "flopline/killswitch/controller.h"
#include "flopline/killswitch/etcd.h"
#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/protocol.h"
#include "flopline/ledger/log.h"
#include "flopline/store/open.h"
#include "key_file.h"

namespace flopline::cli {
namespace {

using nlohmann::json;
namespace ks = killswitch;
using ks::Ask;
using ks::ReadCredential;
constexpr auto Endpoints = ks::ParseControllers;

struct KillswitchFlags {
  std::string listen = "127.0.0.1:7600", key, etcd, store, controller, id, model, lineage,
              deployment, pubkey, scope, reason, format = "table", credential, agent, out,
              containment = "auto";
  bool operator_role = false;
  double lease_ttl = 5, grace = 10, timeout = 30, drain = 60;
  int threads = 0;
  std::vector<std::string> exempt, command;
};

ks::Controller* g_controller = nullptr;

int Fail(const std::string& command, const core::Error& e) {
  return ReportError("killswitch " + command, e.ToString(), e.code == core::Code::kInvalidArgument);
}

// A number of seconds: finite and within [low, high], or an error naming the flag.
core::Result<std::int64_t> Seconds(double value, double low, double high, const std::string& flag) {
  if (!std::isfinite(value) || value < low || value > high) {
    return core::InvalidArgument(
        fmt::format("{} is not a number of seconds within [{}, {}]", value, low, high), flag);
  }
  return static_cast<std::int64_t>(std::llround(value * 1000));
}

int RunCredential(const KillswitchFlags& f) {
  if (f.operator_role == !f.agent.empty()) {
    return Fail("credential", {core::Code::kInvalidArgument,
                               "give exactly one of --agent ID and --operator",
                               {},
                               "--agent"});
  }
  auto signer = ReadSigner(f.key);
  if (!signer) return Fail("credential", signer.error());
  auto c = ks::DeriveCredential(ks::MasterSecret(*signer),
                                f.operator_role ? "operator" : "agent:" + f.agent);
  if (!c)
    return Fail("credential", {core::Code::kInvalidArgument, c.error().message, {}, "--agent"});
  if (auto w = WriteKeyFile(f.out, c->ToString()); !w) return Fail("credential", w.error());
  std::cerr << fmt::format(
      "flopline killswitch credential: {} credential written to {} (mode 0600)\n", c->From(),
      f.out);
  return 0;
}

int RunController(const KillswitchFlags& f) {
  auto listen = ks::Endpoint::Parse(f.listen);
  if (!listen)
    return Fail("controller",
                {core::Code::kInvalidArgument, listen.error().message, {}, "--listen"});
  if (f.key.empty())
    return Fail("controller", {core::Code::kInvalidArgument, "give --key KEYFILE", {}, "--key"});
  auto lease_ms = Seconds(f.lease_ttl, 0.1, 3600, "--lease-ttl");
  if (!lease_ms) return Fail("controller", lease_ms.error());
  auto drain_ms = Seconds(f.drain, 0, 86400, "--drain-seconds");
  if (!drain_ms) return Fail("controller", drain_ms.error());
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
  options.lease_ttl_ms = *lease_ms;
  options.exempt = {f.exempt.begin(), f.exempt.end()};
  options.drain_ms = *drain_ms;
  options.log = log.get();
  if (f.threads < 0 || f.threads > 64)
    return Fail("controller",
                {core::Code::kInvalidArgument, "--threads must be 0 to 64", {}, "--threads"});
  options.threads = f.threads;
  if (storage) {
    // Lineage scopes also follow the models imported into the store (`flopline import`).
    // The inventory is used only once it verifies against the logged imports: a deleted or
    // rewritten row must not quietly shrink a lineage order (never an empty map on error).
    options.model_bases = [&storage, &log]() -> core::Result<std::map<std::string, std::string>> {
      if (auto verified = log->VerifyInventory(); !verified)
        return tl::unexpected(verified.error());
      FL_ASSIGN_OR_RETURN(auto inventory, storage->Inventory());
      std::map<std::string, std::string> bases;
      for (const auto& m : inventory.models) bases[m.id] = m.base;
      return bases;
    };
  }
  std::unique_ptr<ks::Coordinator> coordinator = ks::LocalCoordinator();
  if (!f.etcd.empty()) {
    auto etcd = ks::EtcdCoordinator(f.etcd, options.lease_ttl_ms, ks::MasterSecret(*signer));
    if (!etcd) return Fail("controller", etcd.error());
    coordinator = std::move(*etcd);
  }
  ks::Controller controller(options, *signer, std::move(coordinator));
  if (auto r = controller.Bind(); !r) return Fail("controller", r.error());
  std::cerr << fmt::format(
      "flopline killswitch controller: listening on {}:{}; lease {} ms; verifier key {}\n",
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
  o.containment = f.containment == "cgroup"          ? ks::Containment::kCgroup
                  : f.containment == "process-group" ? ks::Containment::kProcessGroup
                                                     : ks::Containment::kAuto;
  auto grace_ms = Seconds(f.grace, 0.001, 3600, "--grace");
  if (!grace_ms) return Fail("agent", grace_ms.error());
  o.grace_ms = *grace_ms;
  auto credential = ReadCredential(f.credential, ks::Credential::Role::kAgent);
  if (!credential) return Fail("agent", credential.error());
  if (credential->id != f.id) {
    return Fail("agent", {core::Code::kInvalidArgument,
                          fmt::format("{} is agent {}'s credential, not {}'s", f.credential,
                                      credential->id, f.id),
                          {},
                          "--credential"});
  }
  o.credential = *credential;
  if (!f.pubkey.empty()) {
    auto text = access(f.pubkey.c_str(), F_OK) == 0 ? core::ReadFile(f.pubkey)
                                                    : core::Result<std::string>(f.pubkey);
    if (!text) return Fail("agent", text.error());
    std::string key = *text;
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    if (auto v = ledger::Verifier::Parse(key); !v) {
      return Fail("agent", {core::Code::kInvalidArgument, v.error().message, {}, "--pubkey"});
    }
    o.pubkey = key;
  }
  if (o.command.empty())
    return Fail("agent", {core::Code::kInvalidArgument, "no workload after --", {}, "command"});
  return ks::RunAgent(o);
}

int RunShutdown(const KillswitchFlags& f, bool drill) {
  std::string name = drill ? "drill" : "shutdown";
  if (auto scope = ks::Scope::Parse(f.scope); !scope) return Fail(name, scope.error());
  auto timeout_ms = Seconds(f.timeout, 1, 86400, "--timeout");
  if (!timeout_ms) return Fail(name, timeout_ms.error());
  auto credential = ReadCredential(f.credential, ks::Credential::Role::kOperator);
  if (!credential) return Fail(name, credential.error());
  if (f.reason.size() > ks::kMaxReasonBytes) {
    return Fail(name, {core::Code::kInvalidArgument,
                       fmt::format("is {} bytes; at most {}", f.reason.size(), ks::kMaxReasonBytes),
                       {},
                       "--reason"});
  }
  ks::ShutdownMsg request{0, f.scope, f.reason, *timeout_ms, 0, drill};
  auto report = Ask(f.controller, *credential, request, *timeout_ms + 5000);
  if (!report) return Fail(name, report.error());
  json& r = *report;
  r.erase("type");
  auto fence = ks::UnsignedField(r, "fence");
  auto scope = ks::StringField(r, "scope");
  auto targeted = ks::UnsignedField(r, "targeted");
  auto stopped = ks::UnsignedField(r, "stopped");
  auto elapsed = ks::IntegerField(r, "elapsed_ms");
  auto not_stopped = ks::StringsField(r, "not_stopped");
  auto drained = ks::StringsField(r, "drained_agents");
  if (!fence || !scope || !targeted || !stopped || !elapsed || !not_stopped || !drained ||
      !r["not_stopped_why"].is_object()) {
    return Fail(
        name,
        {core::Code::kUnavailable, "the controller's report is malformed", {}, "--controller"});
  }
  if (f.format == "json") {
    std::cout << ks::Dump(r, 2) << "\n";
  } else {
    std::cout << fmt::format("{} {} ({}): {} of {} targeted workloads confirmed stopped in {} ms\n",
                             drill ? "drill" : "order", *fence, *scope, *stopped, *targeted,
                             *elapsed);
    if (!drained->empty())
      std::cout << "drained gracefully (exempt): " << ks::Dump(json(*drained)) << "\n";
    for (const auto& [id, why] : r["not_stopped_why"].items()) {
      std::cout << fmt::format("NOT STOPPED {}: {}\n", id,
                               why.is_string() ? why.get<std::string>() : "?");
    }
  }
  if (auto inventory_error = ks::StringField(r, "inventory_error")) {
    std::cerr << fmt::format(
        "flopline killswitch {}: ERROR: order {} ({}) could not use the evidence store's "
        "inventory, which does not verify: {}; only agents that declared a matching lineage were "
        "ordered to stop: models derived according to the store may still be running\n",
        name, *fence, *scope, *inventory_error);
    return 1;
  }
  if (*targeted == 0) {
    std::cerr << fmt::format(
        "flopline killswitch {}: order {} ({}) reached no agent: nothing was stopped; check the "
        "scope (it stays in force until it expires, for agents that enrol into it)\n",
        name, *fence, *scope);
    return 1;
  }
  return not_stopped->empty() ? 0 : 1;
}

int RunStatus(const KillswitchFlags& f) {
  auto credential = ReadCredential(f.credential, ks::Credential::Role::kOperator);
  if (!credential) return Fail("status", credential.error());
  auto status = Ask(f.controller, *credential, ks::StatusMsg{0}, 5000);
  if (!status) return Fail("status", status.error());
  if (f.format == "json") {
    json out = *status;
    out.erase("type");
    std::cout << ks::Dump(out, 2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{:<20} {:<20} {:<20} {:<16} {:<10} {}\n", "agent", "model",
                           "deployment", "state", "connected", "lease left");
  const json& agents = (*status)["agents"];
  if (!agents.is_array())
    return Fail("status",
                {core::Code::kUnavailable, "the status is malformed", {}, "--controller"});
  for (const json& a : agents) {
    auto text = [&](const char* key, const char* none) {
      auto v = ks::StringField(a, key);
      return v ? *v : std::string(none);
    };
    auto connected = ks::BoolField(a, "connected");
    auto left = ks::IntegerField(a, "lease_ms_left");
    std::cout << fmt::format("{:<20} {:<20} {:<20} {:<16} {:<10} {}\n", text("id", ""),
                             text("model", ""), text("deployment", "-"), text("state", ""),
                             connected && *connected ? "yes" : "no",
                             left ? fmt::format("{} ms", *left) : "-");
  }
  return 0;
}

}  // namespace

CommandRunner AddKillswitchCommand(CLI::App& app) {
  auto flags = std::make_shared<KillswitchFlags>();
  KillswitchFlags& f = *flags;
  CLI::App* ks_app = app.add_subcommand(
      "killswitch", "the fail-closed full-shutdown control plane (docs/killswitch.md)");
  ks_app->require_subcommand(1);

  CLI::App* controller =
      ks_app->add_subcommand("controller", "grant leases, sign and push shutdown orders");
  controller->add_option("--listen", f.listen,
                         "ADDR:PORT (port 0: any free port, printed on start)");
  controller->add_option("--lease-ttl", f.lease_ttl,
                         "lease TTL in seconds, 0.1 to 3600 (default 5)");
  controller
      ->add_option("--key", f.key, "Ed25519 order-signing key file; created (mode 0600) if missing")
      ->required();
  controller->add_option("--etcd", f.etcd,
                         "etcd endpoints (http://HOST:PORT,...): share agents, fences and orders");
  controller->add_option("--exempt", f.exempt,
                         "agent ids whose stop is a graceful drain (§22603(a)(2)(B))");
  controller->add_option("--drain-seconds", f.drain,
                         "how long an exempt workload may drain (default 60)");
  controller->add_option("--store", f.store, "record every order and drill in this evidence log");
  controller->add_option("--threads", f.threads,
                         "threads for sending orders and reading agents' messages, 1 to 64 "
                         "(default 0: one per core, at most 8)");

  CLI::App* agent = ks_app->add_subcommand(
      "agent", "run a workload under a lease; stop it on order or when cut off");
  agent->add_option("--controller", f.controller, "ADDR:PORT[,ADDR:PORT...]")->required();
  agent->add_option("--id", f.id, "this agent's name")->required();
  agent->add_option("--model", f.model, "the model the workload trains or serves")->required();
  agent->add_option("--lineage", f.lineage, "the model's ancestors, nearest first (A,B,...)");
  agent->add_option("--deployment", f.deployment,
                    "the deployment or training run it serves (shown in status)");
  agent->add_option("--grace", f.grace,
                    "seconds between SIGTERM and SIGKILL, up to 3600 (default 10)");
  agent->add_option(
      "--pubkey", f.pubkey,
      "the controller's verifier key (or a file of it); default: learnt on enrolment");
  agent
      ->add_option("--credential", f.credential,
                   "this agent's credential file (flopline killswitch credential)")
      ->required();
  agent
      ->add_option("--containment", f.containment,
                   "auto (a cgroup v2 group where the host allows it, else the process group, "
                   "with a warning), cgroup (or exit 2) or process-group")
      ->check(CLI::IsMember({"auto", "cgroup", "process-group"}));
  agent->add_option("command", f.command, "the workload, after --");

  CLI::App* credential =
      ks_app->add_subcommand("credential", "issue an agent's or the operator's credential");
  credential->add_option("--key", f.key, "the controller's signing key file")->required();
  credential->add_option("--agent", f.agent, "the agent id the credential speaks for");
  credential->add_flag("--operator", f.operator_role,
                       "an operator credential: shutdown, drill, status");
  credential
      ->add_option("--out", f.out, "where to write it (created with mode 0600, never over a file)")
      ->required();

  CLI::App* shutdown =
      ks_app->add_subcommand("shutdown", "stop every workload in a scope; wait for confirmation");
  CLI::App* drill =
      ks_app->add_subcommand("drill", "a real shutdown of a test scope, timed and recorded");
  for (CLI::App* cmd : {shutdown, drill}) {
    cmd->add_option("--controller", f.controller, "ADDR:PORT[,ADDR:PORT...]")->required();
    cmd->add_option("--scope", f.scope, "all | agent:ID | model:ID | lineage:ID")->required();
    cmd->add_option("--reason", f.reason, "why (recorded with the order)");
    cmd->add_option("--timeout", f.timeout,
                    "seconds to wait for confirmations, 1 to 86400 (default 30)");
    cmd->add_option("--credential", f.credential, "the operator credential file")->required();
    cmd->add_option("--format", f.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  }
  shutdown->get_option("--reason")->required();

  CLI::App* status = ks_app->add_subcommand("status", "agents, their models, leases and states");
  status->add_option("--controller", f.controller, "ADDR:PORT[,ADDR:PORT...]")->required();
  status->add_option("--format", f.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  status->add_option("--credential", f.credential, "the operator credential file")->required();

  return [flags, controller, agent, credential, shutdown, drill, status]() {
    if (controller->parsed()) return RunController(*flags);
    if (credential->parsed()) return RunCredential(*flags);
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
