#include "flopline/ledger/note.h"

#include <sodium.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace flopline::ledger {
namespace {

using core::Result;

constexpr std::uint8_t kEd25519 = 0x01;      // the signed-note signature type for Ed25519
constexpr std::string_view kDash = "\u2014";  // each signature line starts with an em dash

tl::unexpected<core::Error> Invalid(std::string message) {
  return core::InvalidArgument(std::move(message));
}

Result<void> InitSodium() {
  if (sodium_init() < 0) return core::MakeError(core::Code::kInternal, "libsodium failed to start");
  return core::Ok();
}

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '+' || u <= ' ' || u == 0x7f) return false;
  }
  return true;
}

std::uint32_t KeyId(std::string_view name, const std::array<std::uint8_t, 32>& public_key) {
  std::string input(name);
  input += '\n';
  input += static_cast<char>(kEd25519);
  input.append(reinterpret_cast<const char*>(public_key.data()), public_key.size());
  Hash h = Sha256(input);
  return std::uint32_t{h[0]} << 24 | std::uint32_t{h[1]} << 16 | std::uint32_t{h[2]} << 8 | h[3];
}

// Splits "name+hash+base64" keys; returns false when the parts are not there.
bool SplitKey(std::string_view key, std::string_view& name, std::string_view& hash,
              std::string_view& data) {
  size_t a = key.find('+');
  if (a == std::string_view::npos) return false;
  size_t b = key.find('+', a + 1);
  if (b == std::string_view::npos) return false;
  name = key.substr(0, a);
  hash = key.substr(a + 1, b - a - 1);
  data = key.substr(b + 1);
  return true;
}

// The 32 bytes after the 0x01 type byte of a key's base64 part.
Result<std::array<std::uint8_t, 32>> KeyBytes(std::string_view data, std::string_view what) {
  std::optional<std::string> raw = FromBase64(data);
  if (!raw || raw->size() != 33 || static_cast<std::uint8_t>((*raw)[0]) != kEd25519) {
    return Invalid(fmt::format("{} is not an Ed25519 key (base64 of 0x01 and 32 bytes)", what));
  }
  std::array<std::uint8_t, 32> out{};
  std::memcpy(out.data(), raw->data() + 1, 32);
  return out;
}

Result<std::uint32_t> ParseKeyId(std::string_view hex, std::string_view what) {
  std::uint32_t id = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), id, 16);
  if (hex.size() != 8 || ec != std::errc() || end != hex.data() + hex.size()) {
    return Invalid(fmt::format("{} has a key hash '{}' that is not 8 hex digits", what, hex));
  }
  return id;
}

std::string KeyData(const std::array<std::uint8_t, 32>& bytes) {
  std::string raw(1, static_cast<char>(kEd25519));
  raw.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return Base64(raw);
}

}  // namespace

Result<Signer> Signer::Generate(std::string_view name) {
  FL_RETURN_IF_ERROR(InitSodium());
  if (!ValidName(name)) return Invalid(fmt::format("'{}' cannot name a key: no spaces or '+'", name));
  Signer s;
  s.name_ = name;
  randombytes_buf(s.seed_.data(), s.seed_.size());
  crypto_sign_seed_keypair(s.public_.data(), s.secret_.data(), s.seed_.data());
  return s;
}

Result<Signer> Signer::Parse(std::string_view signer_key) {
  FL_RETURN_IF_ERROR(InitSodium());
  constexpr std::string_view kPrefix = "PRIVATE+KEY+";
  std::string_view name, hash, data;
  while (!signer_key.empty() && (signer_key.back() == '\n' || signer_key.back() == '\r')) {
    signer_key.remove_suffix(1);
  }
  if (!signer_key.starts_with(kPrefix) ||
      !SplitKey(signer_key.substr(kPrefix.size()), name, hash, data) || !ValidName(name)) {
    return Invalid("not a signer key: expected PRIVATE+KEY+name+hash+base64");
  }
  Signer s;
  s.name_ = name;
  FL_ASSIGN_OR_RETURN(s.seed_, KeyBytes(data, "the signer key"));
  crypto_sign_seed_keypair(s.public_.data(), s.secret_.data(), s.seed_.data());
  FL_ASSIGN_OR_RETURN(std::uint32_t id, ParseKeyId(hash, "the signer key"));
  if (id != KeyId(s.name_, s.public_)) return Invalid("the signer key's hash does not match its key");
  return s;
}

std::string Signer::SignerKey() const {
  return fmt::format("PRIVATE+KEY+{}+{:08x}+{}", name_, KeyId(name_, public_), KeyData(seed_));
}

std::string Signer::VerifierKey() const {
  return fmt::format("{}+{:08x}+{}", name_, KeyId(name_, public_), KeyData(public_));
}

