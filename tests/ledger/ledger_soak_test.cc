// The ledger's crash soak (issue 16 item 1): writer processes SIGKILLed at random points on SQLite
// and on PostgreSQL, the PostgreSQL server itself killed (immediate shutdown) under load, a disk
// that fills up and a file system that turns read-only under a running writer. After every round,
// every acknowledged record must be in the store byte for byte and the log must verify under the
// pinned key and against the last checkpoint signed along the way (so a lost tail shows too);
// `flopline ledger verify` itself runs at the end of every log's life and in the disk tests.
//
// The default test run (ctest: ledger_soak_short) runs a few rounds of each; `make soak`
// (scripts/soak-ledger.sh) runs 1,000 SIGKILL rounds per backend and 100 server kills:
//   FLOPLINE_SOAK_ROUNDS         SIGKILL rounds per backend (default 8)
//   FLOPLINE_SOAK_SERVER_KILLS   PostgreSQL server kills (default 2)
//   FLOPLINE_SOAK_SEED           the random kill points (default 20261126)
//   FLOPLINE_SOAK_PG_PORT        the soak's own PostgreSQL, started and stopped by this binary
//   FLOPLINE_SOAK_DIR            where the run's files go (default: a fresh folder under /tmp)
//   FLOPLINE_SOAK_NO_CLI         1: no `flopline ledger verify` runs (the library's verify still does)
// The full-disk and read-only tests mount a tmpfs and an ext4 loop image: they need root (CI runs
// as root) and are skipped, saying why, where mounting is not allowed.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "flopline/ledger/hash.h"
#include "flopline/ledger/log.h"
#include "flopline/store/open.h"
#include "writer_process.h"

namespace flopline::ledger {
namespace {

using namespace std::chrono_literals;
using testing::Acks;
using testing::WriterProcess;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Command {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Command Shell(const std::string& command) {
  Command c;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return c;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) c.output.append(buf, n);
  int status = pclose(p);
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return c;
}

// The run's folder, made once, removed at exit unless the run failed (kept for a look).
const std::string& SoakDir() {
  static const std::string dir = [] {
    if (const char* d = std::getenv("FLOPLINE_SOAK_DIR"); d != nullptr && *d != '\0') {
      std::filesystem::create_directories(d);
      return std::string(d);
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "flopline-soak-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    return pattern;
  }();
  return dir;
}

// The soak's own PostgreSQL cluster (scripts/pg-test-server.sh), started on first use: the server
// kills must never touch the cluster the other tests share.
class SoakPostgres {
 public:
  static SoakPostgres& Get() {
    static SoakPostgres pg;
    return pg;
  }
  const std::string& conninfo() {
    if (conninfo_.empty()) {
      // From "/": the server and its tools run as the postgres user, who cannot enter a private (0700)
      // checkout, and their "could not change directory" warning would come before the conninfo.
      Command c = Shell(fmt::format("cd / && bash {} start {} {}", Quote(FLOPLINE_PG_SCRIPT), Quote(Dir()), Port()));
      if (c.exit_code != 0) throw std::runtime_error("the soak's PostgreSQL did not start: " + c.output);
      conninfo_ = c.output.substr(0, c.output.find('\n'));
    }
    return conninfo_;
  }
  std::string Crash() { return Run("crash", ""); }
  std::string Restart() { return Run("restart", std::to_string(Port())); }
  void Stop() {
    if (!conninfo_.empty()) Shell(fmt::format("cd / && bash {} stop {}", Quote(FLOPLINE_PG_SCRIPT), Quote(Dir())));
    conninfo_.clear();
  }

 private:
  static int Port() { return EnvInt("FLOPLINE_SOAK_PG_PORT", FLOPLINE_SOAK_PG_PORT_DEFAULT); }
  static std::string Dir() { return SoakDir() + "/pg"; }
  std::string Run(const char* action, const std::string& arg) {
    Command c = Shell(fmt::format("cd / && bash {} {} {} {}", Quote(FLOPLINE_PG_SCRIPT), action, Quote(Dir()), arg));
    return c.exit_code == 0 ? "" : fmt::format("pg-test-server.sh {} failed: {}", action, c.output);
  }
  std::string conninfo_;
};

class SoakEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    SoakPostgres::Get().Stop();
    const auto* unit = ::testing::UnitTest::GetInstance();
    if (unit->Passed() && std::getenv("FLOPLINE_SOAK_DIR") == nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(SoakDir(), ignored);
    } else {
      std::printf("soak: the run's files are kept in %s\n", SoakDir().c_str());
    }
  }
};
[[maybe_unused]] const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new SoakEnvironment);

