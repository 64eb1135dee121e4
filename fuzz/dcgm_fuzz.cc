// dcgm-exporter telemetry (docs/meter.md "Accelerator telemetry") on arbitrary bytes: each line is
// no sample, samples within their bounds, or a bad line naming its line; fed to a session with the
// real accelerator table's shape (a small table parsed here), the bound stays finite and never
// exceeds what the GPUs could have done at their peak.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/compute/accelerators.h"
#include "flopline/meter/dcgm.h"
#include "flopline/meter/session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline;
  static const compute::AcceleratorTable table = *compute::AcceleratorTable::Parse(
      R"([[accelerator]]
id = "H100-SXM"
aliases = ["H100", "H100-80GB-HBM3"]
name = "NVIDIA H100 SXM5 80GB"
default_precision = "bf16"
peak_flops = { bf16 = 989.4e12, fp8 = 1978.9e12 }
source = "fuzz"
)",
      "fuzz.toml");
  meter::Session session(meter::AlertPolicy{});
  if (!session.AddRun({{"r1", "m", 6e9}, std::nullopt})) std::abort();
  session.set_accelerators(&table);
  meter::DcgmParser parser;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  int line = 0;
  // Odd sizes are read as a live input (samples without a timestamp are as of now).
  std::optional<double> now = size % 2 ? std::optional<double>(1767225600.0) : std::nullopt;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    auto samples = parser.Parse(text.substr(0, nl), "fuzz.prom", ++line, now);
    if (!samples) {
      if (!samples.error().where || samples.error().where->line != line) std::abort();
      session.FeedBadLine(samples.error());
    } else if (!(*samples)->empty()) {
      for (const meter::TensorSample& s : **samples) {
        if (!(s.active >= 0 && s.active <= 1) || !(s.time > 0 && s.time < 253402300800.0)) std::abort();
        if (s.gpu.empty() || s.model_name.empty()) std::abort();
      }
      session.FeedTelemetry(0, **samples, "fuzz.prom", line);
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  const meter::Telemetry& t = session.meter().run(0).telemetry;
  if (!std::isfinite(t.bound.value()) || t.bound.value() < 0) std::abort();
  if (t.bound.value() > t.peak.value() * (1 + 1e-9) + 1e-3) std::abort();
  (void)session.Report();
  return 0;
}
