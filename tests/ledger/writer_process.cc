#include "writer_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include "backends.h"

namespace flopline::testing {
namespace {

void TakeLines(WriterProcess& w, Acks& acks) {
  for (std::size_t nl; (nl = w.pending.find('\n')) != std::string::npos;) {
    std::istringstream line(w.pending.substr(0, nl));
    w.pending.erase(0, nl + 1);
    std::uint64_t index;
    Ack ack;
    if (!(line >> index >> ack.leaf_hash >> ack.document_sha256) || ack.leaf_hash.size() != 64 ||
        ack.document_sha256.size() != 64) {
      continue;  // a line cut by the kill was never acknowledged
    }
    auto [it, inserted] = acks.by_index.emplace(index, ack);
    if (!inserted && (it->second.leaf_hash != ack.leaf_hash || it->second.document_sha256 != ack.document_sha256)) {
      acks.conflicts.push_back("index " + std::to_string(index) + " acknowledged twice with different leaves");
    }
  }
}

// Reads what is available from the writer's stdout; marks EOF.
void ReadSome(WriterProcess& w, Acks& acks) {
  char buf[65536];
  ssize_t n = read(w.out, buf, sizeof buf);
  if (n <= 0) {
    w.eof = true;
    return;
  }
  w.pending.append(buf, static_cast<std::size_t>(n));
  TakeLines(w, acks);
}

}  // namespace

WriterProcess SpawnWriter(const std::string& store, long count, int threads, std::optional<uid_t> uid) {
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
    if (uid && (setgid(*uid) != 0 || setuid(*uid) != 0)) _exit(126);
    std::string path = LedgerWriterPath();
    std::string c = std::to_string(count), t = std::to_string(threads);
    execl(path.c_str(), path.c_str(), store.c_str(), c.c_str(), t.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  WriterProcess w;
  w.pid = pid;
  w.out = out[0];
  w.err = err[0];
  return w;
}

bool ReadAcks(std::vector<WriterProcess>& writers, std::size_t count, Acks& acks,
              std::chrono::steady_clock::time_point deadline) {
  while (acks.by_index.size() < count) {
    std::vector<pollfd> fds;
    std::vector<WriterProcess*> open;
    for (WriterProcess& w : writers) {
      if (w.eof) continue;
      fds.push_back({w.out, POLLIN, 0});
      open.push_back(&w);
    }
    if (fds.empty()) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    int ready = poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0) return false;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) ReadSome(*open[i], acks);
    }
  }
  return true;
}

int Reap(WriterProcess& w, Acks& acks) {
  while (!w.eof) ReadSome(w, acks);
  close(w.out);
  char buf[4096];
  for (ssize_t n; (n = read(w.err, buf, sizeof buf)) > 0;) w.errors.append(buf, static_cast<std::size_t>(n));
  close(w.err);
  int status = 0;
  waitpid(w.pid, &status, 0);
  return status;
}

}  // namespace flopline::testing
