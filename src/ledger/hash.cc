#include "flopline/ledger/hash.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <stdexcept>

namespace flopline::ledger {
namespace {

// One context per thread, reused: allocating one per hash cost as much as hashing a node.
struct Context {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  ~Context() {
    EVP_MD_free(const_cast<EVP_MD*>(sha256));
    EVP_MD_CTX_free(ctx);
  }
};

// One digest over up to three pieces, so leaf and node hashes need no copy of their input.
Hash Digest(std::string_view a, std::string_view b = {}, std::string_view c = {}) {
  thread_local Context context;
  EVP_MD_CTX* ctx = context.ctx;
  Hash out{};
  if (ctx == nullptr || context.sha256 == nullptr || EVP_DigestInit_ex(ctx, context.sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx, b.data(), b.size()) != 1 ||
      EVP_DigestUpdate(ctx, c.data(), c.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 failed");  // only on allocation failure
  }
  return out;
}

constexpr std::string_view kLeafPrefix("\x00", 1);
constexpr std::string_view kNodePrefix("\x01", 1);

}  // namespace

Hash Sha256(std::span<const std::uint8_t> bytes) {
  return Digest({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}
Hash Sha256(std::string_view bytes) { return Digest(bytes); }
Hash LeafHash(std::string_view leaf) { return Digest(kLeafPrefix, leaf); }
Hash NodeHash(const Hash& left, const Hash& right) {
  return Digest(kNodePrefix, AsText(left), AsText(right));
}
Hash EmptyRoot() { return Digest({}); }

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}
std::string Base64(const Hash& hash) { return Base64(AsText(hash)); }

std::optional<std::string> FromBase64(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(length);
  // Only the one canonical spelling is accepted: a proof must not have two encodings.
  if (Base64(out) != text) return std::nullopt;
  return out;
}

std::optional<Hash> HashFromBase64(std::string_view text) {
  std::optional<std::string> bytes = FromBase64(text);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  Hash out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto byte = static_cast<unsigned char>(c);
    out += kDigits[byte >> 4];
    out += kDigits[byte & 15];
  }
  return out;
}
std::string Hex(const Hash& hash) { return Hex(AsText(hash)); }

std::optional<Hash> HashFromHex(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  Hash out{};
  for (size_t i = 0; i < 32; ++i) {
    int value = 0;
    for (char c : text.substr(2 * i, 2)) {
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + digit;
    }
    out[i] = static_cast<std::uint8_t>(value);
  }
  return out;
}

}  // namespace flopline::ledger
