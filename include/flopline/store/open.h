// File: flopline/store/open.h
//
// Opens the evidence store named by a `--store` value and migrates its schema:
//   sqlite:PATH          the embedded default: one file, WAL, synchronous=FULL
//   postgres:CONNINFO    PostgreSQL through libpqxx (a libpq connection string or URI)
#pragma once

#include <memory>
#include <string>

#include "flopline/core/result.h"
#include "flopline/ledger/storage.h"

namespace flopline::store {

core::Result<std::unique_ptr<ledger::Storage>> Open(const std::string& spec);
core::Result<std::unique_ptr<ledger::Storage>> OpenSqlite(const std::string& path);
core::Result<std::unique_ptr<ledger::Storage>> OpenPostgres(const std::string& conninfo);

}  // namespace flopline::store
