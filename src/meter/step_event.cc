// Step events (docs/meter.md), read with simdjson's DOM parser: one parse per line (stage 1 finds
// every structural character, so trailing content such as two events run together on one line is
// an error, which simdjson 3.0's On Demand API does not report), then one pass over the object's
// fields in whatever order they come, each checked as it is met, nothing allocated for a
// well-formed line.
#include "flopline/meter/step_event.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "flopline/core/instant.h"
#include "line_error.h"

namespace flopline::meter {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

const char* TypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY: return "array";
    case element_type::OBJECT: return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "number";
    case element_type::STRING: return "string";
    case element_type::BOOL: return "boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "value";
}

enum Field : unsigned {
  kRun = 1u << 0,
  kSeq = 1u << 1,
  kTime = 1u << 2,
  kStep = 1u << 3,
  kTokens = 1u << 4,
  kFlop = 1u << 5,
  kWorldSize = 1u << 6,
  kPrecision = 1u << 7,
  kVersion = 1u << 8,
  kSig = 1u << 9,
};

core::Result<double> Number(element value, const At& at, std::string_view field, double max) {
  double d = 0;
  switch (value.type()) {
    case element_type::INT64: d = static_cast<double>(value.get_int64().value_unsafe()); break;
    case element_type::UINT64: d = static_cast<double>(value.get_uint64().value_unsafe()); break;
    case element_type::DOUBLE: d = value.get_double().value_unsafe(); break;
    default:
      return Bad(at, std::string(field), fmt::format("expected a number, got a {}", TypeName(value.type())));
  }
  if (!std::isfinite(d)) return Bad(at, std::string(field), "must be finite");
  if (d < 0) return Bad(at, std::string(field), fmt::format("must not be negative, got {:g}", d));
  if (d > max) return Bad(at, std::string(field), fmt::format("{:g} is more than {:g}", d, max));
  return d;
}

// A whole number in [min, max]: 12 and 12.0 are accepted, 12.5 is not.
core::Result<std::int64_t> Whole(element value, const At& at, std::string_view field, std::int64_t min,
                                 std::int64_t max) {
  FL_ASSIGN_OR_RETURN(double d, Number(value, at, field, static_cast<double>(max)));
  if (d != std::floor(d)) return Bad(at, std::string(field), fmt::format("expected a whole number, got {:g}", d));
  auto i = static_cast<std::int64_t>(d);
  if (i < min) return Bad(at, std::string(field), fmt::format("must be at least {}, got {}", min, i));
  return i;
}

core::Result<std::string_view> String(element value, const At& at, std::string_view field) {
  if (value.type() != element_type::STRING) {
    return Bad(at, std::string(field), fmt::format("expected a string, got a {}", TypeName(value.type())));
  }
  return value.get_string().value_unsafe();
}

}  // namespace

core::Result<StepEvent> StepParser::Parse(std::string_view line, const std::string& file, int line_number) {
  copy_ = simdjson::padded_string(line);
  return Parse(copy_.data(), copy_.size(), copy_.size() + simdjson::SIMDJSON_PADDING, file, line_number);
}

core::Result<StepEvent> StepParser::Parse(const char* line, std::size_t size, std::size_t capacity,
                                          const std::string& file, int line_number) {
  At at{file, line_number};
  if (size > kMaxLineBytes) return Bad(at, "", fmt::format("the line is {} bytes; at most {}", size, kMaxLineBytes));
  element root;
  bool padded = capacity >= size + simdjson::SIMDJSON_PADDING;
  if (auto err = parser_.parse(line, size, !padded).get(root)) {
    return Bad(at, "", fmt::format("not valid JSON ({})", simdjson::error_message(err)));
  }
  if (root.type() != element_type::OBJECT) {
    return Bad(at, "", fmt::format("expected a JSON object, got a {}", TypeName(root.type())));
  }
  StepEvent e;
  unsigned seen = 0;
  // A named object: iterating a temporary one trips GCC 12's -Wdangling-pointer at -O2.
  simdjson::dom::object object = root.get_object().value_unsafe();
  for (auto [key, value] : object) {
    unsigned bit = 0;
    if (key == "run") {
      bit = kRun;
      FL_ASSIGN_OR_RETURN(e.run, String(value, at, key));
      if (e.run.empty()) return Bad(at, "run", "must not be empty");
    } else if (key == "seq") {
      bit = kSeq;
      FL_ASSIGN_OR_RETURN(std::int64_t seq, Whole(value, at, key, 0, kMaxStep));
      e.seq = static_cast<std::uint64_t>(seq);
    } else if (key == "time") {
      bit = kTime;
      if (value.type() == element_type::STRING) {
        FL_ASSIGN_OR_RETURN(std::string_view text, String(value, at, key));
        auto instant = core::Instant::Parse(text);
        if (!instant) return Bad(at, "time", instant.error().message);
        e.time = static_cast<double>(instant->time().time_since_epoch().count());
      } else {
        // Up to the year 9999: anything later is a unit mistake (milliseconds given as seconds).
        FL_ASSIGN_OR_RETURN(e.time, Number(value, at, key, 253402300799.0));
      }
    } else if (key == "step") {
      bit = kStep;
      FL_ASSIGN_OR_RETURN(e.step, Whole(value, at, key, 0, kMaxStep));
    } else if (key == "tokens") {
      bit = kTokens;
      FL_ASSIGN_OR_RETURN(e.tokens, Number(value, at, key, kMaxTokensPerEvent));
    } else if (key == "flop") {
      bit = kFlop;
      FL_ASSIGN_OR_RETURN(double flop, Number(value, at, key, kMaxFlopPerEvent));
      e.flop = flop;
    } else if (key == "world_size") {
      bit = kWorldSize;
      FL_ASSIGN_OR_RETURN(std::int64_t w, Whole(value, at, key, 1, std::int64_t{1} << 32));
      e.world_size = w;
    } else if (key == "precision") {
      bit = kPrecision;
      FL_ASSIGN_OR_RETURN(e.precision, String(value, at, key));
    } else if (key == "v") {
      bit = kVersion;
      FL_ASSIGN_OR_RETURN(std::int64_t v, Whole(value, at, key, 1, 1000));
      if (v != 1) return Bad(at, "v", fmt::format("version {} is not known; this meter reads version 1", v));
    } else if (key == "sig") {
      bit = kSig;
      FL_ASSIGN_OR_RETURN(e.sig, String(value, at, key));
      if (e.sig.empty()) return Bad(at, "sig", "must not be empty");
    } else {
      return Bad(at, std::string(key),
                 "unknown key (a step event has run, seq, time, step, tokens, flop, world_size, precision, v, sig)");
    }
    if (seen & bit) return Bad(at, std::string(key), "is given twice");
    seen |= bit;
  }
  for (auto [bit, name] : {std::pair{kRun, "run"}, {kTime, "time"}, {kStep, "step"}, {kTokens, "tokens"}}) {
    if (!(seen & bit)) return Bad(at, name, "is required");
  }
  return e;
}

}  // namespace flopline::meter
