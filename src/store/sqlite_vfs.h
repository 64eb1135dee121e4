// File: store/sqlite_vfs.h
//
// The SQLite VFS the store opens its files through: the platform's default VFS, with a check after
// every sync of a database file or its WAL that the file system can still commit what the sync
// just wrote (issue 16, docs/reliability.md "Ledger: full disk, read-only file system").
//
// Why: on Linux 6.18 (the kernel this was found on) an fdatasync that began before ext4 aborted its
// journal (errors=remount-ro, an I/O error) returns 0 although the journal transaction holding the
// WAL's new blocks and size was never written: the aborted journal "commits" it without I/O and
// the fsync, finding it committed, does not look at the abort. SQLite then reports the commit
// durable, and the append is gone after the repair. A journal that has aborted refuses every new
// handle, and the abort is set before the transaction is marked committed, so a request that needs
// a handle, made after the sync returned, tells the two cases apart: it fails only if the journal
// aborted before the sync could have been honest. The check is fallocate(FALLOC_FL_KEEP_SIZE) of
// the WAL's first byte, which is already written: it changes no data and no size. It is made after
// a sync that wrote past the size the last checked sync left (or found the size changed): a sync
// of overwrites alone commits no metadata, so its data is durable whatever the journal does.
#pragma once

#include <functional>
#include <string>

namespace flopline::store {

// The name of the VFS (registered on first use over the default one; never made the default).
const char* DurableVfs();

// 0 when the file system of `wal_path` can still commit its journal; else the errno that says it
// cannot (EROFS, EIO). 0 too where the check cannot be made (no such file, no fallocate, a full
// disk): a sync that succeeded there is taken at its word, as before.
int ProbeJournal(const std::string& wal_path);

// The errno of the last call that failed through the VFS on this thread (0 if none since the last
// call of this), for error messages: SQLite keeps it only for some statements.
int TakeLastErrno();

// Tests: replaces ProbeJournal after every successful sync in this process (`path` is the file
// synced, the database or its WAL); an empty function puts ProbeJournal back.
void TEST_SetSyncProbe(std::function<int(const std::string& path)> probe);

}  // namespace flopline::store
