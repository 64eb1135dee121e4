// The ledger's speed, beside the physical limit measured in the same run (this machine's SHA-256).
//
//   BM_Sha256Leaf / BM_Sha256Node   SHA-256 of a 400-byte leaf and of a 65-byte node: the limit.
//   BM_Seal                         one record sealed: JSON, salts, per-field commitments.
//   BM_DurableAppends/sqlite|postgres/N/W   records/s appended by 32 threads through the group
//                                   committer, each acknowledged only after its commit (WAL fsync);
//                                   each thread keeps W appends in flight, then waits for them all.
//                                   Goals: >= 20,000/s SQLite, >= 5,000/s PostgreSQL.
//   BM_NaiveInserts/sqlite|postgres     the naive baseline under the same fsync policy: the same
//                                   sealed rows, one INSERT and one commit per record, no log.
//   BM_PlainBatchCommits/sqlite|postgres  what the database alone can do: the same rows, one plain
//                                   durable commit per batch of 512 (the group committer's batches
//                                   are about that size), no sealing, no tree.
//   BM_SyncCheck/0|1                one overwrite of a written 4 KiB block and its fdatasync, alone
//                                   (0) and followed by the store's check (1, store/sqlite_vfs.h);
//                                   the check follows only syncs that grew a file, and this shows
//                                   what it would cost one that did not (a journal commit).
//   BM_InclusionProof/N, BM_ConsistencyProof/N   one proof from a log of N entries, in memory and
//                                   from SQLite (goal: under 50 us at 1M and 10M).
//   BM_VerifyStore                  `ledger verify` over a SQLite store: entries/s re-derived.
//
// PostgreSQL runs only when FLOPLINE_PG_CONNINFO names a server (make bench starts one).
// Run: build/bench/ledger_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <pqxx/pqxx>
#include <sqlite3.h>

#include "flopline/ledger/log.h"
#include "flopline/store/open.h"
#include "store/sqlite_vfs.h"

