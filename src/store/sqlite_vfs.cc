#include "store/sqlite_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <new>
#include <utility>

namespace flopline::store {
namespace {

// The errno of the last failed call this thread made through the VFS; SQLite asks for it
// (xGetLastError) after an I/O error, and the store's messages name it (sqlite3_system_errno).
thread_local int last_errno = 0;

std::mutex probe_mu;
std::function<int(const std::string&)>* test_probe = nullptr;  // guarded by probe_mu

// One open file: SQLite allocates szOsFile bytes, this struct followed by the base VFS's file.
struct alignas(8) File {
  sqlite3_file base;   // first: SQLite holds a File* as a sqlite3_file*
  sqlite3_file* real;  // the base VFS's file, right after this struct
  std::string path;    // the database's or the WAL's name; empty for other files (not checked)
  std::string wal;     // the WAL whose first byte the check reserves
  int wal_fd;          // the WAL's own descriptor for the check, or -1 (then opened by name)
  // The file's size at its last checked sync (-1: none yet), and whether a write since went past
  // it. A sync of writes within it (the WAL restarted over its old frames) commits no metadata:
  // its data goes to blocks already mapped, durable whatever the journal does, and it is not
  // checked (the check would make that sync wait for a journal commit: up to ~0.6 ms here).
  sqlite3_int64 checked_size;
  bool grew;
};

sqlite3_vfs* Base(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }
File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Of(f)->real; }

// Keeps the errno of a call that failed (rc != SQLITE_OK), for xGetLastError.
int Noted(int rc) {
  if (rc != SQLITE_OK && errno != 0) last_errno = errno;
  return rc;
}
int Noting(auto&& call) {
  errno = 0;
  return Noted(call());
}

int ReserveFirstByte(int fd) {
  int rc;
  do {
    rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return 0;
  switch (errno) {
    case EOPNOTSUPP:
    case ENOSYS:
    case EINVAL:   // a file system without fallocate
    case ENOSPC:
    case EDQUOT:   // the byte is written; a full disk says nothing of the journal
      return 0;
    default:
      return errno;
  }
}

int Probe(const File& f) {
  {
    std::lock_guard lock(probe_mu);
    if (test_probe != nullptr) return (*test_probe)(f.path);
  }
  return f.wal_fd >= 0 ? ReserveFirstByte(f.wal_fd) : ProbeJournal(f.wal);
}

int Close(sqlite3_file* file) {
  File* f = Of(file);
  int rc = f->real->pMethods != nullptr ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  if (f->wal_fd >= 0) close(f->wal_fd);
  f->~File();
  return rc;
}
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 at) {
  return Noting([&] { return Real(f)->pMethods->xRead(Real(f), buf, n, at); });
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 at) {
  if (at + n > Of(f)->checked_size) Of(f)->grew = true;
  return Noting([&] { return Real(f)->pMethods->xWrite(Real(f), buf, n, at); });
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  Of(f)->grew = true;
  return Noting([&] { return Real(f)->pMethods->xTruncate(Real(f), size); });
}
// The sync, then the check that the file system could commit it (see the header).
int Sync(sqlite3_file* file, int flags) {
  File* f = Of(file);
  int rc = Noting([&] { return f->real->pMethods->xSync(f->real, flags); });
  if (rc != SQLITE_OK || f->path.empty()) return rc;
  // Another program may have changed the size (a TRUNCATE checkpoint): then check too.
  sqlite3_int64 size = -1;
  if (f->real->pMethods->xFileSize(f->real, &size) != SQLITE_OK) size = -1;
  if (!f->grew && size == f->checked_size) return SQLITE_OK;
  if (int err = Probe(*f); err != 0) {
    last_errno = err;
    return SQLITE_IOERR_FSYNC;
  }
  f->checked_size = size;
  f->grew = false;
  return SQLITE_OK;
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Noting([&] { return Real(f)->pMethods->xFileSize(Real(f), size); });
}
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); }
int FileControl(sqlite3_file* f, int op, void* arg) { return Real(f)->pMethods->xFileControl(Real(f), op, arg); }
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Noting([&] { return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out); });
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int remove) { return Real(f)->pMethods->xShmUnmap(Real(f), remove); }
int Fetch(sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), at, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 at, void* p) { return Real(f)->pMethods->xUnfetch(Real(f), at, p); }

