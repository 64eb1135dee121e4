// `flopline serve` and `flopline user add|token`: the workspace over HTTP, and its users.
// Thin: flags -> workspace::Workspace (+ http::Server with server::ApiRoutes) -> text.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "commands.h"
#include "key_file.h"
#include "flopline/compute/accelerators.h"
#include "flopline/compute/prices.h"
#include "flopline/http/auth.h"
#include "flopline/http/server.h"
#include "flopline/server/api.h"
#include "flopline/server/document_routes.h"
#include "flopline/rules/inventory.h"
#include "flopline/workspace/workspace.h"

namespace flopline::cli {
namespace {

struct ServeFlags {
  std::string store, listen = "127.0.0.1:8080", tls_cert, tls_key, key, origin = "flopline.local/workspace",
                     regimes_dir, data_dir, name, role;
  double rate_limit = 1000;
  unsigned threads = 0;
  bool print_openapi = false, print_routes = false;
  std::vector<std::string> files;
};

// sqlite:PATH keeps its key beside the database; PostgreSQL has no file to sit beside.
core::Result<std::string> KeyPathOf(const ServeFlags& f) {
  if (!f.key.empty()) return f.key;
  if (f.store.starts_with("sqlite:")) return f.store.substr(7) + ".key";
  return core::InvalidArgument("give --key FILE: a PostgreSQL store keeps no key file of its own", "--key");
}

core::Result<ledger::Signer> SignerOf(const ServeFlags& f) {
  FL_ASSIGN_OR_RETURN(std::string key_path, KeyPathOf(f));
  return LoadOrCreateSigner(key_path, f.origin);
}

core::Result<std::unique_ptr<workspace::Workspace>> OpenWorkspace(const ServeFlags& f, ledger::Signer signer) {
  workspace::Options options;
  options.store = f.store;
  options.regimes_dir = FindRegimesDir(f.regimes_dir);
  options.data_dir = FindDataDir(f.data_dir);
  options.origin = f.origin;
  options.signer = std::move(signer);
  return workspace::Workspace::Open(std::move(options));
}

core::Result<std::unique_ptr<workspace::Workspace>> OpenWorkspace(const ServeFlags& f) {
  FL_ASSIGN_OR_RETURN(ledger::Signer signer, SignerOf(f));
  return OpenWorkspace(f, std::move(signer));
}

// How `flopline serve` stops on SIGINT or SIGTERM, at whatever point it is: SIGINT and SIGTERM are
// blocked in every thread and one thread waits for them from the start.
//   - Before Opening() (the key file being read or created): the stop is remembered, and Opening()
//     says so; the caller returns as it would after serving.
//   - From Opening() until Serving() (the store opened, its log replayed, the law loaded, the
//     socket bound): the process ends at once with exit status 0, as after serving. Nothing has
//     been acknowledged to anyone yet, and whatever the store was writing (a first start's log,
//     a migration) is one transaction, which an exit leaves unwritten like a crash would; so no
//     wait (a large log being replayed, a PostgreSQL server that does not answer) holds it up.
//   - From Serving(stop) on: `stop` is called once (it must not block: stop accepting and answering,
//     give up the summary being judged); the caller returns once the server has stopped and the
//     writes it acknowledged are done. A second signal ends the process at once: every write the
//     server acknowledged is durable already (the group committer answers after the fsync).
//   - After Done() (or the destructor): nothing.
class StopOnSignal {
 public:
  StopOnSignal() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    // Blocked before any other thread starts, so every thread inherits it and only sigwait sees them.
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    waiter_ = std::thread([this] { Wait(); });
  }
  ~StopOnSignal() {
    Done();
    // Wakes the waiter: with the phase done, it returns.
    pthread_kill(waiter_.native_handle(), SIGTERM);
    waiter_.join();
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  // False when a signal came already: return without opening anything.
  bool Opening() {
    std::lock_guard lock(mu_);
    if (signalled_) return false;
    phase_ = Phase::kOpening;
    return true;
  }
  // False when a signal came already (it cannot, from Opening() on, but the phases do not assume it).
  bool Serving(std::function<void()> stop) {
    std::lock_guard lock(mu_);
    if (signalled_) return false;
    stop_ = std::move(stop);
    phase_ = Phase::kServing;
    return true;
  }
  // The server has stopped: a signal from now on is not the stop's business (what `stop` names is
  // about to be destroyed).
  void Done() {
    std::lock_guard lock(mu_);
    phase_ = Phase::kDone;
    stop_ = nullptr;
  }

 private:
  enum class Phase { kStarting, kOpening, kServing, kDone };

  void Wait() {
    for (;;) {
      int sig = 0;
      sigwait(&signals_, &sig);
      std::lock_guard lock(mu_);
      switch (phase_) {
        case Phase::kDone:
          return;
        case Phase::kStarting:
          signalled_ = true;
          break;
        case Phase::kOpening:
          std::_Exit(0);
        case Phase::kServing:
          if (signalled_) {
            std::cerr << "flopline serve: a second signal: stopped at once" << std::endl;
            std::_Exit(0);
          }
          signalled_ = true;
          stop_();
          break;
      }
    }
  }

  sigset_t signals_;
  std::mutex mu_;
  Phase phase_ = Phase::kStarting;
  bool signalled_ = false;
  std::function<void()> stop_;
  std::thread waiter_;
};

void AddStoreFlags(CLI::App* app, ServeFlags& f) {
  app->add_option("--store", f.store, "sqlite:PATH or postgres:CONNINFO (created on first use)")->required();
  app->add_option("--key", f.key, "the log's signing key file (default for sqlite:PATH: PATH.key; created mode 0600)");
  app->add_option("--origin", f.origin, "the log's name when this run creates it");
  app->add_option("--regimes-dir", f.regimes_dir, "directory of regime files");
  app->add_option("--data-dir", f.data_dir, "directory of accelerators.toml, cloud-prices.toml, cpi.toml");
}

int Serve(const ServeFlags& f) {
  std::size_t colon = f.listen.rfind(':');
  unsigned long port = 0;
  if (colon == std::string::npos || colon + 1 == f.listen.size() ||
      f.listen.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
      (port = std::stoul(f.listen.substr(colon + 1))) > 65535) {
    return ReportError("serve", core::Error{core::Code::kInvalidArgument, "expected HOST:PORT, e.g. 127.0.0.1:8080",
                                            {}, "--listen"}.ToString());
  }
  // Signals go to the one thread that waits for them, never to the server's threads.
  StopOnSignal stop;
  auto signer = SignerOf(f);
  if (!signer) return ReportError("serve", signer.error().ToString());
  if (!stop.Opening()) return 0;
  auto ws = OpenWorkspace(f, std::move(*signer));
  if (!ws) return ReportError("serve", ws.error().ToString());
  server::ApiOptions api;
  api.tls = !f.tls_cert.empty();
  auto documents = server::OpenDocumentService({f.store, (*ws)->signer().VerifierKey(), FindDocumentsDir(""),
                                                FindRegimesDir(f.regimes_dir), FindDataDir(f.data_dir)});
  if (!documents) return ReportError("serve", documents.error().ToString());
  api.documents = *documents;
  auto meter = workspace::MeterView::Open(f.store);
  if (!meter) return ReportError("serve", meter.error().ToString());
  api.meter = std::move(*meter);
  server::WorkspaceAuthenticator auth(**ws, api.session_seconds);
  http::Options options;
  options.host = f.listen.substr(0, colon);
  if (options.host.size() > 2 && options.host.front() == '[' && options.host.back() == ']') {
    options.host = options.host.substr(1, options.host.size() - 2);
  }
  options.port = static_cast<std::uint16_t>(port);
  options.tls_cert = f.tls_cert;
  options.tls_key = f.tls_key;
  options.rate_per_second = f.rate_limit;
  options.rate_burst = f.rate_limit * 2;
  options.threads = f.threads;
  options.static_files = server::WebFiles();
  http::Server server(options, server::ApiRoutes(ws->get(), &auth, api), auth);
  if (auto r = server.Listen(); !r) return ReportError("serve", r.error().ToString());
  // Stopping: no more requests taken or answered (io_context::stop: Run() returns once each I/O
  // thread is out of its handler), and the summary being judged given up so that none waits for it.
  std::atomic<bool> stopping{false};
  if (!stop.Serving([&server, &ws, &stopping]() {
        stopping = true;
        server.Stop();
        (*ws)->Interrupt();
      })) {
    return 0;
  }
  std::string scheme = f.tls_cert.empty() ? "http" : "https";
  std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  std::cout << fmt::format("listening on {}://{}:{}", scheme, host, server.port()) << std::endl;
  // Every model judged as of today while the server starts answering (then kept up to date), so
  // that the first dashboard does not wait for it; a request that needs it meanwhile waits.
  std::thread warm([&ws, &stopping]() {
    core::Date today =
        core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())).date();
    if (auto warmed = (*ws)->Warm(today); !warmed) {
      if (stopping) {
        std::cerr << "flopline serve: stopped before every model was judged as of today (nothing stored is lost)"
                  << std::endl;
      } else {
        std::cerr << "flopline serve: judging the models as of today: " << warmed.error().ToString() << std::endl;
      }
    }
  });
  server.Run();  // returns once `stop` has run (a signal): the io_context never runs out of work
  warm.join();
  // The writes in flight finish before the workspace goes: the handlers waiting for theirs first,
  // then the group committer writes what is queued (its answers dropped with the stopped server).
  server.Drain();
  ws->reset();
  stop.Done();
  return 0;
}