namespace {

using namespace flopline;
using namespace flopline::ledger;

// A scratch directory for the run's stores (gigabytes at 10M entries), removed at exit. The path is
// never destroyed: the exit handler, registered while the path was being made, runs after the
// destructors of statics made before it returned (a static std::string was already gone, and every
// run left its stores behind in /tmp).
const std::string& BenchDir() {
  static const std::string* dir = [] {
    auto d = std::filesystem::temp_directory_path() / fmt::format("flopline-bench-{}", getpid());
    std::filesystem::create_directories(d);
    auto* path = new std::string(d.string());
    std::atexit([] { std::filesystem::remove_all(BenchDir()); });
    return path;
  }();
  return *dir;
}

RecordInput TestRecord(int i) {
  return {"test-results", "acme-f1",
          fmt::format(R"({{"suite":"cyber-uplift","case":{},"prompt_set":"v3","score":0.{},"passed":true,)"
                      R"("grader":"auto","replicate":"seed={} temperature=0 max_tokens=2048"}})",
                      i, i % 1000, i),
          core::Instant::StartOf(*core::Date::Parse("2026-11-23")), {}};
}

void BM_Sha256Leaf(benchmark::State& state) {
  std::string leaf(400, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(LeafHash(leaf));
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 401);
}
BENCHMARK(BM_Sha256Leaf);

void BM_Sha256Node(benchmark::State& state) {
  Hash a = LeafHash("a"), b = LeafHash("b");
  for (auto _ : state) benchmark::DoNotOptimize(NodeHash(a, b));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256Node);

void BM_Seal(benchmark::State& state) {
  RecordInput r = TestRecord(7);
  for (auto _ : state) benchmark::DoNotOptimize(Seal(r));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Seal);

// A new, empty database NAME on $FLOPLINE_PG_CONNINFO's server; its connection string.
std::string FreshPostgresDatabase(const std::string& name) {
  std::string conninfo = std::getenv("FLOPLINE_PG_CONNINFO");
  pqxx::connection admin(conninfo);
  pqxx::nontransaction tx(admin);
  tx.exec0("DROP DATABASE IF EXISTS " + name);
  tx.exec0("CREATE DATABASE " + name);
  return fmt::format("{} dbname={}", conninfo, name);
}

std::unique_ptr<Storage> FreshStore(const std::string& backend) {
  static int n = 0;
  std::string spec;
  if (backend == "sqlite") {
    spec = fmt::format("sqlite:{}/append-{}.db", BenchDir(), n++);
  } else {
    spec = "postgres:" + FreshPostgresDatabase(fmt::format("flopline_bench_{}_{}", getpid(), n++));
  }
  auto storage = store::Open(spec);
  if (!storage) throw std::runtime_error(storage.error().ToString());
  // Initialised before the records' date: a log refuses records older than its start (since the
  // security review of issue 10, which left this benchmark aborting on its first append).
  auto init = Log::Init(**storage, "bench.example/log", *Signer::Generate("bench.example/log"),
                        core::Instant::StartOf(*core::Date::Parse("2026-01-01")));
  if (!init) throw std::runtime_error(init.error().ToString());
  return std::move(*storage);
}

// An append that failed ends the run, saying why.
void Check(const core::Result<Appended>& r) {
  if (!r) {
    std::fprintf(stderr, "ledger_bench: an append failed: %s\n", r.error().ToString().c_str());
    std::abort();
  }
}

// 32 threads submit through one group committer; every future is awaited, so each counted append
// was durable before it was counted.
void BM_DurableAppends(benchmark::State& state, const std::string& backend) {
  if (backend == "postgres" && std::getenv("FLOPLINE_PG_CONNINFO") == nullptr) {
    state.SkipWithError("FLOPLINE_PG_CONNINFO is not set");
    return;
  }
  constexpr int kThreads = 32;
  const int per_thread = static_cast<int>(state.range(0)) / kThreads;
  // Appends each thread keeps in flight before it waits for them all (the second argument).
  const auto window_size = static_cast<size_t>(state.range(1));
  std::int64_t appended = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto storage = FreshStore(backend);
    Log log(*storage);
    state.ResumeTiming();
    {
      GroupCommitter committer(log);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          // Each thread keeps a window of appends in flight, as a service handling many requests.
          std::vector<std::future<core::Result<Appended>>> window;
          for (int i = 0; i < per_thread; ++i) {
            window.push_back(committer.Submit(TestRecord(t * per_thread + i)));
            if (window.size() == window_size) {
              for (auto& f : window) {
                if (!f.get()) std::abort();
              }
              window.clear();
            }
          }
          for (auto& f : window) Check(f.get());
        });
      }
      for (auto& t : threads) t.join();
    }
    appended += kThreads * per_thread;
  }
  state.SetItemsProcessed(appended);
}
BENCHMARK_CAPTURE(BM_DurableAppends, sqlite, std::string("sqlite"))
    ->Args({64000, 16})->Args({64000, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_DurableAppends, postgres, std::string("postgres"))
    ->Args({32000, 16})->Args({32000, 128})->Unit(benchmark::kMillisecond)->UseRealTime();

// The rows a ledger append writes, sealed before the clock starts, for the baselines: they measure
// the database under the same durability, without the ledger's work.
struct PlainRow {
  std::string leaf, leaf_hash, content_hash, openings, document;
};

std::vector<PlainRow> PlainRows(int n) {
  std::vector<PlainRow> rows;
  for (int i = 0; i < n; ++i) {
    RecordInput r = TestRecord(i);
    SealedRecord sealed = *Seal(r);
    rows.push_back({sealed.leaf, std::string(AsText(LeafHash(sealed.leaf))), std::string(AsText(sealed.content_hash)),
                    sealed.openings, r.document});
  }
  return rows;
}

// The two tables as the store lays them out since schema version 2 (each keyed by the entry's
// index, written in order; the documents were keyed by their SHA-256 before, a random index).
constexpr char kPlainSchema[] =
    "CREATE TABLE entries (idx {1} PRIMARY KEY, leaf {0} NOT NULL, leaf_hash {0} NOT NULL, kind TEXT NOT NULL,"
    " model TEXT NOT NULL, recorded_at TEXT NOT NULL, content_hash {0} NOT NULL, openings TEXT NOT NULL);"
    "CREATE TABLE documents (entry {1} PRIMARY KEY, bytes {0} NOT NULL)";

// A SQLite file configured as the store's (WAL, synchronous=FULL) with the entries and documents
// tables alone; `batch` rows per transaction (1: the naive baseline).
void SqlitePlain(benchmark::State& state, const std::vector<PlainRow>& rows, int batch) {
  static int n = 0;
  sqlite3* db = nullptr;
  sqlite3_open(fmt::format("{}/plain-{}.db", BenchDir(), n++).c_str(), &db);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    sqlite3_exec(db, pragma, nullptr, nullptr, nullptr);
  }
  sqlite3_exec(db, fmt::format(kPlainSchema, "BLOB", "INTEGER").c_str(), nullptr, nullptr, nullptr);
  sqlite3_stmt *entry = nullptr, *doc = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO entries VALUES (?, ?, ?, 'test-results', 'acme-f1', '2026-11-23T00:00:00Z', ?, ?)",
                     -1, &entry, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO documents VALUES (?, ?)", -1, &doc, nullptr);
  auto blob = [](sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  std::int64_t next = 0;
  for (auto _ : state) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (int i = 0; i < batch; ++i, ++next) {
      const PlainRow& r = rows[static_cast<size_t>(next) % rows.size()];
      sqlite3_bind_int64(entry, 1, next);
      blob(entry, 2, r.leaf);
      blob(entry, 3, r.leaf_hash);
      blob(entry, 4, r.content_hash);
      sqlite3_bind_text(entry, 5, r.openings.data(), static_cast<int>(r.openings.size()), SQLITE_STATIC);
      if (sqlite3_step(entry) != SQLITE_DONE) std::abort();
      sqlite3_reset(entry);
      sqlite3_bind_int64(doc, 1, next);
      blob(doc, 2, r.document);
      if (sqlite3_step(doc) != SQLITE_DONE) std::abort();
      sqlite3_reset(doc);
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) std::abort();
  }
  sqlite3_finalize(entry);
  sqlite3_finalize(doc);
  sqlite3_close(db);
  state.SetItemsProcessed(state.iterations() * batch);
}

