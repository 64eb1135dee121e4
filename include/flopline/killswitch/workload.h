// File: flopline/killswitch/workload.h
//
// A workload (a training job, an inference server) run as its own process group, so that one
// signal reaches the whole tree, and guarded so that it cannot outlive its agent: a guard process
// holds the read end of a pipe only the agent writes to, and kills the group the moment the agent
// is gone, however it died. The leader also gets PR_SET_PDEATHSIG(SIGKILL), and the agent is a
// child subreaper, so orphaned grandchildren come back to it to be reaped.
//
// A process that leaves the group (setsid, setpgid) is still the agent's descendant, since orphans
// come back to the subreaper: Stop() signals every live descendant as well as the group, and the
// workload counts as gone only when neither the group nor any descendant (but the guard) is left.
//
// Containment: where the host has a writable cgroup v2 hierarchy, the workload also runs in a
// cgroup of its own (a child of the agent's, "flopline-ks-PID-N"), joined before it execs, so
// every process it ever starts is in it whatever it does with sessions, groups or double forks.
// Stop() and the guard end it with cgroup.kill (or, on kernels before 5.14, cgroup.freeze and a
// SIGKILL to every pid in cgroup.procs), so even the agent's own SIGKILL takes a setsid grandchild
// with it. Where cgroups are unavailable the process group (and the descendant walk) is all there
// is: Start() says why in warning(), and the agent logs it.
//
// Signals reach only the processes listed: a pid read from /proc or cgroup.procs may be handed to
// another process once its own has exited and been reaped (pid_max is often 32768), so each
// process is opened as a pidfd when it is listed, confirmed after that (its parent, still alive,
// still lists it as a child; the cgroup still lists it), and signalled through the pidfd
// (pidfd_send_signal): a pidfd whose process is gone signals nothing. The group is signalled
// through the leader's pidfd (PIDFD_SIGNAL_PROCESS_GROUP, Linux 6.9), else by number only while
// the leader is unreaped (only this process reaps it, so its pid, the group's id, cannot be reused;
// once it is reaped, every member left is a descendant and the walk reaches it). On kernels without
// pidfds (before 5.3) processes are signalled by pid, and warning() says so; on kernels before 6.9
// the guard, once the agent is gone, signals a process group (no cgroup) by number.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "flopline/core/result.h"

namespace flopline::killswitch {

// kAuto: a cgroup where the host allows it, else the process group with a warning; kCgroup: a
// cgroup or an error; kProcessGroup: the process group only.
enum class Containment { kAuto, kCgroup, kProcessGroup };

class Workload {
 public:
  static core::Result<Workload> Start(const std::vector<std::string>& argv,
                                      Containment containment = Containment::kAuto);

  pid_t pgid() const { return pgid_; }
  // The workload's cgroup directory; empty when it is contained by its process group only.
  const std::string& cgroup() const { return cgroup_; }
  // Why a kAuto start fell back to the process group; empty otherwise.
  const std::string& warning() const { return warning_; }
  // Reaps what has exited; true once no process of the group, and no other descendant of this
  // process but the guard, is left.
  bool Gone();
  // The leader's exit code (128 + signal when killed), once it has exited by itself.
  std::optional<int> ExitCode() const { return exit_code_; }
  // SIGTERM to the group, up to `grace_ms` for it to go, then SIGKILL; returns the wall-clock ms at
  // which the whole group was confirmed gone.
  std::int64_t Stop(std::int64_t grace_ms);
  // Live (not zombie) descendants of this process, the guard excepted, from /proc.
  std::vector<pid_t> Descendants() const;

  // Test hook: called for each process to be signalled between its listing and its signal, with
  // how it was listed ("descendants" or "cgroup"), so that a test can make a listed process exit
  // and its pid be taken by another process in between. Null (the default): nothing.
  using ListedHook = std::function<void(std::string_view what, pid_t pid)>;
  static void TEST_SetListedHook(ListedHook hook);

  // A descriptor owned (closed on destruction); -1 when there is none.
  class OwnedFd {
   public:
    OwnedFd() = default;
    explicit OwnedFd(int fd) : fd_(fd) {}
    OwnedFd(OwnedFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    OwnedFd& operator=(OwnedFd&& o) noexcept;
    ~OwnedFd();
    int get() const { return fd_; }

   private:
    int fd_ = -1;
  };

 private:
  // A process listed for a signal: its pid when listed and a pidfd opened then (-1 without pidfds).
  struct Listed {
    pid_t pid;
    OwnedFd fd;
  };
  // Calls `visit` with every live descendant but the guard, each confirmed (see above).
  void WalkDescendants(const std::function<void(const Listed&)>& visit) const;
  // Signals the process group (see above); true if some member may be there to receive it.
  bool SignalGroup(int sig) const;
  void Signal(int sig) const;
  pid_t pgid_ = -1, guard_ = -1;
  OwnedFd leader_fd_;               // the leader's pidfd, opened before it could be reaped
  bool pidfds_ = false;             // pidfd_open and pidfd_send_signal work
  bool group_by_pidfd_ = false;     // and PIDFD_SIGNAL_PROCESS_GROUP
  std::optional<int> exit_code_;
  std::string cgroup_, warning_;
  bool cgroup_removed_ = false;
};

}  // namespace flopline::killswitch
