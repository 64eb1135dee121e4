// File: tests/ledger/backends.h
//
// The two storage backends as the conformance suite sees them: a fresh, empty store for each test,
// and raw access for the tamper tests (an attacker with write access to the database).
// PostgreSQL comes from the server scripts/pg-test-server.sh started for this ctest run
// (or $FLOPLINE_PG_CONNINFO); each test gets a database of its own.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace flopline::testing {

struct Backend {
  std::string name;
  std::function<std::string()> fresh_store;  // a `--store` value for a new, empty store
  // Reads and overwrites one column value of the row found by `where` (text or bytes alike).
  std::function<std::string(const std::string& store, const std::string& table, const std::string& column,
                            const std::string& where)>
      read;
  std::function<void(const std::string& store, const std::string& table, const std::string& column,
                     const std::string& where, const std::string& value)>
      write;
  // Runs one SQL statement (an attacker's DELETE), on the store's own database.
  std::function<void(const std::string& store, const std::string& sql)> exec;
};

std::vector<Backend> Backends();
std::string LedgerWriterPath();

}  // namespace flopline::testing

namespace flopline::testing {
// Names the backend in test listings instead of dumping its bytes.
inline void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }
}  // namespace flopline::testing
