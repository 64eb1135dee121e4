// Ed25519 signatures on step events through libsodium (signing.h).
#include "flopline/meter/signing.h"

#include <sodium.h>

#include <fmt/format.h>

namespace flopline::meter {
namespace {

constexpr std::string_view kSigMember = ",\"sig\":\"";

void Init() {
  static const bool ready = sodium_init() >= 0;
  (void)ready;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

template <std::size_t N>
core::Result<std::array<unsigned char, N>> Decode(std::string_view text, const std::string& field, const char* what) {
  Init();
  text = Trim(text);
  std::array<unsigned char, N> out{};
  std::size_t size = 0;
  if (text.empty() || sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &size, nullptr,
                                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      size != N) {
    return core::InvalidArgument(fmt::format("expected {} as base64 of {} bytes", what, N), field);
  }
  return out;
}

}  // namespace

std::optional<std::string> SignedMessage(std::string_view line) {
  if (line.size() < kSigMember.size() + 3 || !line.ends_with("\"}")) return std::nullopt;
  std::size_t at = line.rfind(kSigMember);
  if (at == std::string_view::npos) return std::nullopt;
  // Nothing but the signature's base64 between the member's opening quote and the line's end.
  std::string_view sig = line.substr(at + kSigMember.size(), line.size() - 2 - at - kSigMember.size());
  if (sig.find('"') != std::string_view::npos) return std::nullopt;
  std::string message(kSignedPrefix);
  message.append(line.substr(0, at));
  message.push_back('}');
  return message;
}

core::Result<PublicKey> ParsePublicKey(std::string_view text, const std::string& field) {
  return Decode<32>(text, field, "an Ed25519 public key");
}

core::Result<SecretKey> ParseSecretKey(std::string_view text, const std::string& field) {
  FL_ASSIGN_OR_RETURN(SecretKey key, Decode<64>(text, field, "an Ed25519 secret key"));
  // The second half is the public key: refuse a secret key whose halves do not belong together.
  // (libsodium's sk_to_pk only copies that half: derive it from the seed.)
  unsigned char seed[crypto_sign_SEEDBYTES];
  PublicKey derived{};
  SecretKey again{};
  crypto_sign_ed25519_sk_to_seed(seed, key.data());
  crypto_sign_seed_keypair(derived.data(), again.data(), seed);
  sodium_memzero(seed, sizeof seed);
  sodium_memzero(again.data(), again.size());
  if (sodium_memcmp(derived.data(), key.data() + 32, 32) != 0) {
    return core::InvalidArgument("the secret key's public half does not match its seed", field);
  }
  return key;
}

std::string KeyText(const unsigned char* key, std::size_t size) {
  Init();
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), key, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::pair<PublicKey, SecretKey> GenerateKeyPair() {
  Init();
  PublicKey pk{};
  SecretKey sk{};
  crypto_sign_keypair(pk.data(), sk.data());
  return {pk, sk};
}

core::Result<std::string> SignLine(std::string_view line, const SecretKey& key) {
  Init();
  line = Trim(line);
  if (line.size() < 3 || line.front() != '{' || line.back() != '}') {
    return core::InvalidArgument("expected a step event (a JSON object on one line)", "");
  }
  std::string unsigned_part(line.substr(0, line.size() - 1));
  std::string message(kSignedPrefix);
  message.append(line);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(), key.data());
  return unsigned_part + std::string(kSigMember) + KeyText(sig, sizeof sig) + "\"}";
}

core::Result<void> VerifyLine(std::string_view line, std::string_view sig, const PublicKey& key,
                              const core::Location& where, const std::string& run) {
  Init();
  auto message = SignedMessage(line);
  if (!message) {
    return core::InvalidArgument("must be the line's last member, written ,\"sig\":\"BASE64\"} with no spaces", "sig",
                                 where);
  }
  std::array<unsigned char, crypto_sign_BYTES> bytes{};
  std::size_t size = 0;
  if (sodium_base642bin(bytes.data(), bytes.size(), sig.data(), sig.size(), nullptr, &size, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      size != bytes.size()) {
    return core::InvalidArgument("expected an Ed25519 signature as base64 of 64 bytes", "sig", where);
  }
  if (crypto_sign_verify_detached(bytes.data(), reinterpret_cast<const unsigned char*>(message->data()), message->size(),
                                  key.data()) != 0) {
    return core::InvalidArgument(fmt::format("the signature does not verify with the key of run '{}' (--run-key)", run), "sig", where);
  }
  return core::Ok();
}

}  // namespace flopline::meter