// A log of the soak's, checked after every round the way an operator would after a crash: the
// library's Log::Verify under the pinned key and against the last checkpoint signed (what `flopline
// ledger verify --key K --since C` runs), and the command itself at the end of every log's life.
class SoakLog {
 public:
  explicit SoakLog(std::string spec) : spec_(std::move(spec)) {}
  const std::string& spec() const { return spec_; }

  std::string Init() {
    auto storage = store::Open(spec_);
    if (!storage) return "cannot open the store: " + storage.error().ToString();
    auto init = Log::Init(**storage, "soak.example/ledger", signer_);
    return init ? "" : "init failed: " + init.error().ToString();
  }

  // Every acknowledged append is present, byte for byte: the stored leaf hashes to the hash the
  // writer was given, and the stored document is the one it wrote. "" when all are.
  std::string CheckAcknowledged(const Acks& acks) const {
    if (!acks.conflicts.empty()) return acks.conflicts.front();
    auto storage = store::Open(spec_);
    if (!storage) return "cannot open the store: " + storage.error().ToString();
    for (const auto& [index, ack] : acks.by_index) {
      auto e = (*storage)->GetEntry(index);
      if (!e) return fmt::format("acknowledged entry {} is gone: {}", index, e.error().ToString());
      if (Hex(e->leaf_hash) != ack.leaf_hash || Hex(LeafHash(e->leaf)) != ack.leaf_hash) {
        return fmt::format("entry {} is not the leaf that was acknowledged", index);
      }
      auto document = (*storage)->GetDocument(e->index);
      if (!document || !*document || Hex(Sha256(**document)) != ack.document_sha256) {
        return fmt::format("entry {}'s document is not the one that was acknowledged", index);
      }
    }
    return "";
  }

  std::string Verify() const {
    auto storage = store::Open(spec_);
    if (!storage) return "cannot open the store: " + storage.error().ToString();
    Log log(**storage);
    if (auto pinned = log.PinKey(signer_.VerifierKey()); !pinned) return pinned.error().ToString();
    VerifyOptions options;
    options.since = last_checkpoint_;
    auto report = log.Verify(options);
    if (!report) return "verify failed: " + report.error().ToString();
    return report->ok ? "" : "verify: " + report->problem;
  }

  // `flopline ledger verify` itself, under the pinned verifier key and the last checkpoint.
  // FLOPLINE_SOAK_NO_CLI=1 leaves it out (a build of the test alone, without the binary).
  std::string VerifyWithCli() const {
    if (EnvInt("FLOPLINE_SOAK_NO_CLI", 0) == 1) return "";
    std::string since;
    if (last_checkpoint_) {
      since = fmt::format("{}/checkpoint-{}.note", SoakDir(), getpid());
      std::ofstream(since, std::ios::trunc) << *last_checkpoint_;
      since = " --since " + Quote(since);
    }
    Command c = Cli(fmt::format("verify --store {} --key {}{}", Quote(spec_), Quote(signer_.VerifierKey()), since));
    return c.exit_code == 0 ? "" : fmt::format("ledger verify exited {}: {}", c.exit_code, c.output);
  }

  // Signs a checkpoint and keeps it: later verifies must find the log extends it.
  std::string Checkpoint() {
    auto storage = store::Open(spec_);
    if (!storage) return "cannot open the store: " + storage.error().ToString();
    auto note = Log(**storage).Checkpoint(signer_);
    if (!note) return "checkpoint failed: " + note.error().ToString();
    last_checkpoint_ = *note;
    return "";
  }

  std::string CheckAll(const Acks& acks) const {
    std::string problem = CheckAcknowledged(acks);
    return problem.empty() ? Verify() : problem;
  }

  static Command Cli(const std::string& args) { return Shell(fmt::format("{} ledger {}", FLOPLINE_BINARY, args)); }

 private:
  std::string spec_;
  Signer signer_ = *Signer::Generate("soak.example/ledger");
  std::optional<std::string> last_checkpoint_;
};

