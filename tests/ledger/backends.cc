#include "backends.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>
#include <pqxx/pqxx>

namespace flopline::testing {
namespace {

std::atomic<int> counter{0};

// A folder of this process's own, made by mkdtemp and removed when the process ends. A name made of
// the pid alone is not unique: pids are reused (pid_max is 32768 here), and a folder left by an
// earlier process with the same pid held an initialised store-0.db under another key.
class OwnTempDir {
 public:
  OwnTempDir() : owner_(getpid()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "flopline-ledger-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~OwnTempDir() {
    std::error_code ignored;
    if (getpid() == owner_) std::filesystem::remove_all(path_, ignored);  // not from a forked child
  }
  const std::string& path() const { return path_; }

 private:
  pid_t owner_;
  std::string path_;
};

std::string TempDir() {
  static const OwnTempDir dir;
  return dir.path();
}

bool IsSqliteText(sqlite3* db, const std::string& table, const std::string& column, const std::string& where) {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, fmt::format("SELECT typeof({}) FROM {} WHERE {}", column, table, where).c_str(), -1, &s,
                     nullptr);
  bool text = sqlite3_step(s) == SQLITE_ROW &&
              std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))) == "text";
  sqlite3_finalize(s);
  return text;
}

std::string ReadSqlite(const std::string& store, const std::string& table, const std::string& column,
                       const std::string& where) {
  sqlite3* db = nullptr;
  sqlite3_open(store.substr(7).c_str(), &db);
  sqlite3_stmt* read = nullptr;
  sqlite3_prepare_v2(db, fmt::format("SELECT {} FROM {} WHERE {}", column, table, where).c_str(), -1, &read, nullptr);
  if (sqlite3_step(read) != SQLITE_ROW) throw std::runtime_error("no row where " + where);
  std::string value(static_cast<const char*>(sqlite3_column_blob(read, 0)),
                    static_cast<size_t>(sqlite3_column_bytes(read, 0)));
  sqlite3_finalize(read);
  sqlite3_close(db);
  return value;
}

void WriteSqlite(const std::string& store, const std::string& table, const std::string& column,
                 const std::string& where, const std::string& value) {
  sqlite3* db = nullptr;
  sqlite3_open(store.substr(7).c_str(), &db);
  bool text = IsSqliteText(db, table, column, where);
  sqlite3_stmt* write = nullptr;
  sqlite3_prepare_v2(db, fmt::format("UPDATE {} SET {} = ? WHERE {}", table, column, where).c_str(), -1, &write,
                     nullptr);
  if (text) {
    sqlite3_bind_text(write, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_blob(write, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  }
  if (sqlite3_step(write) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
  sqlite3_finalize(write);
  sqlite3_close(db);
}

std::string ReadPostgres(const std::string& store, const std::string& table, const std::string& column,
                         const std::string& where) {
  pqxx::connection conn(store.substr(9));
  pqxx::work tx(conn);
  pqxx::row row = tx.exec1(fmt::format("SELECT {}, pg_typeof({})::text FROM {} WHERE {}", column, column, table, where));
  return row[1].as<std::string>() == "bytea" ? pqxx::binarystring(row[0]).str() : row[0].as<std::string>();
}

void WritePostgres(const std::string& store, const std::string& table, const std::string& column,
                   const std::string& where, const std::string& value) {
  pqxx::connection conn(store.substr(9));
  pqxx::work tx(conn);
  pqxx::row row = tx.exec1(fmt::format("SELECT pg_typeof({})::text FROM {} WHERE {}", column, table, where));
  std::string literal = row[0].as<std::string>() == "bytea"
                            ? tx.quote_raw(reinterpret_cast<const unsigned char*>(value.data()), value.size())
                            : tx.quote(value);
  tx.exec0(fmt::format("UPDATE {} SET {} = {} WHERE {}", table, column, literal, where));
  tx.commit();
}

void ExecSqlite(const std::string& store, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(store.substr(7).c_str(), &db);
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "sqlite error";
    sqlite3_free(error);
    sqlite3_close(db);
    throw std::runtime_error(message);
  }
  sqlite3_close(db);
}

void ExecPostgres(const std::string& store, const std::string& sql) {
  pqxx::connection conn(store.substr(9));
  pqxx::work tx(conn);
  tx.exec0(sql);
  tx.commit();
}

std::string FreshPostgres() {
  // $FLOPLINE_PG_CONNINFO, else the server ctest's postgres_start fixture runs for this build.
  const char* conninfo = std::getenv("FLOPLINE_PG_CONNINFO");
  if (conninfo == nullptr) conninfo = FLOPLINE_PG_CONNINFO_DEFAULT;
  std::string name = fmt::format("flopline_test_{}_{}", getpid(), counter++);
  pqxx::connection admin(conninfo);
  pqxx::nontransaction tx(admin);
  tx.exec0("DROP DATABASE IF EXISTS " + name);
  tx.exec0("CREATE DATABASE " + name);
  return fmt::format("postgres:{} dbname={}", conninfo, name);
}

}  // namespace

std::vector<Backend> Backends() {
  std::vector<Backend> out;
  out.push_back({"sqlite",
                 [] { return fmt::format("sqlite:{}/store-{}.db", TempDir(), counter++); },
                 ReadSqlite, WriteSqlite, ExecSqlite});
  out.push_back({"postgres", FreshPostgres, ReadPostgres, WritePostgres, ExecPostgres});
  return out;
}

std::string LedgerWriterPath() { return FLOPLINE_LEDGER_WRITER; }

}  // namespace flopline::testing
