#include "flopline/killswitch/workload.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "flopline/killswitch/protocol.h"

namespace flopline::killswitch {

core::Result<Workload> Workload::Start(const std::vector<std::string>& argv) {
  if (argv.empty()) return core::InvalidArgument("no workload command after --", "command");
  // Orphans of the workload are re-parented to us, not to init, so we can reap them.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int guard_pipe[2];
  if (pipe2(guard_pipe, O_CLOEXEC) != 0) {
    return core::MakeError(core::Code::kUnavailable, fmt::format("pipe: {}", std::strerror(errno)));
  }
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    return core::MakeError(core::Code::kUnavailable, fmt::format("pipe: {}", std::strerror(errno)));
  }
  // SIGCHLD stays pending (blocked) in the agent so that Stop() can sleep in sigtimedwait until a
  // process of the group dies, instead of waking every millisecond: a thousand agents polling
  // while they stop their workloads would saturate a small host.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigset_t previous;
  sigprocmask(SIG_BLOCK, &chld, &previous);
  pid_t agent = getpid();
  pid_t child = fork();
  if (child < 0) return core::MakeError(core::Code::kUnavailable, fmt::format("fork: {}", std::strerror(errno)));
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != agent) _exit(137);  // the agent died before the line above
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // Wait until the guard exists, so the workload never runs unguarded.
    char byte;
    close(ready[1]);
    if (read(ready[0], &byte, 1) != 1) _exit(137);
    execvp(args[0], args.data());
    std::fprintf(stderr, "flopline killswitch agent: cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(child, child);
  pid_t guard = fork();
  if (guard == 0) {
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    // The guard: blocks until the agent's end of the pipe closes, i.e. the agent is gone.
    close(guard_pipe[1]);
    setpgid(0, 0);
    setpriority(PRIO_PROCESS, 0, 10);  // idle until the agent dies; never in the way of a stop
    char byte;
    while (read(guard_pipe[0], &byte, 1) != 0) {
    }
    kill(-child, SIGKILL);
    _exit(0);
  }
  close(guard_pipe[0]);  // the write end stays open in the agent (close-on-exec) until it exits
  close(ready[0]);
  if (write(ready[1], "g", 1) != 1) {
    kill(-child, SIGKILL);
    return core::MakeError(core::Code::kInternal, "could not release the workload");
  }
  close(ready[1]);
  Workload w;
  w.pgid_ = child;
  return w;
}

bool Workload::Gone() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (pid == pgid_ && !exit_code_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
  return kill(-pgid_, 0) != 0 && errno == ESRCH;
}

std::int64_t Workload::Stop(std::int64_t grace_ms) {
  kill(-pgid_, SIGTERM);
  std::int64_t deadline = MonotonicMs() + grace_ms;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  while (!Gone()) {
    std::int64_t left = deadline - MonotonicMs();
    if (left <= 0) {
      kill(-pgid_, SIGKILL);
      deadline = MonotonicMs() + 3600'000;  // now wait for the kernel, however long
      continue;
    }
    // Until a child dies (SIGCHLD), at most 50 ms: a member that is not our child is re-checked.
    std::int64_t wait = std::min<std::int64_t>(left, 50);
    timespec ts{static_cast<time_t>(wait / 1000), static_cast<long>(wait % 1000) * 1'000'000};
    sigtimedwait(&chld, nullptr, &ts);
  }
  return NowMs();
}

}  // namespace flopline::killswitch
