// A writer process for the crash and multi-process tests: appends records to STORE from THREADS
// threads through one group committer and prints "INDEX LEAF_HASH_HEX" for each append only after
// its commit returned, i.e. exactly the appends it acknowledged.
//
// usage: ledger_writer STORE COUNT THREADS   (COUNT 0: until killed)
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
        flopline::ledger::RecordInput r{"test-results", "crash-model",
                                        "pid " + std::to_string(getpid()) + " thread " + std::to_string(t) +
                                            " record " + std::to_string(i),
                                        flopline::core::Instant::StartOf(*flopline::core::Date::Parse("2026-11-23")),
                                        {}};
        auto done = committer.Submit(std::move(r)).get();
        if (!done) {
          std::fprintf(stderr, "ledger_writer: %s\n", done.error().ToString().c_str());
          std::exit(1);
        }
        std::lock_guard lock(out);
        std::printf("%llu %s\n", static_cast<unsigned long long>(done->index),
                    flopline::ledger::Hex(done->leaf_hash).c_str());
        std::fflush(stdout);
      }
    });
  }
  for (auto& w : workers) w.join();
  return 0;
}
