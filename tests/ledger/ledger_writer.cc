// A writer process for the crash, multi-process and soak tests: appends records to STORE from
// THREADS threads through one group committer and prints "INDEX LEAF_HASH DOCUMENT_SHA256" (hex)
// for each append only after its commit returned, i.e. exactly the appends it acknowledged. Records
// are stamped with the wall clock, so a store initialised by `flopline ledger init` accepts them.
// On the first failed append it prints one line to stderr and exits 1 (never a signal).
//
// usage: ledger_writer STORE COUNT THREADS   (COUNT 0: until killed or an append fails)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flopline/ledger/log.h"
#include "flopline/store/open.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: ledger_writer STORE COUNT THREADS\n");
    return 2;
  }
  auto storage = flopline::store::Open(argv[1]);
  if (!storage) {
    std::fprintf(stderr, "ledger_writer: %s\n", storage.error().ToString().c_str());
    return 1;
  }
  long count = std::atol(argv[2]);
  int threads = std::atoi(argv[3]);
  flopline::ledger::Log log(**storage);
  flopline::ledger::GroupCommitter committer(log);
  std::mutex out;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (long i = 0; count == 0 || i < count; ++i) {
        auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        flopline::ledger::RecordInput r{"test-results", "crash-model",
                                        "pid " + std::to_string(getpid()) + " thread " + std::to_string(t) +
                                            " record " + std::to_string(i),
                                        flopline::core::Instant(now), {}};
        std::string document_sha256 = flopline::ledger::Hex(flopline::ledger::Sha256(r.document));
        auto done = committer.Submit(std::move(r)).get();
        std::lock_guard lock(out);
        if (!done) {
          // One line, then out at once: the other threads' appends end with the process.
          std::fprintf(stderr, "ledger_writer: %s\n", done.error().ToString().c_str());
          std::fflush(stdout);
          std::fflush(stderr);
          _exit(1);
        }
        std::printf("%llu %s %s\n", static_cast<unsigned long long>(done->index),
                    flopline::ledger::Hex(done->leaf_hash).c_str(), document_sha256.c_str());
        std::fflush(stdout);
      }
    });
  }
  for (auto& w : workers) w.join();
  return 0;
}
