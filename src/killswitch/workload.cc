#include "flopline/killswitch/workload.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "flopline/killswitch/protocol.h"

namespace flopline::killswitch {

namespace {

// The files of one cgroup, spelt out before any fork: the guard uses only system calls on them.
struct CgroupFiles {
  std::string dir, kill, freeze, procs;
  explicit CgroupFiles(std::string d)
      : dir(std::move(d)),
        kill(dir + "/cgroup.kill"),
        freeze(dir + "/cgroup.freeze"),
        procs(dir + "/cgroup.procs") {}
};

bool WriteSmall(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t len = static_cast<ssize_t>(std::strlen(text));
  bool ok = write(fd, text, static_cast<size_t>(len)) == len;
  close(fd);
  return ok;
}

// Calls `each` with every pid listed in `procs_path`; only system calls and a stack buffer, so the
// guard may use it after fork.
template <typename F>
void ForEachPid(const char* procs_path, F each) {
  int fd = open(procs_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  long pid = 0;
  bool digits = false;
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) {
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
        digits = true;
      } else {
        if (digits) each(static_cast<pid_t>(pid));
        pid = 0;
        digits = false;
      }
    }
  }
  if (digits) each(static_cast<pid_t>(pid));
  close(fd);
}

// SIGKILL to every process of the cgroup at once: cgroup.kill (Linux 5.14), else freeze it (no
// process can fork while frozen), SIGKILL every pid listed, thaw.
void KillCgroup(const char* kill_path, const char* freeze_path, const char* procs_path) {
  if (WriteSmall(kill_path, "1")) return;
  bool frozen = WriteSmall(freeze_path, "1");
  ForEachPid(procs_path, [](pid_t pid) { kill(pid, SIGKILL); });
  if (frozen) WriteSmall(freeze_path, "0");
}

// The cgroup v2 directory this process is in, if the hierarchy is mounted and writable.
core::Result<std::string> OwnCgroupDir() {
  std::ifstream mounts("/proc/self/mountinfo");
  std::string mount_point, mount_root;
  for (std::string line; std::getline(mounts, line);) {
    // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS... - FSTYPE SOURCE SUPER_OPTIONS
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, dash));
    std::string id, parent, dev;
    fields >> id >> parent >> dev >> mount_root >> mount_point;
    break;
  }
  if (mount_point.empty()) {
    return core::MakeError(core::Code::kUnavailable, "no cgroup v2 hierarchy is mounted");
  }
  std::ifstream own("/proc/self/cgroup");
  std::string path;
  for (std::string line; std::getline(own, line);) {
    if (line.starts_with("0::")) path = line.substr(3);
  }
  if (path.empty()) {
    return core::MakeError(core::Code::kUnavailable, "this process is in no cgroup v2 group");
  }
  if (mount_root != "/") {
    if (!path.starts_with(mount_root)) {
      return core::MakeError(core::Code::kUnavailable,
                             fmt::format("this process's cgroup {} is outside the mounted {}",
                                         path, mount_root));
    }
    path = path.substr(mount_root.size());
  }
  std::string dir = mount_point + (path == "/" ? "" : path);
  if (access((dir + "/cgroup.procs").c_str(), W_OK) != 0) {
    return core::MakeError(core::Code::kUnavailable,
                           fmt::format("{} is not writable: {}", dir, std::strerror(errno)));
  }
  return dir;
}

// A new, empty cgroup under this process's own.
core::Result<std::string> MakeCgroup() {
  FL_ASSIGN_OR_RETURN(std::string parent, OwnCgroupDir());
  static unsigned counter = 0;
  for (int tries = 0; tries < 100; ++tries) {
    std::string dir = fmt::format("{}/flopline-ks-{}-{}", parent, getpid(), counter++);
    if (mkdir(dir.c_str(), 0755) == 0) return dir;
    if (errno != EEXIST) {
      return core::MakeError(core::Code::kUnavailable,
                             fmt::format("cannot create {}: {}", dir, std::strerror(errno)));
    }
  }
  return core::MakeError(core::Code::kUnavailable, "cannot create a cgroup: every name is taken");
}

}  // namespace

