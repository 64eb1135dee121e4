// The workload's process tree: a child that leaves the process group (setsid) is still stopped,
// and the workload is not "gone" while it lives.
#include "flopline/killswitch/workload.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "flopline/killswitch/protocol.h"

namespace flopline::killswitch {
namespace {

// Issue 16's open finding: with a compile beside it, an agent aborted (SIGABRT) while draining a
// workload whose processes were exiting. /proc fails for a process that dies while it is read
// (readdir of its task directory: ENOENT; a read of its files: ESRCH), and the walk threw that
// (a directory_iterator's ++, GCC 12's ifstream), uncaught: std::terminate. A workload whose
// short-lived children come and go is walked many times: no walk may throw. (Each child is reaped
// by the shell itself, so neither zombies nor a fast pid wrap-around build up; the group is
// SIGKILLed directly before Stop, so that Stop signals nothing but what is left of it.)
TEST(Workload, WalkingATreeWhoseProcessesKeepExitingNeverThrows) {
  auto w = Workload::Start({"sh", "-c", "while :; do sleep 0.001; done"});
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_NO_THROW({
    for (int i = 0; i < 20'000; ++i) (void)w->Descendants();
  });
  kill(-w->pgid(), SIGKILL);
  ASSERT_NO_THROW((void)w->Stop(100));
  EXPECT_TRUE(w->Gone());
}

// Issue 10, kill switch item 7: "confirmed stopped" was claimed while a setsid child survived.
TEST(Workload, ASetsidChildIsStoppedBeforeTheWorkloadCountsAsGone) {
  auto w = Workload::Start({"sh", "-c", "setsid sleep 600 & sleep 600"});
  ASSERT_TRUE(w) << w.error().message;
  // Bounded wait for the setsid sleep to lead its own session (counting three descendants was
  // not enough: the shell's child, forked but not yet past setsid(), is one of them, and dies
  // with the group).
  pid_t setsid_child = -1;
  auto escaped = [&] {
    for (pid_t pid : w->Descendants()) {
      if (getsid(pid) == pid) setsid_child = pid;
    }
    return setsid_child > 0;
  };
  std::int64_t deadline = MonotonicMs() + 30'000;
  while (!escaped() && MonotonicMs() < deadline) usleep(10'000);
  std::vector<pid_t> before = w->Descendants();
  ASSERT_GE(before.size(), 3u);
  // Killing the process group alone leaves the setsid child: not gone.
  kill(-w->pgid(), SIGKILL);
  deadline = MonotonicMs() + 30'000;
  while (kill(-w->pgid(), 0) == 0 && MonotonicMs() < deadline) {
    w->Gone();
    usleep(10'000);
  }
  EXPECT_FALSE(w->Gone()) << "the setsid child is still alive";
  // (Other descendants may be there too: guards of earlier tests' workloads in this process.)
  std::vector<pid_t> left = w->Descendants();
  EXPECT_NE(std::find(left.begin(), left.end(), setsid_child), left.end());
  // Stop() reaches it.
  w->Stop(5000);
  EXPECT_TRUE(w->Gone());
  EXPECT_TRUE(w->Descendants().empty());
  for (pid_t pid : before) EXPECT_TRUE(kill(pid, 0) != 0) << pid;
}

// A workload that escapes both ways: a subshell starts a setsid process and exits (a double fork:
// the escapee is orphaned, in a session and group of its own), which writes its pid to `file`.
std::vector<std::string> Escaping(const std::string& file) {
  return {"sh", "-c",
          fmt::format("(setsid sh -c 'echo $$ > {}.tmp && mv {}.tmp {}; exec sleep 600' &); "
                      "exec sleep 600",
                      file, file, file)};
}

std::string TempFile(const char* name) {
  return (std::filesystem::temp_directory_path() / fmt::format("{}-{}", name, getpid())).string();
}

// The pid written to `file`, waiting up to 30 s for it; -1 if none came.
pid_t ReadPid(const std::string& file) {
  for (std::int64_t deadline = MonotonicMs() + 30'000; MonotonicMs() < deadline; usleep(10'000)) {
    std::ifstream in(file);
    pid_t pid = -1;
    if (in >> pid && pid > 0) return pid;
  }
  return -1;
}

// Alive and not a zombie (a zombie that is our child is reaped).
bool Alive(pid_t pid) {
  waitpid(pid, nullptr, WNOHANG);
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z' &&
         stat[paren + 2] != 'X';
}

// Waits up to 10 s for `pid` to be gone.
bool GoneWithin10s(pid_t pid) {
  for (std::int64_t deadline = MonotonicMs() + 10'000; MonotonicMs() < deadline; usleep(10'000)) {
    if (!Alive(pid)) return true;
  }
  return false;
}

bool InCgroup(const std::string& cgroup, pid_t pid) {
  std::ifstream in(cgroup + "/cgroup.procs");
  for (pid_t p; in >> p;) {
    if (p == pid) return true;
  }
  return false;
}

// Issue 16 item 2: a double-forked setsid process is in the workload's cgroup, and Stop() ends it
// with the rest; the cgroup is removed once empty.
TEST(Workload, ACgroupHoldsADoubleForkedSetsidProcess) {
  std::string file = TempFile("flopline-escape");
  std::filesystem::remove(file);
  auto w = Workload::Start(Escaping(file), Containment::kCgroup);
  if (!w) GTEST_SKIP() << "no cgroup v2 on this host: " << w.error().message;
  ASSERT_FALSE(w->cgroup().empty());
  EXPECT_TRUE(w->warning().empty());
  pid_t escaped = ReadPid(file);
  ASSERT_GT(escaped, 0);
  EXPECT_NE(getpgid(escaped), w->pgid()) << "it left the process group";
  EXPECT_NE(getsid(escaped), getsid(w->pgid())) << "and the session";
  EXPECT_TRUE(InCgroup(w->cgroup(), escaped));
  w->Stop(5000);
  EXPECT_TRUE(w->Gone());
  EXPECT_FALSE(Alive(escaped));
  EXPECT_FALSE(std::filesystem::exists(w->cgroup())) << "an empty cgroup is removed";
  std::filesystem::remove(file);
}

// The agent SIGKILLed: its guard ends the workload. In a cgroup, the escapee goes with it; with
// the process group only (the fallback), it survives: the limit the cgroup removes.
void AgentKilled(Containment containment, bool escapee_survives) {
  std::string file = TempFile(containment == Containment::kCgroup ? "flopline-esc-cg"
                                                                   : "flopline-esc-pg");
  std::string leader_file = file + ".leader";
  std::filesystem::remove(file);
  std::filesystem::remove(leader_file);
  pid_t agent = fork();
  ASSERT_GE(agent, 0);
  if (agent == 0) {
    auto w = Workload::Start(Escaping(file), containment);
    if (!w) _exit(2);
    std::ofstream(leader_file + ".tmp") << w->pgid() << "\n";
    std::filesystem::rename(leader_file + ".tmp", leader_file);
    for (;;) pause();
  }
  pid_t escaped = ReadPid(file);
  pid_t leader = ReadPid(leader_file);
  kill(agent, SIGKILL);
  waitpid(agent, nullptr, 0);
  ASSERT_GT(escaped, 0);
  ASSERT_GT(leader, 0);
  EXPECT_TRUE(GoneWithin10s(leader)) << "the guard kills the process group";
  if (escapee_survives) {
    EXPECT_TRUE(Alive(escaped));
    kill(escaped, SIGKILL);
  } else {
    EXPECT_TRUE(GoneWithin10s(escaped)) << "the guard's cgroup.kill reaches the setsid process";
  }
  std::filesystem::remove(file);
  std::filesystem::remove(leader_file);
}

TEST(Workload, TheAgentsDeathTakesTheEscapedProcessWithItInACgroup) {
  auto probe = Workload::Start({"true"}, Containment::kCgroup);
  if (!probe) GTEST_SKIP() << "no cgroup v2 on this host: " << probe.error().message;
  probe->Stop(5000);
  AgentKilled(Containment::kCgroup, false);
}

TEST(Workload, WithTheProcessGroupOnlyTheEscapedProcessOutlivesTheAgent) {
  AgentKilled(Containment::kProcessGroup, true);
}

TEST(Workload, WithTheProcessGroupOnlyStopStillReachesADoubleForkedProcess) {
  std::string file = TempFile("flopline-escape-pg");
  std::filesystem::remove(file);
  auto w = Workload::Start(Escaping(file), Containment::kProcessGroup);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_TRUE(w->cgroup().empty());
  pid_t escaped = ReadPid(file);
  ASSERT_GT(escaped, 0);
  w->Stop(5000);
  EXPECT_TRUE(w->Gone());
  EXPECT_FALSE(Alive(escaped));
  std::filesystem::remove(file);
}

// A process running `sleep 600` whose pid is `target`, started by this process (so not a
// descendant of any agent it forked): clone3 with set_tid where this process may choose a pid
// (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), else by running through the pid space (processes
// that exit at once) until the kernel hands out `target`, for at most 60 s. -1 if neither worked.
pid_t SpawnWithPid(pid_t target) {
  clone_args args{};
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<std::uint64_t>(&target);
  args.set_tid_size = 1;
  long made = syscall(SYS_clone3, &args, sizeof args);
  if (made == 0) {
    execlp("sleep", "sleep", "600", static_cast<char*>(nullptr));
    _exit(127);
  }
  if (made > 0) return static_cast<pid_t>(made);
  for (std::int64_t deadline = MonotonicMs() + 60'000; MonotonicMs() < deadline;) {
    pid_t pid = vfork();
    if (pid == 0) {
      if (getpid() == target) execlp("sleep", "sleep", "600", static_cast<char*>(nullptr));
      _exit(0);
    }
    if (pid < 0) return -1;
    if (pid == target) return pid;
    waitpid(pid, nullptr, 0);
  }
  return -1;
}

// Issue 16's open finding: the agent listed a workload's processes and signalled them by pid a
// moment later; a listed process that exited in between, its pid taken by an unrelated process,
// had that process signalled instead. Here it is forced: between the listing (`what`) and the
// signals, a listed process of the workload (one that ignores SIGTERM) is killed and reaped, and
// this process (the agent runs in a child of it) starts a `sleep` with the same pid. The agent's
// SIGTERM must not reach that sleep.
void ListedPidReusedByAnOutsider(std::string_view what, Containment containment) {
  std::string file = TempFile("flopline-reused");
  std::filesystem::remove(file);
  int ask[2], answer[2];
  ASSERT_EQ(pipe(ask), 0);
  ASSERT_EQ(pipe(answer), 0);
  pid_t agent = fork();
  ASSERT_GE(agent, 0);
  if (agent == 0) {
    close(ask[0]);
    close(answer[1]);
    auto w = Workload::Start(
        {"sh", "-c",
         fmt::format("(trap '' TERM; exec sleep 600) & echo $! > {0}.tmp && mv {0}.tmp {0}; "
                     "wait; exec sleep 600",
                     file)},
        containment);
    if (!w) _exit(77);
    pid_t victim = ReadPid(file);
    if (victim <= 0) _exit(3);
    // Until the victim runs sleep with SIGTERM ignored.
    for (std::int64_t deadline = MonotonicMs() + 30'000;; usleep(10'000)) {
      std::ifstream comm(fmt::format("/proc/{}/comm", victim));
      std::string name;
      if (comm >> name && name == "sleep") break;
      if (MonotonicMs() > deadline) _exit(4);
    }
    int outcome = 5;  // the hook never saw the victim listed
    Workload::TEST_SetListedHook([&](std::string_view listed_as, pid_t listed) {
      if (listed_as != what || listed != victim || outcome != 5) return;
      outcome = 6;  // the victim did not go
      kill(victim, SIGKILL);
      for (std::int64_t deadline = MonotonicMs() + 10'000; MonotonicMs() < deadline;
           usleep(1000)) {
        waitpid(victim, nullptr, WNOHANG);  // ours once its shell is gone
        if (kill(victim, 0) != 0 && errno == ESRCH) {
          outcome = 7;  // the outsider was not started
          break;
        }
      }
      if (outcome != 7) return;
      char reply = 0;
      if (write(ask[1], &victim, sizeof victim) == sizeof victim && read(answer[0], &reply, 1) == 1 &&
          reply == 'y') {
        outcome = 0;
      }
    });
    w->Stop(200);
    Workload::TEST_SetListedHook(nullptr);
    _exit(w->Gone() ? outcome : 8);
  }
  close(ask[1]);
  close(answer[0]);
  pid_t victim = -1, outsider = -1;
  if (read(ask[0], &victim, sizeof victim) == sizeof victim) {
    outsider = SpawnWithPid(victim);
    char reply = outsider == victim ? 'y' : 'n';
    EXPECT_EQ(write(answer[1], &reply, 1), 1);
  }
  close(ask[0]);
  close(answer[1]);
  int status = 0;
  ASSERT_EQ(waitpid(agent, &status, 0), agent);
  std::filesystem::remove(file);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
    GTEST_SKIP() << "no cgroup v2 on this host";
  }
  if (outsider <= 0 && victim > 0) GTEST_SKIP() << "could not start a process with pid " << victim;
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the agent's side failed: status " << status;
  ASSERT_EQ(outsider, victim);
  int outsider_status = 0;
  pid_t reaped = waitpid(outsider, &outsider_status, WNOHANG);
  EXPECT_EQ(reaped, 0) << "the process that took the listed pid was signalled: "
                       << (WIFSIGNALED(outsider_status) ? strsignal(WTERMSIG(outsider_status))
                                                        : "it exited");
  kill(outsider, SIGKILL);
  waitpid(outsider, nullptr, 0);
}

TEST(Workload, AListedDescendantsPidTakenByAnOutsiderIsNotSignalled) {
  ListedPidReusedByAnOutsider("descendants", Containment::kProcessGroup);
}

TEST(Workload, AListedCgroupMembersPidTakenByAnOutsiderIsNotSignalled) {
  ListedPidReusedByAnOutsider("cgroup", Containment::kCgroup);
}

}  // namespace
}  // namespace flopline::killswitch
