// File: flopline/compute/family.h
//
// Architectures as data. Each file of data/architectures/ describes one family of Hugging Face
// model_types: which config.json keys it reads (with transformers' defaults), and how they map to
// the canonical block of architecture.h (embedding and head, attention, MLP, MoE, norms, per-layer
// overrides). A new Llama-like family is a new file, not a recompile. The format is
// docs/flops.md § "Adding a family".
//
// The shipped files are compiled into the library (FamilyCatalog::Shipped()), so every caller and
// every test counts the same way; the CLI reads the data directory's copy instead when it has one
// (FamilyCatalog::LoadDir), which is how a user adds a family without rebuilding.
//
// Errors are kInvalidArgument at the family file's line and column, naming the key.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"

namespace flopline::compute {

struct Family;  // the parsed description; opaque outside the compute module

class FamilyCatalog {
 public:
  // The files of data/architectures/ as they were when flopline was built.
  static const FamilyCatalog& Shipped();
  // Every *.toml of `dir`, in name order. Two files claiming one model_type is an error.
  static core::Result<FamilyCatalog> LoadDir(const std::string& dir);
  // One family file's text; `file_name` is for messages.
  static core::Result<FamilyCatalog> Parse(std::string_view text, const std::string& file_name);

  const Family* Find(std::string_view model_type) const;
  // Every model_type described, sorted.
  std::vector<std::string> ModelTypes() const;
  // The known model_types nearest to `model_type` by edit distance, closest first (at most `n`).
  std::vector<std::string> Closest(std::string_view model_type, std::size_t n) const;
  std::size_t size() const { return families_.size(); }

 private:
  core::Result<void> Add(std::shared_ptr<const Family> family);
  std::vector<std::shared_ptr<const Family>> families_;
};

}  // namespace flopline::compute