std::string FreshSpec(const std::string& backend, int n) {
  if (backend == "sqlite") return fmt::format("sqlite:{}/sqlite-{}.db", SoakDir(), n);
  std::string name = fmt::format("flopline_soak_{}", n);
  pqxx::connection admin(SoakPostgres::Get().conninfo());
  pqxx::nontransaction tx(admin);
  tx.exec0("DROP DATABASE IF EXISTS " + name);
  tx.exec0("CREATE DATABASE " + name);
  return fmt::format("postgres:{} dbname={}", SoakPostgres::Get().conninfo(), name);
}

// Waits for writers that must stop by themselves (their store failed under them); kills and
// reports any still running at the deadline.
std::string AwaitWritersEnding(std::vector<WriterProcess>& writers, Acks& acks, std::chrono::seconds limit) {
  bool ended = testing::ReadAcks(writers, SIZE_MAX, acks, std::chrono::steady_clock::now() + limit);
  std::string problem;
  for (WriterProcess& w : writers) {
    if (!ended) kill(w.pid, SIGKILL);
    int status = testing::Reap(w, acks);
    if (!ended) {
      problem = fmt::format("a writer was still running {} s after its store failed", limit.count());
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 1) {
      problem = fmt::format("a writer ended with status {:#x}, not exit 1 with an error: {}", status, w.errors);
    } else if (w.errors.empty() || w.errors.find('\n') != w.errors.size() - 1) {
      problem = fmt::format("a writer's error is not one line: '{}'", w.errors);
    }
  }
  return problem;
}

// --- SIGKILL rounds -------------------------------------------------------------------------

// Two writer processes of three threads each; one is killed at a random acknowledgement, the other
// a random number of acknowledgements later (so it appends on after a peer died inside a commit,
// holding the write lock), then both stores are checked. A fresh log every 50 rounds (10 on
// PostgreSQL, where verify reads each document in a query of its own) keeps a round's verify short;
// a checkpoint every 10 rounds is what later verifies must extend. Progress every 25 rounds.
void SigkillRounds(const std::string& backend) {
  const int rounds = EnvInt("FLOPLINE_SOAK_ROUNDS", 8);
  std::mt19937 random(static_cast<unsigned>(EnvInt("FLOPLINE_SOAK_SEED", 20261126)));
  std::unique_ptr<SoakLog> log;
  size_t acknowledged = 0;
  auto started = std::chrono::steady_clock::now();
  for (int round = 0; round < rounds; ++round) {
    if (round % (backend == "sqlite" ? 50 : 10) == 0) {
      if (log) {
        ASSERT_EQ(log->VerifyWithCli(), "") << backend << " round " << round;
      }
      log = std::make_unique<SoakLog>(FreshSpec(backend, round));
      ASSERT_EQ(log->Init(), "");
    }
    std::vector<WriterProcess> writers{testing::SpawnWriter(log->spec(), 0, 3),
                                       testing::SpawnWriter(log->spec(), 0, 3)};
    Acks acks;
    size_t first = 1 + random() % 150, second = first + random() % 100;
    auto deadline = std::chrono::steady_clock::now() + 2min;
    bool reached = testing::ReadAcks(writers, first, acks, deadline);
    size_t victim = random() % 2;
    kill(writers[victim].pid, SIGKILL);
    reached = reached && testing::ReadAcks(writers, second, acks, deadline);
    kill(writers[1 - victim].pid, SIGKILL);
    for (WriterProcess& w : writers) {
      int status = testing::Reap(w, acks);
      ASSERT_TRUE(WIFSIGNALED(status)) << backend << " round " << round << ": a writer ended by itself (status "
                                       << status << "): " << w.errors;
    }
    ASSERT_TRUE(reached) << backend << " round " << round << ": " << second << " acknowledgements took over 2 minutes";
    ASSERT_GE(acks.by_index.size(), second) << backend << " round " << round;
    ASSERT_EQ(log->CheckAll(acks), "") << backend << " round " << round;
    acknowledged += acks.by_index.size();
    if (round % 10 == 9) {
      ASSERT_EQ(log->Checkpoint(), "") << backend << " round " << round;
    }
    if (round % 25 == 24) {
      std::printf("soak: %s: %d rounds passed, %zu acknowledged appends checked\n", backend.c_str(), round + 1,
                  acknowledged);
      std::fflush(stdout);
    }
  }
  ASSERT_EQ(log->VerifyWithCli(), "") << backend << " at the end";
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("soak: %s: %d SIGKILL rounds, %zu acknowledged appends checked, every verify passed (%.0f s)\n",
              backend.c_str(), rounds, acknowledged, seconds);
}