int UserAdd(const ServeFlags& f) {
  auto ws = OpenWorkspace(f);
  if (!ws) return ReportError("user add", ws.error().ToString());
  std::string password;
  bool generated = false;
  if (!isatty(STDIN_FILENO)) std::getline(std::cin, password);
  if (password.empty()) {
    password = http::RandomSecret();
    generated = true;
  } else if (password.size() < 12) {
    return ReportError("user add", core::Error{core::Code::kInvalidArgument,
                                               "a password is at least 12 characters", {}, "password"}.ToString());
  }
  auto hash = http::HashSecret(password);
  if (!hash) return ReportError("user add", hash.error().ToString(), false);
  workspace::User user{f.name, f.role, *hash, {}};
  auto existing = (*ws)->FindUser(f.name);
  if (!existing) return ReportError("user add", existing.error().ToString(), false);
  if (*existing) {
    // A new password (or role) re-enables a disabled user; the token and the revocation stand.
    user.token_hash = (*existing)->disabled ? std::string() : (*existing)->token_hash;
    user.sessions_revoked_at = (*existing)->sessions_revoked_at;
  }
  if (auto r = (*ws)->PutUser(user, "cli"); !r) return ReportError("user add", r.error().ToString());
  std::cout << fmt::format("user '{}' ({}) recorded in the workspace log\n", f.name, f.role);
  if (generated) std::cout << "password (shown once): " << password << "\n";
  return 0;
}

