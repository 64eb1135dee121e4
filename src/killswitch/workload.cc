#include "flopline/killswitch/workload.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

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
  if (child < 0)
    return core::MakeError(core::Code::kUnavailable, fmt::format("fork: {}", std::strerror(errno)));
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
    std::fprintf(stderr, "flopline killswitch agent: cannot run %s: %s\n", args[0],
                 std::strerror(errno));
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
  w.guard_ = guard;
  return w;
}

namespace {

// The pids listed in /proc/PID/task/*/children (every thread's children).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    std::ifstream in(task.path() / "children");
    for (pid_t child; in >> child;) out.push_back(child);
  }
  return out;
}

bool Zombie(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z' ||
         stat[paren + 2] == 'X';
}

}  // namespace

std::vector<pid_t> Workload::Descendants() const {
  std::vector<pid_t> out, todo = ChildrenOf(getpid());
  while (!todo.empty() && out.size() < 100'000) {
    pid_t pid = todo.back();
    todo.pop_back();
    if (pid == guard_) continue;
    if (!Zombie(pid)) out.push_back(pid);
    for (pid_t c : ChildrenOf(pid)) todo.push_back(c);
  }
  return out;
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
  return kill(-pgid_, 0) != 0 && errno == ESRCH && Descendants().empty();
}

std::int64_t Workload::Stop(std::int64_t grace_ms) {
  kill(-pgid_, SIGTERM);
  for (pid_t pid : Descendants()) kill(pid, SIGTERM);  // those that left the group too
  std::int64_t deadline = MonotonicMs() + grace_ms;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  while (!Gone()) {
    std::int64_t left = deadline - MonotonicMs();
    if (left <= 0) {
      // Again on every turn: a descendant may have forked since.
      kill(-pgid_, SIGKILL);
      for (pid_t pid : Descendants()) kill(pid, SIGKILL);
      left = 50;
    }
    // Until a child dies (SIGCHLD), at most 50 ms: a member that is not our child is re-checked.
    std::int64_t wait = std::min<std::int64_t>(left, 50);
    timespec ts{static_cast<time_t>(wait / 1000), static_cast<long>(wait % 1000) * 1'000'000};
    sigtimedwait(&chld, nullptr, &ts);
  }
  return NowMs();
}

}  // namespace flopline::killswitch
