#include "flopline/killswitch/auth.h"

#include <fmt/format.h>
#include <sodium.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "flopline/killswitch/messages.h"
#include "flopline/ledger/hash.h"

namespace flopline::killswitch {

using core::Result;
using nlohmann::json;

namespace {

constexpr std::string_view kFileTag = "flopline-killswitch-credential";

Secret Hmac(const Secret& key, std::string_view data) {
  Secret out{};
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()),
                                data.size());
  crypto_auth_hmacsha256_final(&st, out.data());
  return out;
}

std::string_view Bytes(const Secret& s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

std::string DirectionName(Direction d) { return d == Direction::kClient ? "client" : "controller"; }

}  // namespace

std::string Credential::From() const {
  return role == Role::kOperator ? "operator" : "agent:" + id;
}

std::string Credential::ToString() const {
  return fmt::format("{} {} {} {}\n", kFileTag, role == Role::kOperator ? "operator" : "agent",
                     role == Role::kOperator ? "-" : id, ledger::Base64(Bytes(secret)));
}

Result<Credential> Credential::Parse(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::vector<std::string_view> parts;
  for (size_t at = 0; at <= text.size();) {
    size_t sp = text.find(' ', at);
    if (sp == std::string_view::npos) sp = text.size();
    parts.push_back(text.substr(at, sp - at));
    at = sp + 1;
  }
  auto bad = core::InvalidArgument(
      fmt::format("not a credential: want '{} agent ID KEY' or '{} operator - KEY'", kFileTag,
                  kFileTag),
      "--credential");
  if (parts.size() != 4 || parts[0] != kFileTag) return bad;
  Credential c;
  if (parts[1] == "agent" && !parts[2].empty() && parts[2] != "-") {
    c.role = Role::kAgent;
    c.id = parts[2];
  } else if (parts[1] == "operator" && parts[2] == "-") {
    c.role = Role::kOperator;
  } else {
    return bad;
  }
  std::optional<std::string> raw = ledger::FromBase64(parts[3]);
  if (!raw || raw->size() != c.secret.size()) return bad;
  std::copy(raw->begin(), raw->end(), c.secret.begin());
  return c;
}

Secret MasterSecret(const ledger::Signer& signer) {
  std::string text = "flopline-killswitch credentials\n" + signer.SignerKey();
  Secret out{};
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  sodium_memzero(text.data(), text.size());
  return out;
}

Result<Credential> DeriveCredential(const Secret& master, std::string_view from) {
  Credential c;
  if (from == "operator") {
    c.role = Credential::Role::kOperator;
    c.secret = Hmac(master, "operator\n");
    return c;
  }
  if (from.starts_with("agent:") && from.size() > 6 && from.find(' ') == std::string_view::npos) {
    c.role = Credential::Role::kAgent;
    c.id = from.substr(6);
    c.secret = Hmac(master, "agent\n" + c.id);
    return c;
  }
  return core::InvalidArgument(fmt::format("'{}' is neither agent:ID nor operator", from), "from");
}

std::string RandomNonce() {
  if (sodium_init() < 0) std::abort();  // no randomness: nothing safe to do
  std::array<std::uint8_t, 16> n{};
  randombytes_buf(n.data(), n.size());
  return ledger::Hex(std::string_view(reinterpret_cast<const char*>(n.data()), n.size()));
}

Secret SessionKey(const Secret& credential, std::string_view nonce) {
  return Hmac(credential, "flopline-killswitch session\n" + std::string(nonce));
}

std::string Seal(const Secret& session, Direction dir, std::string_view from,
                 std::string_view msg) {
  Secret mac = Hmac(session, DirectionName(dir) + "\n" + std::string(msg));
  return Dump(json{{"from", from}, {"msg", msg}, {"mac", ledger::Hex(Bytes(mac))}});
}

Result<Envelope> ParseEnvelope(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return core::InvalidArgument("not a JSON object");
  auto from = j.find("from"), msg = j.find("msg"), mac = j.find("mac");
  if (from == j.end() || !from->is_string() || msg == j.end() || !msg->is_string() ||
      mac == j.end() || !mac->is_string()) {
    return core::InvalidArgument(
        "not an authenticated envelope {\"from\",\"msg\",\"mac\"} of strings");
  }
  return Envelope{from->get<std::string>(), msg->get<std::string>(), mac->get<std::string>()};
}

bool MacValid(const Secret& session, Direction dir, const Envelope& e) {
  std::string want = ledger::Hex(Bytes(Hmac(session, DirectionName(dir) + "\n" + e.msg)));
  return e.mac.size() == want.size() && sodium_memcmp(e.mac.data(), want.data(), want.size()) == 0;
}

}  // namespace flopline::killswitch
