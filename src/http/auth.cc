#include "flopline/http/auth.h"

#include <cerrno>

#include <sodium.h>

#include <charconv>
#include <vector>

namespace flopline::http {
namespace {

std::string Base64Url(const unsigned char* bytes, std::size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

bool EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

}  // namespace

core::Result<std::string> HashSecret(std::string_view secret) {
  if (!EnsureSodium()) return core::MakeError(core::Code::kInternal, "libsodium did not initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return core::MakeError(core::Code::kUnavailable, "argon2id ran out of memory");
  }
  return std::string(out);
}

SecretCheck CheckSecret(const std::string& hash, std::string_view secret) {
  if (!EnsureSodium()) return SecretCheck::kCouldNotCheck;
  if (hash.empty()) return SecretCheck::kMismatch;
  // -1 for a mismatch (libsodium sets errno to EINVAL only then) and for any failure to check
  // (argon2id's 64 MiB not allocated: ENOMEM; a hash it cannot decode).
  errno = 0;
  if (crypto_pwhash_str_verify(hash.c_str(), secret.data(), secret.size()) == 0) return SecretCheck::kMatch;
  return errno == EINVAL ? SecretCheck::kMismatch : SecretCheck::kCouldNotCheck;
}

bool VerifySecret(const std::string& hash, std::string_view secret) {
  return CheckSecret(hash, secret) == SecretCheck::kMatch;
}

std::string RandomSecret() {
  EnsureSodium();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  return Base64Url(bytes, sizeof bytes);
}

std::string MakeToken(const std::string& name) { return "flt_" + name + "." + RandomSecret(); }

std::optional<std::string> TokenUser(std::string_view token) {
  if (!token.starts_with("flt_")) return std::nullopt;
  std::size_t dot = token.rfind('.');
  if (dot == std::string_view::npos || dot <= 4 || dot + 1 == token.size()) return std::nullopt;
  return std::string(token.substr(4, dot - 4));
}

SessionKeys::SessionKeys(std::string_view secret) {
  EnsureSodium();
  auto derive = [&](std::string_view context) {
    unsigned char key[crypto_generichash_KEYBYTES];
    std::string input = std::string(context) + '\0' + std::string(secret);
    crypto_generichash(key, sizeof key, reinterpret_cast<const unsigned char*>(input.data()), input.size(), nullptr, 0);
    return std::string(reinterpret_cast<const char*>(key), sizeof key);
  };
  cookie_key_ = derive("flopline-session-cookie-v1");
  csrf_key_ = derive("flopline-session-csrf-v1");
}

std::string SessionKeys::Mac(std::string_view key, std::string_view text) const {
  unsigned char mac[32];
  crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return Base64Url(mac, sizeof mac);
}

std::string SessionKeys::Issue(const Principal& who, std::int64_t expires) const {
  unsigned char nonce[12];
  randombytes_buf(nonce, sizeof nonce);
  std::string text = who.name + "." + who.role + "." + std::to_string(expires) + "." + Base64Url(nonce, sizeof nonce);
  return text + "." + Mac(cookie_key_, text);
}

std::optional<Principal> SessionKeys::Open(std::string_view cookie, std::int64_t now) const {
  std::vector<std::string_view> parts = Split(cookie, '.');
  if (parts.size() != 5) return std::nullopt;
  std::string_view text = cookie.substr(0, cookie.rfind('.'));
  std::string mac = Mac(cookie_key_, text);
  if (mac.size() != parts[4].size() || sodium_memcmp(mac.data(), parts[4].data(), mac.size()) != 0) return std::nullopt;
  std::int64_t expires = 0;
  auto [p, ec] = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), expires);
  if (ec != std::errc() || p != parts[2].data() + parts[2].size() || expires <= now) return std::nullopt;
  return Principal{std::string(parts[0]), std::string(parts[1]), std::string(parts[3]), expires};
}

std::string SessionKeys::Csrf(std::string_view cookie) const { return Mac(csrf_key_, cookie); }

bool SessionKeys::CheckCsrf(std::string_view cookie, std::string_view token) const {
  std::string want = Csrf(cookie);
  return want.size() == token.size() && sodium_memcmp(want.data(), token.data(), want.size()) == 0;
}

}  // namespace flopline::http