// The user named --name, or kNotFound naming --name.
core::Result<workspace::User> ExistingUser(workspace::Workspace& ws, const std::string& name) {
  FL_ASSIGN_OR_RETURN(std::optional<workspace::User> user, ws.FindUser(name));
  if (!user) {
    return core::MakeError(core::Code::kNotFound, fmt::format("no user '{}': add one with `flopline user add`", name),
                           "--name");
  }
  return *user;
}

int UserToken(const ServeFlags& f) {
  auto ws = OpenWorkspace(f);
  if (!ws) return ReportError("user token", ws.error().ToString());
  auto user = ExistingUser(**ws, f.name);
  if (!user) return ReportError("user token", user.error().ToString());
  if (user->disabled) {
    return ReportError("user token", core::Error{core::Code::kFailedPrecondition,
                                                 fmt::format("'{}' is disabled: `flopline user add` them again first",
                                                             f.name),
                                                 {}, "--name"}.ToString());
  }
  std::string token = http::MakeToken(f.name);
  auto hash = http::HashSecret(token);
  if (!hash) return ReportError("user token", hash.error().ToString(), false);
  user->token_hash = *hash;  // replaces the previous token: it stops working at once
  if (auto r = (*ws)->PutUser(*user, "cli"); !r) return ReportError("user token", r.error().ToString());
  std::cout << token << "\n";
  return 0;
}

// `user revoke`: every session and the API token of a user end now, on every replica's next
// request; they may log in again (a new session). `user disable`: the same, and they may not log in
// or be given a token until `user add` names them again.
int UserEnd(const ServeFlags& f, bool disable) {
  const char* command = disable ? "user disable" : "user revoke";
  auto ws = OpenWorkspace(f);
  if (!ws) return ReportError(command, ws.error().ToString());
  auto user = ExistingUser(**ws, f.name);
  if (!user) return ReportError(command, user.error().ToString());
  user->token_hash.clear();
  user->sessions_revoked_at =
      core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  if (disable) user->disabled = true;
  if (auto r = (*ws)->PutUser(*user, "cli"); !r) return ReportError(command, r.error().ToString());
  std::cout << fmt::format("user '{}': sessions and API token ended{}\n", f.name,
                           disable ? "; disabled (no login until `flopline user add`)" : "");
  return 0;
}

