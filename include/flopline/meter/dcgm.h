// File: flopline/meter/dcgm.h
//
// Accelerator telemetry as meter input (`flopline meter watch --input-format dcgm`, `--telemetry
// RUN=FILE`): NVIDIA dcgm-exporter's DCGM_FI_PROF_PIPE_TENSOR_ACTIVE, the ratio of cycles each GPU's
// tensor pipe was active, from which the meter bounds the run's hardware FLOP (tensor-active x the
// accelerator's peak x the time between samples, summed over GPUs; meter.h). Two forms, told apart
// line by line (docs/meter.md "Accelerator telemetry" names the versions followed):
//
//  - Prometheus text exposition (format 0.0.4), as dcgm-exporter serves it on /metrics, scrapes
//    appended one after another:
//      DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="0",UUID="GPU-8a3e...",device="nvidia0",
//        modelName="NVIDIA H100 80GB HBM3",Hostname="node-17",DCGM_FI_DRIVER_VERSION="550.54.15"} 0.734 [ms]
//    (one line). The sample's time is its timestamp in milliseconds when it has one, else the time
//    the line was read (`read_time`, given only while an input is followed live). Comments (# HELP,
//    # TYPE) and other metrics are not samples: skipped.
//  - JSON: one response of the Prometheus HTTP API (/api/v1/query or /api/v1/query_range) per line,
//      {"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":
//       "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE","UUID":"GPU-...","modelName":"...",...},
//       "value":[1767225600.5,"0.734"]}]}}
//    ("matrix": "values" lists [time, "value"] pairs). Results of another metric are skipped.
//
// A GPU is its UUID label, else Hostname and gpu together. modelName is required (the peak is found
// by it). A MIG instance (a GPU_I_ID label) is refused: its share of the peak is not in the tables.
//
// Thread safety: a DcgmParser is used by one thread at a time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"

namespace flopline::meter {

inline constexpr std::string_view kTensorActiveMetric = "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE";
// A Prometheus API answer carries every GPU of a cluster on one line (some 300 bytes each).
inline constexpr std::size_t kMaxTelemetryLineBytes = 16 << 20;

struct TensorSample {
  std::string gpu;         // the UUID label, or "Hostname/gpu"
  std::string model_name;  // the modelName label, e.g. "NVIDIA H100 80GB HBM3"
  double time = 0;         // seconds since the Unix epoch, UTC
  double active = 0;       // tensor-pipe active ratio, [0, 1]
};

class DcgmParser {
 public:
  // The tensor-active samples on one line (without its newline): none for a comment, another
  // metric or a result of another metric (the line is not a sample line: not counted as read).
  // Errors (kInvalidArgument) name `file`:`line_number` and the field (a label such as modelName,
  // "value", "timestamp", "labels", "status", "data", ...), and nothing is returned of the line.
  // The vector is the parser's own, valid until the next Parse.
  core::Result<const std::vector<TensorSample>*> Parse(std::string_view line, const std::string& file,
                                                       int line_number, std::optional<double> read_time);

 private:
  core::Result<void> ParseText(std::string_view line, const std::string& file, int line_number,
                               std::optional<double> read_time);
  core::Result<void> ParseJson(std::string_view line, const std::string& file, int line_number);
  std::vector<TensorSample> samples_;
};

}  // namespace flopline::meter
