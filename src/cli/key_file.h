// File: cli/key_file.h (private)
//
// Ed25519 signing keys in files: created with mode 0600 from the first byte (O_EXCL, never over an
// existing key), and refused when group or others can read them.
#pragma once

#include <string>

#include "flopline/core/result.h"
#include "flopline/ledger/note.h"

namespace flopline::cli {

// Key and credential files are small: anything larger is not one.
inline constexpr size_t kMaxKeyFileBytes = size_t{64} << 10;

// A key or credential file through core::ReadRegularFile: no symlink, no FIFO, at most
// kMaxKeyFileBytes, non-empty; `secret` refuses one that group or others can read. Errors name
// `field`.
core::Result<std::string> ReadKeyFile(const std::string& path, const std::string& field, bool secret = false);
core::Result<ledger::Signer> ReadSigner(const std::string& path);
core::Result<void> WriteKeyFile(const std::string& path, const std::string& text);
// The key in `path`, or a new key named `name` written there when the file does not exist.
core::Result<ledger::Signer> LoadOrCreateSigner(const std::string& path, const std::string& name);

}  // namespace flopline::cli
