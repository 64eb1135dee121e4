// File: flopline/meter/signing.h
//
// Signed step events (docs/meter.md "Signed step events"): a step event may carry an Ed25519
// signature by its run's key (libsodium) as its last member, written exactly
//
//   {"run":"r1","time":1767225600,"step":1,"tokens":4096,"flop":1e18,"sig":"BASE64"}
//                                                                   ^^^^^^^^^^^^^^^^ last, no spaces
//
// The signed message is kSignedPrefix followed by the line without that member: the bytes before
// `,"sig":"` and then `}`. So an emitter serialises its event once, signs those bytes, and splices
// the signature in before the closing brace; the meter verifies the very bytes it parses, with no
// number or key order to canonicalise. The run's id is inside the signed bytes: an event signed for
// one run does not verify as another's.
//
// Keys: the public key is 32 bytes, the secret key libsodium's 64 (seed and public key), each
// stored as one line of standard base64.
//
// Thread safety: the functions are pure (libsodium is initialised on first use).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "flopline/core/result.h"

namespace flopline::meter {

inline constexpr std::string_view kSignedPrefix = "flopline-step-event-v1\n";

using PublicKey = std::array<unsigned char, 32>;
using SecretKey = std::array<unsigned char, 64>;

// The message a line's signature is over; nullopt when the line does not end with the sig member
// written as above.
std::optional<std::string> SignedMessage(std::string_view line);

// kInvalidArgument naming `field` when `text` (one line of base64; surrounding whitespace ignored)
// is not a key of the right size.
core::Result<PublicKey> ParsePublicKey(std::string_view text, const std::string& field);
core::Result<SecretKey> ParseSecretKey(std::string_view text, const std::string& field);
std::string KeyText(const unsigned char* key, std::size_t size);  // standard base64
// A fresh key pair.
std::pair<PublicKey, SecretKey> GenerateKeyPair();

// The line (a step event's JSON object, without its newline and without a sig member) with its
// signature appended as the last member.
core::Result<std::string> SignLine(std::string_view line, const SecretKey& key);

// Whether `line`'s signature `sig` (the member's base64 text) is `key`'s over the line: an error
// naming the field 'sig' and `where` when not (not at the line's end, not base64 of 64 bytes, or not
// verifying).
core::Result<void> VerifyLine(std::string_view line, std::string_view sig, const PublicKey& key,
                              const core::Location& where, const std::string& run);

}  // namespace flopline::meter