// The same on PostgreSQL: one multi-row INSERT per table per transaction, as the store does.
void PostgresPlain(benchmark::State& state, const std::vector<PlainRow>& rows, int batch) {
  static int n = 0;
  pqxx::connection conn(FreshPostgresDatabase(fmt::format("flopline_plain_{}_{}", getpid(), n++)));
  {
    pqxx::work tx(conn);
    tx.exec(fmt::format(kPlainSchema, "BYTEA", "BIGINT"));
    tx.commit();
  }
  std::int64_t next = 0;
  for (auto _ : state) {
    pqxx::work tx(conn);
    std::string entries = "INSERT INTO entries VALUES ", docs = "INSERT INTO documents VALUES ";
    for (int i = 0; i < batch; ++i, ++next) {
      const PlainRow& r = rows[static_cast<size_t>(next) % rows.size()];
      auto raw = [&](const std::string& v) { return tx.quote_raw(reinterpret_cast<const unsigned char*>(v.data()), v.size()); };
      entries += fmt::format("{}({}, {}, {}, 'test-results', 'acme-f1', '2026-11-23T00:00:00Z', {}, {})", i ? "," : "",
                             next, raw(r.leaf), raw(r.leaf_hash), raw(r.content_hash), tx.quote(r.openings));
      docs += fmt::format("{}({}, {})", i ? "," : "", next, raw(r.document));
    }
    tx.exec0(entries);
    tx.exec0(docs);
    tx.commit();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_Plain(benchmark::State& state, const std::string& backend, int batch) {
  if (backend == "postgres" && std::getenv("FLOPLINE_PG_CONNINFO") == nullptr) {
    state.SkipWithError("FLOPLINE_PG_CONNINFO is not set");
    return;
  }
  static const std::vector<PlainRow> rows = PlainRows(4096);
  if (backend == "sqlite") {
    SqlitePlain(state, rows, batch);
  } else {
    PostgresPlain(state, rows, batch);
  }
}
BENCHMARK_CAPTURE(BM_Plain, naive_sqlite, std::string("sqlite"), 1)->Name("BM_NaiveInserts/sqlite")->UseRealTime();
BENCHMARK_CAPTURE(BM_Plain, naive_postgres, std::string("postgres"), 1)->Name("BM_NaiveInserts/postgres")->UseRealTime();
BENCHMARK_CAPTURE(BM_Plain, batch_sqlite, std::string("sqlite"), 512)
    ->Name("BM_PlainBatchCommits/sqlite")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Plain, batch_postgres, std::string("postgres"), 512)
    ->Name("BM_PlainBatchCommits/postgres")->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SyncCheck(benchmark::State& state) {
  std::string path = fmt::format("{}/sync-check-wal", BenchDir());
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::string block(4096, 'w');
  for (int i = 0; i < 16; ++i) (void)!write(fd, block.data(), block.size());
  fsync(fd);
  int i = 0;
  for (auto _ : state) {
    (void)!pwrite(fd, block.data(), block.size(), 4096 * (i++ % 16));
    if (fdatasync(fd) != 0) state.SkipWithError("fdatasync failed");
    if (state.range(0) == 1 && store::ProbeJournal(path) != 0) state.SkipWithError("the check failed");
  }
  close(fd);
  std::filesystem::remove(path);
}
BENCHMARK(BM_SyncCheck)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A log of n entries in memory (leaf hashes only: proofs never read the leaves).
const MemoryTree& TreeOf(std::int64_t n) {
  static std::map<std::int64_t, std::unique_ptr<MemoryTree>> trees;
  auto& t = trees[n];
  if (!t) {
    t = std::make_unique<MemoryTree>();
    for (std::int64_t i = 0; i < n; ++i) t->Append(LeafHash(std::to_string(i)));
  }
  return *t;
}

// The same log in SQLite, bulk-loaded through Storage::Append in batches of 100,000. With
// FLOPLINE_BENCH_PROOF_DIR set, the store is kept there and reused by later runs (the 10M-entry one
// is 1.6 GB and takes minutes to load). A load cut short (each batch is one transaction, and entry
// i is the same in every run) goes on from where it stopped; any other size is refused.
Storage& SqliteOf(std::int64_t n) {
  static std::map<std::int64_t, std::unique_ptr<Storage>> stores;
  auto& s = stores[n];
  if (!s) {
    const char* keep = std::getenv("FLOPLINE_BENCH_PROOF_DIR");
    s = *store::OpenSqlite(fmt::format("{}/proofs-{}.db", keep != nullptr ? keep : BenchDir(), n));
    std::uint64_t held = *s->Size();
    if (held > static_cast<std::uint64_t>(n) || (held != static_cast<std::uint64_t>(n) && held % 100000 != 0)) {
      throw std::runtime_error(fmt::format("the kept proof store holds {} entries, not {}", held, n));
    }
    for (std::int64_t lo = static_cast<std::int64_t>(held); lo < n; lo += 100000) {
      auto r = s->Append([&](std::uint64_t size, const NodeReader& nodes, std::string_view) -> core::Result<Batch> {
        FL_ASSIGN_OR_RETURN(Frontier f, Frontier::Load(nodes, size));
        Batch b;
        for (std::int64_t i = lo; i < std::min(n, lo + 100000); ++i) {
          Entry e;
          e.index = static_cast<std::uint64_t>(i);
          e.leaf = std::to_string(i);
          e.leaf_hash = LeafHash(e.leaf);
          e.kind = "test-results";
          e.recorded_at = "2026-11-23T00:00:00Z";
          e.content_hash = e.leaf_hash;
          f.Append(e.leaf_hash, [&](NodeId id, const Hash& h) {
            if (id.level > 0) b.nodes.emplace_back(id, h);
          });
          b.entries.push_back(std::move(e));
        }
        return b;
      });
      if (!r) throw std::runtime_error(r.error().ToString());
    }
  }
  return *s;
}

const NodeReader& Reader(benchmark::State& state) {
  return state.range(1) == 0 ? static_cast<const NodeReader&>(TreeOf(state.range(0))) : SqliteOf(state.range(0));
}

void BM_InclusionProof(benchmark::State& state) {
  const NodeReader& reader = Reader(state);
  auto n = static_cast<std::uint64_t>(state.range(0));
  std::mt19937_64 random(1);
  for (auto _ : state) {
    auto proof = InclusionProof(reader, random() % n, n);
    if (!proof) std::abort();
    benchmark::DoNotOptimize(proof);
  }
  state.SetLabel(state.range(1) == 0 ? "memory" : "sqlite");
}
BENCHMARK(BM_InclusionProof)->ArgsProduct({{1000000, 10000000}, {0, 1}})->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProof(benchmark::State& state) {
  const NodeReader& reader = Reader(state);
  auto n = static_cast<std::uint64_t>(state.range(0));
  std::mt19937_64 random(2);
  for (auto _ : state) {
    auto proof = ConsistencyProof(reader, 1 + random() % (n - 1), n);
    if (!proof) std::abort();
    benchmark::DoNotOptimize(proof);
  }
  state.SetLabel(state.range(1) == 0 ? "memory" : "sqlite");
}
BENCHMARK(BM_ConsistencyProof)->ArgsProduct({{1000000, 10000000}, {0, 1}})->Unit(benchmark::kMicrosecond);

// Full verification: every leaf re-hashed, every stored node compared, every document re-opened.
void BM_VerifyStore(benchmark::State& state) {
  static std::unique_ptr<Storage> storage;
  const int n = static_cast<int>(state.range(0));
  if (!storage) {
    storage = FreshStore("sqlite");
    Log log(*storage);
    std::vector<RecordInput> batch;
    for (int i = 0; i < n; ++i) batch.push_back(TestRecord(i));
    if (!log.Append(batch)) std::abort();
  }
  Log log(*storage);
  for (auto _ : state) {
    auto report = log.Verify();
    if (!report || !report->ok) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_VerifyStore)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
