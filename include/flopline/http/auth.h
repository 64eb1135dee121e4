// File: flopline/http/auth.h
//
// Credentials for the HTTP server, with libsodium only:
//   - passwords and API tokens are stored as argon2id hashes (crypto_pwhash_str, the interactive
//     limits); a token is "flt_" + the user's name + "." + 32 random bytes in base64url, so the
//     server knows whose hash to check without trying them all;
//   - a web session is a cookie "NAME.ROLE.EXPIRES.NONCE.MAC" with MAC = keyed BLAKE2b over the
//     rest under a key derived from the server's secret, so every replica holding the same secret
//     honours it, and nothing about sessions is stored; its CSRF token is a keyed hash of the
//     cookie (a synchronizer token that needs no state): a request with a cookie session and an
//     unsafe method must send it in X-CSRF-Token.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "flopline/core/result.h"

namespace flopline::http {

struct Principal {
  std::string name, role;
  // A web session's: the cookie's nonce (which names the session, never its credential: the MAC is)
  // and when it expires (unix seconds). Empty and 0 for a bearer token.
  std::string session = {};
  std::int64_t expires = 0;
};

// argon2id hash of `secret` in the crypto_pwhash_str form ("$argon2id$v=19$m=...").
core::Result<std::string> HashSecret(std::string_view secret);
// Whether `secret` matches the stored hash (constant time inside libsodium): a match, a real
// mismatch, or could not tell (argon2id's memory could not be allocated, a malformed hash): only a
// mismatch says the secret is wrong.
enum class SecretCheck { kMatch, kMismatch, kCouldNotCheck };
SecretCheck CheckSecret(const std::string& hash, std::string_view secret);
// True when `secret` matches the stored hash (CheckSecret's kMatch).
bool VerifySecret(const std::string& hash, std::string_view secret);
// 32 random bytes as base64url without padding (a password or the secret part of a token).
std::string RandomSecret();
// "flt_NAME.SECRET" and the name it names (nullopt when the text is not of that form).
std::string MakeToken(const std::string& name);
std::optional<std::string> TokenUser(std::string_view token);

class SessionKeys {
 public:
  // Derives the cookie and CSRF keys from `secret` (any length; e.g. the log's signing key).
  explicit SessionKeys(std::string_view secret);
  // A session cookie value valid until `expires` (unix seconds).
  std::string Issue(const Principal& who, std::int64_t expires) const;
  // The principal (with its session's nonce and expiry) when the cookie is authentic and not expired
  // at `now`. Whether it was revoked since is the Authenticator's to say (Server asks it).
  std::optional<Principal> Open(std::string_view cookie, std::int64_t now) const;
  // The CSRF token bound to a cookie value.
  std::string Csrf(std::string_view cookie) const;
  bool CheckCsrf(std::string_view cookie, std::string_view token) const;

 private:
  std::string Mac(std::string_view key, std::string_view text) const;
  std::string cookie_key_, csrf_key_;
};

}  // namespace flopline::http
