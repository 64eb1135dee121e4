// File: flopline/core/toml_fields.h
//
// Typed reads from a toml++ table with errors at file:line:column naming the field, and rejection of
// keys the format does not define (a misspelt key must not be silently ignored).
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "flopline/core/date.h"
#include "flopline/core/result.h"

namespace flopline::core {

Location TomlLocation(const toml::node& node, const std::string& file);

// Parses TOML text; a syntax error is kInvalidArgument at its line and column.
Result<toml::table> ParseToml(std::string_view text, const std::string& file);
Result<toml::table> ParseTomlFile(const std::string& path);

class TomlFields {
 public:
  // `prefix` names the table in messages, e.g. "accelerator[3]".
  TomlFields(const toml::table& table, std::string file, std::string prefix)
      : table_(table), file_(std::move(file)), prefix_(std::move(prefix)) {}

  // Every key of the table must be in `allowed`.
  Result<void> OnlyKeys(std::initializer_list<std::string_view> allowed) const;
  Result<void> OnlyKeys(const std::vector<std::string_view>& allowed) const;

  Result<std::string> String(std::string_view key) const;
  Result<std::optional<std::string>> OptionalString(std::string_view key) const;
  Result<std::string> StringOr(std::string_view key, std::string fallback) const;
  // A finite number (integer or float) strictly greater than zero unless allow_zero.
  Result<std::optional<double>> OptionalPositive(std::string_view key, bool allow_zero = false) const;
  Result<double> Positive(std::string_view key, bool allow_zero = false) const;
  Result<std::optional<bool>> OptionalBool(std::string_view key) const;
  Result<std::optional<Date>> OptionalDate(std::string_view key) const;
  Result<Date> RequiredDate(std::string_view key) const;
  Result<std::vector<std::string>> Strings(std::string_view key) const;

  tl::unexpected<Error> Bad(std::string_view key, std::string message) const;
  Location Where() const { return TomlLocation(table_, file_); }
  // The full name of `key` in messages, e.g. "accelerator[3].peak_flops".
  std::string Name(std::string_view key) const { return prefix_ + "." + std::string(key); }
  const std::string& file() const { return file_; }
  const std::string& prefix() const { return prefix_; }  // e.g. "model[0]"

 private:
  const toml::table& table_;
  std::string file_;
  std::string prefix_;
};

// Calls `each` for every table of the array of tables `key` ([[key]]) in `root`, with fields named
// "key[i]" (or "parent.key[i]"). An entry that is not a table is an error at its line; so is an
// absent or empty array when `required`.
Result<void> ForEachTable(const toml::table& root, std::string_view key, const std::string& file,
                          bool required,
                          const std::function<Result<void>(const TomlFields&, const toml::table&)>& each,
                          std::string_view parent = {});

}  // namespace flopline::core