TEST(LedgerSoak, SigkilledWritersLoseNothingAcknowledgedOnSqlite) { SigkillRounds("sqlite"); }

TEST(LedgerSoak, SigkilledWritersLoseNothingAcknowledgedOnPostgres) { SigkillRounds("postgres"); }

// The database server itself dies (pg_ctl stop -m immediate: no shutdown checkpoint, crash
// recovery on restart) while two writers append. The writers must fail with an error, never hang
// or crash, and after the restart every append they acknowledged must be there.
TEST(LedgerSoak, PostgresServerKilledMidLoadLosesNothingAcknowledged) {
  const int kills = EnvInt("FLOPLINE_SOAK_SERVER_KILLS", 2);
  std::mt19937 random(static_cast<unsigned>(EnvInt("FLOPLINE_SOAK_SEED", 20261126)) + 1);
  std::unique_ptr<SoakLog> log;
  size_t acknowledged = 0;
  for (int round = 0; round < kills; ++round) {
    if (round % 20 == 0) {
      if (log) {
        ASSERT_EQ(log->VerifyWithCli(), "") << "round " << round;
      }
      log = std::make_unique<SoakLog>(FreshSpec("postgres", 100000 + round));
      ASSERT_EQ(log->Init(), "");
    }
    std::vector<WriterProcess> writers{testing::SpawnWriter(log->spec(), 0, 3),
                                       testing::SpawnWriter(log->spec(), 0, 3)};
    Acks acks;
    size_t kill_after = 1 + random() % 200;
    bool reached = testing::ReadAcks(writers, kill_after, acks, std::chrono::steady_clock::now() + 2min);
    ASSERT_EQ(SoakPostgres::Get().Crash(), "");
    std::string ending = AwaitWritersEnding(writers, acks, 60s);
    ASSERT_EQ(SoakPostgres::Get().Restart(), "");
    ASSERT_TRUE(reached) << "round " << round << ": " << kill_after << " acknowledgements took over 2 minutes";
    ASSERT_EQ(ending, "") << "round " << round;
    ASSERT_EQ(log->CheckAll(acks), "") << "round " << round;
    acknowledged += acks.by_index.size();
    if (round % 10 == 9) {
      ASSERT_EQ(log->Checkpoint(), "") << "round " << round;
      std::printf("soak: postgres: %d server kills passed, %zu acknowledged appends checked\n", round + 1,
                  acknowledged);
      std::fflush(stdout);
    }
  }
  ASSERT_EQ(log->VerifyWithCli(), "") << "at the end";
  std::printf("soak: postgres: %d server kills, %zu acknowledged appends checked, every verify passed\n", kills,
              acknowledged);
}

// --- full disk, read-only file system --------------------------------------------------------

// A folder of the soak's with a file system mounted on it, unmounted at the end of the test.
class Mount {
 public:
  explicit Mount(const std::string& name) : path_(SoakDir() + "/" + name) { std::filesystem::create_directories(path_); }
  ~Mount() { Unmount(); }
  // "" once unmounted (or never mounted), else why not and who holds the file system. A mount left
  // in place is not harmless: `mount -o loop` of the same image again reuses its loop device and
  // so the errored file system itself (one read-only case passed its repair check on it, then
  // failed its append: 1 run in 43). umount is tried for up to 5 s.
  std::string Unmount() {
    if (!mounted_) return "";
    Command c;
    for (int attempt = 0; attempt < 20; ++attempt) {
      c = Shell("umount " + Quote(path_));
      if (c.exit_code == 0) {
        mounted_ = false;
        return "";
      }
      std::this_thread::sleep_for(250ms);
    }
    return fmt::format("umount {} failed: {}holders: {}", path_, c.output, Shell("fuser -vm " + Quote(path_)).output);
  }
  // "" when mounted, else why not.
  std::string Run(const std::string& mount_command) {
    Command c = Shell(mount_command + " " + Quote(path_));
    mounted_ = c.exit_code == 0;
    return mounted_ ? "" : c.output;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

// A document for `ledger append`, padded with `padding` bytes of log text.
std::string WriteDocument(const std::string& name, std::size_t padding = 0) {
  std::string path = SoakDir() + "/" + name;
  std::ofstream(path, std::ios::trunc) << R"({"suite":"after-the-fault","passed":true,"log":")"
                                       << std::string(padding, 'x') << R"("})";
  return path;
}