Result<std::string> Signer::Sign(std::string_view text) const {
  if (text.empty() || text.back() != '\n') return Invalid("a note's text must end with a newline");
  std::array<std::uint8_t, 4 + crypto_sign_BYTES> sig{};
  std::uint32_t id = KeyId(name_, public_);
  for (int i = 0; i < 4; ++i) sig[static_cast<size_t>(i)] = static_cast<std::uint8_t>(id >> (24 - 8 * i));
  crypto_sign_detached(sig.data() + 4, nullptr, reinterpret_cast<const unsigned char*>(text.data()),
                       text.size(), secret_.data());
  return fmt::format("{}\n{} {} {}\n", text, kDash, name_,
                     Base64(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size())));
}

Result<Verifier> Verifier::Parse(std::string_view verifier_key) {
  FL_RETURN_IF_ERROR(InitSodium());
  while (!verifier_key.empty() && (verifier_key.back() == '\n' || verifier_key.back() == '\r')) {
    verifier_key.remove_suffix(1);
  }
  std::string_view name, hash, data;
  if (!SplitKey(verifier_key, name, hash, data) || !ValidName(name)) {
    return Invalid("not a verifier key: expected name+hash+base64");
  }
  Verifier v;
  v.name_ = name;
  FL_ASSIGN_OR_RETURN(v.public_, KeyBytes(data, "the verifier key"));
  FL_ASSIGN_OR_RETURN(v.key_id_, ParseKeyId(hash, "the verifier key"));
  if (v.key_id_ != KeyId(v.name_, v.public_)) {
    return Invalid("the verifier key's hash does not match its key");
  }
  return v;
}

Result<std::string> Verifier::Open(std::string_view note) const {
  // The text is everything up to and including the newline before the last blank line.
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos || note.empty() || note.back() != '\n') {
    return Invalid("not a signed note: no blank line before the signatures");
  }
  std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  bool found = false;
  while (!sigs.empty()) {
    size_t eol = sigs.find('\n');
    std::string_view line = sigs.substr(0, eol);
    sigs.remove_prefix(eol + 1);
    if (!line.starts_with(kDash) || line.size() < kDash.size() + 1 || line[kDash.size()] != ' ') {
      return Invalid("not a signed note: a signature line must start with an em dash and a space");
    }
    line.remove_prefix(kDash.size() + 1);
    size_t space = line.rfind(' ');
    if (space == std::string_view::npos) return Invalid("a signature line has no signature");
    if (line.substr(0, space) != name_) continue;  // another signer's line
    std::optional<std::string> raw = FromBase64(line.substr(space + 1));
    if (!raw || raw->size() != 4 + crypto_sign_BYTES) return Invalid("a signature is malformed");
    std::uint32_t id = 0;
    for (int i = 0; i < 4; ++i) id = id << 8 | static_cast<std::uint8_t>((*raw)[static_cast<size_t>(i)]);
    if (id != key_id_) continue;
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(raw->data()) + 4,
                                    reinterpret_cast<const unsigned char*>(text.data()),
                                    text.size(), public_.data()) != 0) {
      return Invalid(fmt::format("the signature by '{}' does not verify", name_));
    }
    found = true;
  }
  if (!found) return Invalid(fmt::format("the note carries no signature by '{}'", name_));
  return std::string(text);
}

std::string Checkpoint::Text() const {
  return fmt::format("{}\n{}\n{}\n", origin, size, Base64(root));
}

Result<Checkpoint> Checkpoint::Parse(std::string_view text) {
  Checkpoint c;
  std::string_view lines[3];
  for (auto& line : lines) {
    size_t eol = text.find('\n');
    if (eol == std::string_view::npos) return Invalid("a checkpoint needs origin, size and root lines");
    line = text.substr(0, eol);
    text.remove_prefix(eol + 1);
  }
  // Extension lines may follow (tlog-checkpoint); they are not ours to interpret.
  if (lines[0].empty()) return Invalid("a checkpoint's origin line is empty");
  c.origin = lines[0];
  auto [end, ec] = std::from_chars(lines[1].data(), lines[1].data() + lines[1].size(), c.size);
  if (ec != std::errc() || end != lines[1].data() + lines[1].size() || lines[1].empty() ||
      (lines[1].size() > 1 && lines[1][0] == '0')) {
    return Invalid(fmt::format("a checkpoint's size '{}' is not a decimal number", lines[1]));
  }
  std::optional<Hash> root = HashFromBase64(lines[2]);
  if (!root) return Invalid("a checkpoint's root is not base64 of 32 bytes");
  c.root = *root;
  return c;
}

}  // namespace flopline::ledger
