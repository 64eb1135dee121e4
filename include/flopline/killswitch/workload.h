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
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
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

 private:
  void Signal(int sig) const;
  pid_t pgid_ = -1, guard_ = -1;
  std::optional<int> exit_code_;
  std::string cgroup_, warning_;
  bool cgroup_removed_ = false;
};

}  // namespace flopline::killswitch
