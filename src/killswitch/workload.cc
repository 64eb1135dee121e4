#include "flopline/killswitch/workload.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

// pidfd_send_signal's flag to signal the process group of the pidfd's process (Linux 6.9; the
// system headers of Debian 12 predate it).
constexpr unsigned kPidfdSignalProcessGroup = 1u << 2;

int OpenPidfd(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0u)); }

int SendByPidfd(int fd, int sig, unsigned flags) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, fd, sig, nullptr, flags));
}

// Through the pidfd where there is one (it reaches that process or, once it is gone, nothing);
// else by pid (kernels without pidfds).
void Send(pid_t pid, int fd, int sig) {
  if (fd >= 0) {
    SendByPidfd(fd, sig, 0);
  } else {
    kill(pid, sig);
  }
}

// The process a pidfd holds still exists (a zombie included: its pid is not free yet).
bool Exists(int fd) { return SendByPidfd(fd, 0, 0) == 0 || errno == EPERM; }

// Calls `each(pid, pidfd)` for every process listed in a cgroup's `procs` file; with `pidfds`,
// each is opened as a pidfd and passed on only if a second read of the file, after it was opened,
// still lists its pid: the pidfd then holds a process of the cgroup, or one that is gone (and
// signals nothing), never a process that took a listed pid. Without, the pidfd is -1. Only
// system calls and stack buffers, so the guard may use it after fork.
template <typename F>
void ForEachCgroupMember(const char* procs, bool pidfds, F each) {
  constexpr int kBatch = 256;
  pid_t pids[kBatch];
  int fds[kBatch];
  bool listed_again[kBatch];
  int n = 0;
  auto confirm = [&] {
    ForEachPid(procs, [&](pid_t pid) {
      for (int i = 0; i < n; ++i) listed_again[i] = listed_again[i] || pids[i] == pid;
    });
    for (int i = 0; i < n; ++i) {
      if (listed_again[i]) each(pids[i], fds[i]);
      close(fds[i]);
    }
    n = 0;
  };
  ForEachPid(procs, [&](pid_t pid) {
    if (!pidfds) {
      each(pid, -1);
      return;
    }
    int fd = OpenPidfd(pid);
    if (fd < 0) return;  // gone already
    pids[n] = pid;
    fds[n] = fd;
    listed_again[n] = false;
    if (++n == kBatch) confirm();
  });
  if (n > 0) confirm();
}