core::Result<Workload> Workload::Start(const std::vector<std::string>& argv,
                                       Containment containment) {
  if (argv.empty()) return core::InvalidArgument("no workload command after --", "command");
  std::string cgroup, warning;
  if (containment != Containment::kProcessGroup) {
    auto made = MakeCgroup();
    if (made) {
      cgroup = *made;
    } else if (containment == Containment::kCgroup) {
      return core::MakeError(core::Code::kUnavailable,
                             "cgroup containment unavailable: " + made.error().message);
    } else {
      warning = "cgroup v2 containment unavailable (" + made.error().message +
                "): the workload is contained by its process group only; a process that leaves "
                "it survives the agent's own death";
    }
  }
  const CgroupFiles files(cgroup);
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
  if (child < 0) {
    if (!cgroup.empty()) rmdir(cgroup.c_str());
    return core::MakeError(core::Code::kUnavailable, fmt::format("fork: {}", std::strerror(errno)));
  }
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
  // Into its cgroup before it execs (it waits on `ready`): everything it starts stays in there.
  if (!cgroup.empty() && !WriteSmall(files.procs.c_str(), std::to_string(child).c_str())) {
    std::string why = fmt::format("cannot move the workload into {}: {}", cgroup,
                                  std::strerror(errno));
    rmdir(cgroup.c_str());
    if (containment == Containment::kCgroup) {
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
      return core::MakeError(core::Code::kUnavailable, "cgroup containment unavailable: " + why);
    }
    warning = "cgroup v2 containment unavailable (" + why +
              "): the workload is contained by its process group only; a process that leaves it "
              "survives the agent's own death";
    cgroup.clear();
  }
  const bool in_cgroup = !cgroup.empty();
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
    if (in_cgroup) {
      // Everything in the cgroup, setsid and double-forked processes included; then, once the
      // kernel has taken them all out, the cgroup itself (bounded: about ten seconds).
      for (int i = 0; i < 1000 && rmdir(files.dir.c_str()) != 0 && errno == EBUSY; ++i) {
        KillCgroup(files.kill.c_str(), files.freeze.c_str(), files.procs.c_str());
        usleep(10'000);
      }
    }
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
  w.cgroup_ = cgroup;
  w.warning_ = warning;
  return w;
}

namespace {

// The pids listed in /proc/PID/task/*/children (every thread's children); none once PID is gone.
// Never throws. A process that dies while it is read makes /proc fail: readdir of its task
// directory with ENOENT, a read of its files with ESRCH; a range-for's ++ over a directory_iterator
// and an ifstream's read (GCC 12's filebuf) throw those, uncaught: the agent aborted mid-drain
// with a compile running beside it, while its workload's processes were exiting.
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(fmt::format("/proc/{}/task", pid), ec), end;
       !ec && it != end; it.increment(ec)) {
    ForEachPid((it->path() / "children").c_str(), [&](pid_t child) { out.push_back(child); });
  }
  return out;
}

// A small file of /proc read whole with system calls; empty if it cannot be (the process is gone).
std::string ReadProcFile(const std::string& path) {
  std::string out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

bool Zombie(pid_t pid) {
  std::string stat = ReadProcFile(fmt::format("/proc/{}/stat", pid));
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

namespace {

// Live members of the cgroup (zombies are reaped by Gone(), or are about to be).
std::vector<pid_t> CgroupPids(const std::string& procs) {
  std::vector<pid_t> out;
  ForEachPid(procs.c_str(), [&](pid_t pid) {
    if (!Zombie(pid)) out.push_back(pid);
  });
  return out;
}

}  // namespace

bool Workload::Gone() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (pid == pgid_ && !exit_code_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
  if (kill(-pgid_, 0) == 0 || errno != ESRCH || !Descendants().empty()) return false;
  if (cgroup_.empty() || cgroup_removed_) return true;
  if (!CgroupPids(CgroupFiles(cgroup_).procs).empty()) return false;
  // Empty, and nothing can enter it but from inside: remove it (the kernel may still be taking
  // the last exiting task out; then the next call does it).
  cgroup_removed_ = rmdir(cgroup_.c_str()) == 0 || errno == ENOENT;
  return true;
}

void Workload::Signal(int sig) const {
  kill(-pgid_, sig);
  for (pid_t pid : Descendants()) kill(pid, sig);  // those that left the group too
  if (cgroup_.empty() || cgroup_removed_) return;
  CgroupFiles files(cgroup_);
  if (sig == SIGKILL) {
    KillCgroup(files.kill.c_str(), files.freeze.c_str(), files.procs.c_str());
  } else {
    for (pid_t pid : CgroupPids(files.procs)) kill(pid, sig);  // and those that left the agent
  }
}

std::int64_t Workload::Stop(std::int64_t grace_ms) {
  Signal(SIGTERM);
  std::int64_t deadline = MonotonicMs() + grace_ms;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  while (!Gone()) {
    std::int64_t left = deadline - MonotonicMs();
    if (left <= 0) {
      Signal(SIGKILL);  // again on every turn: a descendant may have forked since
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