// Every method forwards to the base VFS's file; the version-2 and -3 ones exist only if its do.
const sqlite3_io_methods kMethods = {3, Close, Read, Write, Truncate, Sync, FileSize, Lock, Unlock,
                                     CheckReservedLock, FileControl, SectorSize, DeviceCharacteristics,
                                     ShmMap, ShmLock, ShmBarrier, ShmUnmap, Fetch, Unfetch};
const sqlite3_io_methods kMethodsV1 = {1, Close, Read, Write, Truncate, Sync, FileSize, Lock, Unlock,
                                       CheckReservedLock, FileControl, SectorSize, DeviceCharacteristics,
                                       nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  file->pMethods = nullptr;
  auto* real = reinterpret_cast<sqlite3_file*>(Of(file) + 1);
  real->pMethods = nullptr;
  int rc = Noting([&] { return Base(vfs)->xOpen(Base(vfs), name, real, flags, out_flags); });
  if (rc != SQLITE_OK) {
    if (real->pMethods != nullptr) real->pMethods->xClose(real);
    return rc;
  }
  File* f = new (file) File{{}, real, {}, {}, -1, -1, true};
  if (name != nullptr && (flags & SQLITE_OPEN_MAIN_DB) != 0) {
    f->path = name;
    f->wal = f->path + "-wal";
  } else if (name != nullptr && (flags & SQLITE_OPEN_WAL) != 0) {
    f->path = f->wal = name;
    // Not SQLite's descriptor: SQLite holds no lock on the WAL, so closing this one releases none.
    f->wal_fd = open(name, O_WRONLY | O_CLOEXEC);
  }
  const sqlite3_io_methods* methods = real->pMethods->iVersion >= 3 ? &kMethods : &kMethodsV1;
  f->base.pMethods = methods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Noting([&] { return Base(vfs)->xDelete(Base(vfs), name, sync_dir); });
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Base(vfs)->xAccess(Base(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Base(vfs)->xFullPathname(Base(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return Base(vfs)->xDlOpen(Base(vfs), name); }
void DlError(sqlite3_vfs* vfs, int n, char* out) { Base(vfs)->xDlError(Base(vfs), n, out); }
void (*DlSym(sqlite3_vfs* vfs, void* lib, const char* symbol))(void) {
  return Base(vfs)->xDlSym(Base(vfs), lib, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* lib) { Base(vfs)->xDlClose(Base(vfs), lib); }
int Randomness(sqlite3_vfs* vfs, int n, char* out) { return Base(vfs)->xRandomness(Base(vfs), n, out); }
int Sleep(sqlite3_vfs* vfs, int us) { return Base(vfs)->xSleep(Base(vfs), us); }
int CurrentTime(sqlite3_vfs* vfs, double* out) { return Base(vfs)->xCurrentTime(Base(vfs), out); }
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return last_errno != 0 ? last_errno : Base(vfs)->xGetLastError(Base(vfs), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Base(vfs)->xCurrentTimeInt64(Base(vfs), out);
}
int SetSystemCall(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr call) {
  return Base(vfs)->xSetSystemCall(Base(vfs), name, call);
}
sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Base(vfs)->xGetSystemCall(Base(vfs), name);
}
const char* NextSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Base(vfs)->xNextSystemCall(Base(vfs), name);
}

}  // namespace

const char* DurableVfs() {
  static sqlite3_vfs vfs;
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_initialize();
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    // Version 2 and 3 entries only where the base has them (the Unix VFS has all).
    vfs = {std::min(base->iVersion, 3), static_cast<int>(sizeof(File)) + base->szOsFile, base->mxPathname,
           nullptr, "flopline", base, Open, Delete, Access, FullPathname, DlOpen, DlError, DlSym, DlClose,
           Randomness, Sleep, CurrentTime, GetLastError, CurrentTimeInt64, SetSystemCall, GetSystemCall,
           NextSystemCall};
    sqlite3_vfs_register(&vfs, /*makeDflt=*/0);
  });
  return "flopline";
}

int ProbeJournal(const std::string& wal_path) {
  int fd = open(wal_path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno == EROFS || errno == EIO ? errno : 0;
  int err = ReserveFirstByte(fd);
  close(fd);
  return err;
}

int TakeLastErrno() { return std::exchange(last_errno, 0); }

void TEST_SetSyncProbe(std::function<int(const std::string& path)> probe) {
  std::lock_guard lock(probe_mu);
  delete test_probe;
  test_probe = probe ? new std::function<int(const std::string&)>(std::move(probe)) : nullptr;
}

}  // namespace flopline::store
