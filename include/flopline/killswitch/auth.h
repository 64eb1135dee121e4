// File: flopline/killswitch/auth.h
//
// Who may speak on the control plane, and how every message is bound to its sender.
//
// Credentials are 32-byte secrets derived from the controller's signing key, so every controller
// of a cluster (which share that key) can check them and nothing else needs storing:
//   master        = SHA-256("flopline-killswitch credentials\n" || signer key text)
//   agent ID      = HMAC-SHA256(master, "agent\n" || ID)      one per agent: speaks only for ID
//   operator      = HMAC-SHA256(master, "operator\n")         shutdown, drill, status
// `flopline killswitch credential` writes one to a 0600 file:
//   flopline-killswitch-credential agent ID BASE64      or      ... operator - BASE64
//
// A connection opens with the controller's hello, a fresh random nonce. Both directions then
// authenticate each message with a key bound to that nonce,
//   session = HMAC-SHA256(credential, "flopline-killswitch session\n" || nonce)
// in an envelope {"from":"agent:ID"|"operator","msg":"<JSON text>","mac":"<hex>"} whose mac is
// HMAC-SHA256(session, direction || "\n" || msg), direction "client" or "controller". Each client
// message carries a "seq" above the last one on the connection. A captured message therefore fails
// on any other connection (another nonce) and on its own (its seq is spent).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "flopline/core/result.h"
#include "flopline/ledger/note.h"

namespace flopline::killswitch {

using Secret = std::array<std::uint8_t, 32>;

struct Credential {
  enum class Role { kAgent, kOperator };
  Role role = Role::kAgent;
  std::string id;  // the agent's id; empty for the operator
  Secret secret{};

  std::string From() const;      // "agent:ID" or "operator"
  std::string ToString() const;  // the credential file's one line, with its newline
  static core::Result<Credential> Parse(std::string_view text);
};

// The master secret of a controller's signing key.
Secret MasterSecret(const ledger::Signer& signer);
// The credential `from` ("agent:ID" or "operator") would hold; an error for any other `from`.
core::Result<Credential> DeriveCredential(const Secret& master, std::string_view from);

std::string RandomNonce();  // 16 random bytes, hex
Secret SessionKey(const Secret& credential, std::string_view nonce);

enum class Direction { kClient, kController };
// The envelope line (no newline) carrying `msg` from `from` under `session`.
std::string Seal(const Secret& session, Direction dir, std::string_view from, std::string_view msg);
struct Envelope {
  std::string from, msg, mac;
};
// The envelope's fields, each checked to be a string; the mac is not checked here.
core::Result<Envelope> ParseEnvelope(std::string_view line);
// True when `e.mac` is the mac of `e.msg` under `session` (constant time).
bool MacValid(const Secret& session, Direction dir, const Envelope& e);

}  // namespace flopline::killswitch
