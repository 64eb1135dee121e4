// File: flopline/ledger/note.h
//
// C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys (libsodium), and the C2SP
// tlog-checkpoint body (https://c2sp.org/tlog-checkpoint) that the log signs:
//
//   <origin>\n<tree size, decimal>\n<root hash, base64>\n      the note text
//   \n
//   — <key name> <base64(4-byte key ID || 64-byte signature)>\n  one line per signature
//
// key ID = the first four bytes of SHA-256(name || "\n" || 0x01 || public key); a verifier key is
// written "name+hex(key ID)+base64(0x01 || public key)" and a signer key
// "PRIVATE+KEY+name+hex(key ID)+base64(0x01 || seed)", as Go's golang.org/x/mod/sumdb/note does.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "flopline/core/result.h"
#include "flopline/ledger/hash.h"

namespace flopline::ledger {

class Signer {
 public:
  // A fresh key named `name` (a key name may not be empty or hold spaces or '+').
  static core::Result<Signer> Generate(std::string_view name);
  static core::Result<Signer> Parse(std::string_view signer_key);

  std::string SignerKey() const;    // the secret form, for a 0600 key file
  std::string VerifierKey() const;  // the public form
  const std::string& name() const { return name_; }
  // The whole signed note: text (which must end in a newline), a blank line, one signature line.
  core::Result<std::string> Sign(std::string_view text) const;

 private:
  std::string name_;
  std::array<std::uint8_t, 32> seed_{};
  std::array<std::uint8_t, 32> public_{};
  std::array<std::uint8_t, 64> secret_{};
};

class Verifier {
 public:
  static core::Result<Verifier> Parse(std::string_view verifier_key);
  const std::string& name() const { return name_; }
  std::uint32_t key_id() const { return key_id_; }
  // The note's text when one of its signature lines is this key's and valid; an error otherwise
  // (malformed note, no signature by this key, a bad signature).
  core::Result<std::string> Open(std::string_view note) const;

 private:
  std::string name_;
  std::uint32_t key_id_ = 0;
  std::array<std::uint8_t, 32> public_{};
};

struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Hash root{};

  std::string Text() const;  // the note text, exactly as tlog-checkpoint specifies
  static core::Result<Checkpoint> Parse(std::string_view text);
};

}  // namespace flopline::ledger