Command CliAppend(const SoakLog& log, const std::string& document) {
  return SoakLog::Cli(fmt::format("append --store {} --kind test-results --model crash-model --file {}",
                                  Quote(log.spec()), Quote(document)));
}

// The disk fills under a writer: its append fails with an error naming the full disk, everything
// it acknowledged is there, the log verifies on the full disk, `ledger append` says the disk is full
// (exit 2, one line, nothing stored), and once there is room again appends go on.
TEST(LedgerSoak, AFullDiskIsAClearErrorAndLosesNothingAcknowledged) {
  Mount disk("full-disk");
  if (std::string why = disk.Run("mount -t tmpfs -o size=1536k tmpfs"); !why.empty()) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << why;
  }
  SoakLog log("sqlite:" + disk.path() + "/evidence.db");
  ASSERT_EQ(log.Init(), "");
  std::vector<WriterProcess> writers{testing::SpawnWriter(log.spec(), 0, 4)};
  Acks acks;
  ASSERT_EQ(AwaitWritersEnding(writers, acks, 180s), "");
  EXPECT_NE(writers[0].errors.find("full"), std::string::npos) << writers[0].errors;
  ASSERT_GT(acks.by_index.size(), 0u);
  ASSERT_EQ(log.CheckAll(acks), "") << "on the full disk";
  ASSERT_EQ(log.VerifyWithCli(), "") << "on the full disk";
  auto size_before = (*store::Open(log.spec()))->Size();
  ASSERT_TRUE(size_before);
  // Larger than the whole disk: a small document could still fit in the room the writer's failed
  // transaction left, or in WAL pages already written and checkpointed (it did, once: exit 0).
  const std::string big = WriteDocument("full-disk.json", 2 << 20);
  Command refused = CliAppend(log, big);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("full"), std::string::npos) << refused.output;
  EXPECT_EQ(std::count(refused.output.begin(), refused.output.end(), '\n'), 1) << refused.output;
  EXPECT_EQ(*(*store::Open(log.spec()))->Size(), *size_before);
  ASSERT_EQ(Shell("mount -o remount,size=16m " + Quote(disk.path())).exit_code, 0);
  Command appended = CliAppend(log, big);
  EXPECT_EQ(appended.exit_code, 0) << appended.output;
  EXPECT_EQ(log.CheckAll(acks), "") << "with room again";
  EXPECT_EQ(log.VerifyWithCli(), "") << "with room again";
  std::printf("soak: full disk: %zu acknowledged appends before it filled, all present; writer said: %s",
              acks.by_index.size(), writers[0].errors.c_str());
}