int WorkspaceImport(const ServeFlags& f) {
  std::string data = FindDataDir(f.data_dir);
  auto accelerators = compute::AcceleratorTable::Load(data + "/accelerators.toml");
  if (!accelerators) return ReportError("workspace import", accelerators.error().ToString());
  auto prices = compute::PriceTable::Load(data + "/cloud-prices.toml");
  if (!prices) return ReportError("workspace import", prices.error().ToString());
  // The files are read and checked (configs resolved beside them) before the store is opened.
  auto inventory = rules::LoadInventory(f.files, *accelerators, *prices);
  if (!inventory) return ReportError("workspace import", inventory.error().ToString());
  auto ws = OpenWorkspace(f);
  if (!ws) return ReportError("workspace import", ws.error().ToString());
  auto n = (*ws)->ImportInventory(*inventory, "cli");
  if (!n) return ReportError("workspace import", n.error().ToString());
  std::cout << fmt::format("recorded {} models and {} events in the workspace\n", *n, inventory->events.size());
  return 0;
}

}  // namespace

CommandRunner AddServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  ServeFlags& f = *flags;
  CLI::App* serve = app.add_subcommand("serve", "serve the compliance workspace: the JSON API and the dashboard (docs/api.md)");
  serve->add_option("--store", f.store, "sqlite:PATH or postgres:CONNINFO (created on first use)");
  serve->add_option("--key", f.key, "the log's signing key file (default for sqlite:PATH: PATH.key; created mode 0600)");
  serve->add_option("--origin", f.origin, "the log's name when this run creates it");
  serve->add_option("--regimes-dir", f.regimes_dir, "directory of regime files");
  serve->add_option("--data-dir", f.data_dir, "directory of accelerators.toml, cloud-prices.toml, cpi.toml");
  serve->add_option("--listen", f.listen, "HOST:PORT (port 0: the OS picks; the bound address is printed)");
  serve->add_option("--tls-cert", f.tls_cert, "PEM certificate chain: serve HTTPS");
  serve->add_option("--tls-key", f.tls_key, "PEM private key of --tls-cert");
  serve->add_option("--rate-limit", f.rate_limit, "requests per second per client address (0: no limit)")
      ->check(CLI::Range(0.0, 1e9));
  serve->add_option("--threads", f.threads, "I/O threads (default: one per core)");
  serve->add_flag("--print-openapi", f.print_openapi, "print the OpenAPI document (api/openapi.json) and exit");
  serve->add_flag("--print-routes", f.print_routes, "print the route table as markdown (docs/api.md) and exit");
  return [flags]() {
    const ServeFlags& given = *flags;
    if (given.print_openapi || given.print_routes) {
      std::vector<http::Route> routes = server::DocumentedRoutes();
      std::cout << (given.print_openapi ? server::OpenApi(routes).dump(2) + "\n" : server::RoutesMarkdown(routes));
      return 0;
    }
    if (given.store.empty()) {
      return ReportError("serve", core::Error{core::Code::kInvalidArgument, "is required", {}, "--store"}.ToString());
    }
    return Serve(given);
  };
}

CommandRunner AddUserCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  ServeFlags& f = *flags;
  CLI::App* user = app.add_subcommand("user", "the workspace's users, roles and API tokens");
  user->require_subcommand(1);
  CLI::App* add = user->add_subcommand(
      "add", "add a user (or change their role and password): the password from stdin, else generated and printed once");
  AddStoreFlags(add, f);
  add->add_option("--name", f.name, "the user's name")->required();
  add->add_option("--role", f.role, "developer-admin | compliance-officer | engineer | auditor | board | regulator-readonly")
      ->required();
  CLI::App* token = user->add_subcommand("token", "issue a user's API token (printed once; replaces the previous one)");
  AddStoreFlags(token, f);
  token->add_option("--name", f.name, "the user's name")->required();
  CLI::App* revoke = user->add_subcommand(
      "revoke", "end a user's web sessions and API token now, on every replica (they may log in again)");
  AddStoreFlags(revoke, f);
  revoke->add_option("--name", f.name, "the user's name")->required();
  CLI::App* disable = user->add_subcommand(
      "disable", "end a user's sessions and token and refuse their logins until `user add` names them again");
  AddStoreFlags(disable, f);
  disable->add_option("--name", f.name, "the user's name")->required();
  return [flags, add, token, revoke]() {
    if (add->parsed()) return UserAdd(*flags);
    if (token->parsed()) return UserToken(*flags);
    return UserEnd(*flags, /*disable=*/!revoke->parsed());
  };
}

CommandRunner AddWorkspaceCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  ServeFlags& f = *flags;
  CLI::App* ws = app.add_subcommand("workspace", "the compliance workspace's inventory");
  ws->require_subcommand(1);
  CLI::App* import = ws->add_subcommand(
      "import", "create or change the models of model files in the workspace, and record their events");
  AddStoreFlags(import, f);
  import->add_option("files", f.files, "model files (docs/assess.md)")->required();
  return [flags]() { return WorkspaceImport(*flags); };
}

}  // namespace flopline::cli
