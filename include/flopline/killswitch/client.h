// File: flopline/killswitch/client.h
//
// The operator's side of the protocol: one authenticated request to a controller (a shutdown, a
// drill, a status) and its authenticated answer. Used by `flopline killswitch shutdown|drill|status`
// and by the compute meter's gate (flopline/meter/gate.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/core/result.h"
#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/net.h"

namespace flopline::killswitch {

// Answers are read up to this size: replies grow with the fleet (a status lists every agent).
inline constexpr std::size_t kMaxReplyBytes = 64 << 20;

// "ADDR:PORT[,ADDR:PORT...]": the controllers to try, in order. Errors name --controller.
core::Result<std::vector<Endpoint>> ParseControllers(const std::string& list);

// A credential file: a regular file, mode 0600 or stricter, of the role wanted. Errors name
// --credential.
core::Result<Credential> ReadCredential(const std::string& path, Credential::Role role);

// Sends `request` to the first controller of `controllers` that greets as one and returns its answer
// (the session's mac checked). A status is retried on the next controller; a shutdown or drill is
// never sent to a second one once the first may have received it (kUnavailable says so). The
// controller's refusal is kFailedPrecondition (authentication) or kInvalidArgument (the request).
core::Result<nlohmann::json> Ask(const std::string& controllers, const Credential& credential,
                                 ClientMessage request, std::int64_t timeout_ms);

}  // namespace flopline::killswitch