// The file system turns read-only under a running writer (ext4 with errors=remount-ro, an error
// triggered through sysfs: what a failing disk does). The writer fails with a one-line error that
// names the system's reason, everything it acknowledged is there, and the log verifies, read-only
// and after repair. (An append whose WAL sync the journal's abort straddled was acknowledged and
// lost in 2 of 49 runs before the store checked its syncs: src/store/sqlite_vfs.h.)
TEST(LedgerSoak, AFileSystemTurnedReadOnlyMidRunIsAClearErrorAndLosesNothing) {
  std::string image = SoakDir() + "/read-only.img";
  if (Command mk = Shell(fmt::format("truncate -s 16M {0} && mkfs.ext4 -q {0}", Quote(image))); mk.exit_code != 0) {
    GTEST_SKIP() << "cannot make an ext4 image here: " << mk.output;
  }
  std::mt19937 random(static_cast<unsigned>(EnvInt("FLOPLINE_SOAK_SEED", 20261126)) + 2);
  Acks acks;
  std::string errors;
  std::unique_ptr<SoakLog> log;
  {
    Mount disk("read-only");
    if (std::string why = disk.Run(fmt::format("mount -o loop,errors=remount-ro {}", Quote(image))); !why.empty()) {
      GTEST_SKIP() << "cannot mount a loop device here (needs root): " << why;
    }
    log = std::make_unique<SoakLog>("sqlite:" + disk.path() + "/evidence.db");
    ASSERT_EQ(log->Init(), "");
    std::vector<WriterProcess> writers{testing::SpawnWriter(log->spec(), 0, 4)};
    ASSERT_TRUE(testing::ReadAcks(writers, 1 + random() % 300, acks, std::chrono::steady_clock::now() + 2min));
    Command device = Shell("basename \"$(findmnt -n -o SOURCE " + Quote(disk.path()) + ")\"");
    std::string trigger = "/sys/fs/ext4/" + device.output.substr(0, device.output.find('\n')) + "/trigger_fs_error";
    ASSERT_EQ(Shell("echo 1 > " + Quote(trigger)).exit_code, 0) << trigger;
    ASSERT_EQ(AwaitWritersEnding(writers, acks, 60s), "");
    errors = writers[0].errors;
    // The reason is the file system's answer to the write, the sync or the store's check after it:
    // EROFS once ext4 turned read-only, EIO from a journal that aborted under the sync.
    EXPECT_TRUE(errors.find("disk I/O error (Read-only file system)") != std::string::npos ||
                errors.find("disk I/O error (Input/output error)") != std::string::npos)
        << errors;
    // An auditor can still check the log where it lies.
    EXPECT_EQ(log->CheckAll(acks), "") << "on the read-only file system";
    EXPECT_EQ(log->VerifyWithCli(), "") << "on the read-only file system";
    Command refused = CliAppend(*log, WriteDocument("read-only.json"));
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_TRUE(refused.output.find("readonly") != std::string::npos ||
                refused.output.find("Read-only") != std::string::npos)
        << refused.output;
    EXPECT_EQ(std::count(refused.output.begin(), refused.output.end(), '\n'), 1) << refused.output;
    ASSERT_EQ(disk.Unmount(), "");
  }
  // Repaired and mounted again: nothing acknowledged lost, and appends go on. The repair is made on
  // a copy of the image. A mount namespace made elsewhere while the file system was mounted (`ip
  // netns exec` makes one) keeps the errored file system alive after our umount succeeds (2 runs
  // in 130: no "unmounting filesystem" in the kernel's log), and `mount -o loop` of the same image
  // would reuse its loop device and so that file system, read-only.
  if (Command attached = Shell("losetup -j " + Quote(image)); !attached.output.empty()) {
    std::printf("soak: read-only: the image is still attached after umount (%s), mounted in: %s",
                attached.output.substr(0, attached.output.find('\n')).c_str(),
                Shell("for f in $(grep -l \"$(losetup -j " + Quote(image) + " | cut -d: -f1 | xargs basename)\" "
                      "/proc/[0-9]*/mountinfo | head -3); do p=${f#/proc/}; p=${p%/mountinfo}; "
                      "echo -n \"pid $p $(readlink /proc/$p/ns/mnt) $(tr '\\0' ' ' < /proc/$p/cmdline | cut -c1-80); \"; "
                      "done; echo").output.c_str());
  }
  std::string repaired = SoakDir() + "/read-only-repaired.img";
  ASSERT_EQ(Shell(fmt::format("cp {} {}", Quote(image), Quote(repaired))).exit_code, 0);
  Command repair = Shell("e2fsck -fy " + Quote(repaired));
  ASSERT_LT(repair.exit_code, 4) << repair.output;  // 0: clean, 1: errors corrected
  Mount disk("read-only");
  ASSERT_EQ(disk.Run(fmt::format("mount -o loop {}", Quote(repaired))), "");
  EXPECT_EQ(log->CheckAll(acks), "") << "after repair";
  Command appended = CliAppend(*log, WriteDocument("read-only.json"));
  EXPECT_EQ(appended.exit_code, 0) << appended.output;
  EXPECT_EQ(log->VerifyWithCli(), "") << "after repair";
  std::printf("soak: read-only: %zu acknowledged appends before it turned read-only, all present; writer said: %s",
              acks.by_index.size(), errors.c_str());
}

}  // namespace
}  // namespace flopline::ledger