// SIGKILL to every process of the cgroup at once: cgroup.kill (Linux 5.14), else freeze it (no
// process can fork while frozen), SIGKILL every member, thaw.
void KillCgroup(const char* kill_path, const char* freeze_path, const char* procs_path,
                bool pidfds) {
  if (WriteSmall(kill_path, "1")) return;
  bool frozen = WriteSmall(freeze_path, "1");
  ForEachCgroupMember(procs_path, pidfds, [](pid_t pid, int fd) { Send(pid, fd, SIGKILL); });
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
  // The leader's pidfd, while it is certainly the leader (our child, unreaped, waiting on `ready`).
  OwnedFd leader_fd(OpenPidfd(child));
  const bool pidfds = leader_fd.get() >= 0 && SendByPidfd(leader_fd.get(), 0, 0) == 0;
  std::string pidfd_warning;
  if (!pidfds) {
    pidfd_warning = fmt::format(
        "pidfds unavailable ({}; Linux 5.3 has them): the workload's processes are signalled "
        "by pid, and one that exits between being listed and signalled may leave its pid to an "
        "unrelated process, which would get the signal",
        std::strerror(errno));
  }
  const bool group_by_pidfd =
      pidfds && SendByPidfd(leader_fd.get(), 0, kPidfdSignalProcessGroup) == 0;
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
    if (group_by_pidfd) {
      SendByPidfd(leader_fd.get(), SIGKILL, kPidfdSignalProcessGroup);
    } else if (!in_cgroup) {
      // By number (kernels before 6.9): the agent is gone, and whoever inherited the leader may
      // have reaped it already. In a cgroup, cgroup.kill below reaches the group without a pid.
      kill(-child, SIGKILL);
    }
    if (in_cgroup) {
      // Everything in the cgroup, setsid and double-forked processes included; then, once the
      // kernel has taken them all out, the cgroup itself (bounded: about ten seconds).
      for (int i = 0; i < 1000 && rmdir(files.dir.c_str()) != 0 && errno == EBUSY; ++i) {
        KillCgroup(files.kill.c_str(), files.freeze.c_str(), files.procs.c_str(), pidfds);
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
  if (pidfds && !group_by_pidfd && !in_cgroup) {
    pidfd_warning =
        "this kernel cannot signal a process group through a pidfd (Linux 6.9 can): once the "
        "agent is gone, its guard signals the workload's group by number";
  }
  if (!pidfd_warning.empty()) warning += (warning.empty() ? "" : "; ") + pidfd_warning;
  Workload w;
  w.pgid_ = child;
  w.guard_ = guard;
  w.leader_fd_ = std::move(leader_fd);
  w.pidfds_ = pidfds;
  w.group_by_pidfd_ = group_by_pidfd;
  w.cgroup_ = cgroup;
  w.warning_ = warning;
  return w;
}

Workload::OwnedFd& Workload::OwnedFd::operator=(OwnedFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

Workload::OwnedFd::~OwnedFd() {
  if (fd_ >= 0) close(fd_);
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

void Workload::WalkDescendants(const std::function<void(const Listed&)>& visit) const {
  // Depth first; a process's children are opened as pidfds a batch at a time and confirmed
  // (listed again by their parent, which is still the process its pidfd holds), so at most a
  // batch per level is open at once.
  struct Frame {
    Frame(pid_t p, OwnedFd f, std::vector<pid_t> c)
        : pid(p), fd(std::move(f)), children(std::move(c)) {}
    pid_t pid;
    OwnedFd fd;                   // -1 for this process itself, or without pidfds
    std::vector<pid_t> children;  // as first read: candidates
    std::size_t next = 0;         // the first of `children` not opened yet
    std::vector<Listed> batch;    // opened and confirmed
    std::size_t visited = 0;      // of `batch`
  };
  constexpr std::size_t kBatch = 64;
  std::vector<Frame> stack;
  stack.emplace_back(getpid(), OwnedFd(), ChildrenOf(getpid()));
  for (std::size_t seen = 0; !stack.empty() && seen < 100'000;) {
    Frame& f = stack.back();
    if (f.visited == f.batch.size()) {
      if (f.next == f.children.size()) {
        stack.pop_back();
        continue;
      }
      f.batch.clear();
      f.visited = 0;
      for (std::size_t end = std::min(f.children.size(), f.next + kBatch); f.next < end; ++f.next) {
        pid_t pid = f.children[f.next];
        if (pid == guard_) continue;
        OwnedFd fd(pidfds_ ? OpenPidfd(pid) : -1);
        if (pidfds_ && fd.get() < 0) continue;  // gone already
        f.batch.push_back(Listed{pid, std::move(fd)});
      }
      if (pidfds_ && !f.batch.empty()) {
        std::vector<pid_t> again = ChildrenOf(f.pid);
        if (f.fd.get() >= 0 && !Exists(f.fd.get())) again.clear();  // that read was not its own
        std::sort(again.begin(), again.end());
        std::erase_if(f.batch, [&](const Listed& l) {
          return !std::binary_search(again.begin(), again.end(), l.pid);
        });
      }
      continue;
    }
    Listed child = std::move(f.batch[f.visited++]);
    ++seen;
    // Its state read by number is its own if its pidfd's process still exists after the read.
    if (!Zombie(child.pid) && (child.fd.get() < 0 || Exists(child.fd.get()))) visit(child);
    std::vector<pid_t> children = ChildrenOf(child.pid);
    if (!children.empty()) stack.emplace_back(child.pid, std::move(child.fd), std::move(children));
  }
}

std::vector<pid_t> Workload::Descendants() const {
  std::vector<pid_t> out;
  WalkDescendants([&](const Listed& l) { out.push_back(l.pid); });
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
  if (SignalGroup(0) || !Descendants().empty()) return false;
  if (cgroup_.empty() || cgroup_removed_) return true;
  if (!CgroupPids(CgroupFiles(cgroup_).procs).empty()) return false;
  // Empty, and nothing can enter it but from inside: remove it (the kernel may still be taking
  // the last exiting task out; then the next call does it).
  cgroup_removed_ = rmdir(cgroup_.c_str()) == 0 || errno == ENOENT;
  return true;
}

namespace {
Workload::ListedHook& ListedHookRef() {
  static Workload::ListedHook hook;
  return hook;
}
}  // namespace

void Workload::TEST_SetListedHook(ListedHook hook) { ListedHookRef() = std::move(hook); }

bool Workload::SignalGroup(int sig) const {
  int sent = 0;
  if (group_by_pidfd_) {
    sent = SendByPidfd(leader_fd_.get(), sig, kPidfdSignalProcessGroup);
  } else if (!exit_code_) {
    sent = kill(-pgid_, sig);  // the leader is unreaped: pgid_ is still its, and its group's
  } else {
    return false;  // what is left of the group is among the descendants
  }
  return sent == 0 || errno != ESRCH;
}

void Workload::Signal(int sig) const {
  const ListedHook& hook = ListedHookRef();
  SignalGroup(sig);
  WalkDescendants([&](const Listed& l) {  // those that left the group too
    if (hook) hook("descendants", l.pid);
    Send(l.pid, l.fd.get(), sig);
  });
  if (cgroup_.empty() || cgroup_removed_) return;
  CgroupFiles files(cgroup_);
  if (sig == SIGKILL) {
    KillCgroup(files.kill.c_str(), files.freeze.c_str(), files.procs.c_str(), pidfds_);
  } else {
    ForEachCgroupMember(files.procs.c_str(), pidfds_, [&](pid_t pid, int fd) {
      if (hook) hook("cgroup", pid);  // and those that left the agent
      Send(pid, fd, sig);
    });
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
