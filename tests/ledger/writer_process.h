// File: tests/ledger/writer_process.h
//
// Writer processes (tests/ledger/ledger_writer.cc) for the crash tests and the soak: spawned with
// their output piped back, read for the appends they acknowledged, killed or left to fail, reaped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace flopline::testing {

// One acknowledged append: the leaf hash and the SHA-256 of the document, in hex.
struct Ack {
  std::string leaf_hash;
  std::string document_sha256;
};

struct Acks {
  std::map<std::uint64_t, Ack> by_index;
  // An index acknowledged twice with different contents: the log forked.
  std::vector<std::string> conflicts;
};

struct WriterProcess {
  pid_t pid = -1;
  int out = -1;             // the writer's stdout: "INDEX LEAF_HASH DOCUMENT_SHA256" per append
  int err = -1;             // its stderr
  std::string pending;      // a line not yet complete
  std::string errors;       // what it wrote to stderr, once reaped
  bool eof = false;
};

// Starts ledger_writer on STORE: COUNT appends per thread (0: until killed) from THREADS threads.
// `uid`, when set, is the user the writer runs as.
WriterProcess SpawnWriter(const std::string& store, long count, int threads, std::optional<uid_t> uid = {});

// Reads whole acknowledgement lines from the writers until `count` have arrived in all, every
// writer closed its output, or `deadline` passed. Returns false only on the deadline.
bool ReadAcks(std::vector<WriterProcess>& writers, std::size_t count, Acks& acks,
              std::chrono::steady_clock::time_point deadline);

// Reads what is left of the writer's output (everything it printed was acknowledged too), its
// stderr, and waits for it; returns the wait status.
int Reap(WriterProcess& writer, Acks& acks);

}  // namespace flopline::testing
