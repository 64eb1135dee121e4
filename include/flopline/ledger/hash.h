// File: flopline/ledger/hash.h
//
// SHA-256 (OpenSSL, SHA-NI where the CPU has it) and the two RFC 9162 section 2.1.1 hashes the
// log is built from:
//   leaf hash = SHA-256(0x00 || leaf bytes),  node hash = SHA-256(0x01 || left || right),
// plus the encodings proofs travel in (standard base64 with padding, lower-case hex).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace flopline::ledger {

using Hash = std::array<std::uint8_t, 32>;

Hash Sha256(std::span<const std::uint8_t> bytes);
Hash Sha256(std::string_view bytes);
Hash LeafHash(std::string_view leaf);
Hash NodeHash(const Hash& left, const Hash& right);
// The root of the empty tree: SHA-256 of nothing (RFC 9162 section 2.1.1).
Hash EmptyRoot();

std::string Base64(std::string_view bytes);
std::string Base64(const Hash& hash);
std::optional<std::string> FromBase64(std::string_view text);  // nullopt unless canonical base64
std::optional<Hash> HashFromBase64(std::string_view text);
std::string Hex(const Hash& hash);
std::string Hex(std::string_view bytes);
std::optional<Hash> HashFromHex(std::string_view text);

inline std::string_view AsText(const Hash& hash) {
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

}  // namespace flopline::ledger
