#include "flopline/core/toml_fields.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace flopline::core {
namespace {

std::string TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "list";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "number";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "value";
  }
}

}  // namespace

Location TomlLocation(const toml::node& node, const std::string& file) {
  const auto& begin = node.source().begin;
  return Location{file, static_cast<int>(begin.line), static_cast<int>(begin.column)};
}

Result<toml::table> ParseToml(std::string_view text, const std::string& file) {
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return InvalidArgument(fmt::format("malformed TOML: {}", e.description()), {},
                                 Location{file, static_cast<int>(begin.line),
                                                static_cast<int>(begin.column)});
  }
}

Result<toml::table> ParseTomlFile(const std::string& path) {
  FL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseToml(text, path);
}

tl::unexpected<Error> TomlFields::Bad(std::string_view key, std::string message) const {
  const toml::node* node = table_.get(key);
  return InvalidArgument(std::move(message), Name(key),
                               node ? TomlLocation(*node, file_) : Where());
}

Result<void> TomlFields::OnlyKeys(std::initializer_list<std::string_view> allowed) const {
  return OnlyKeys(std::vector<std::string_view>(allowed));
}

Result<void> TomlFields::OnlyKeys(const std::vector<std::string_view>& allowed) const {
  for (const auto& [key, node] : table_) {
    bool known = false;
    for (std::string_view name : allowed) known = known || key.str() == name;
    if (!known) {
      std::string list;
      for (std::string_view name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
      return InvalidArgument(fmt::format("unknown key; expected one of: {}", list),
                                   Name(key.str()), TomlLocation(node, file_));
    }
  }
  return Ok();
}

Result<std::optional<std::string>> TomlFields::OptionalString(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (!node) return std::optional<std::string>();
  if (!node->is_string()) return Bad(key, fmt::format("expected a string, got a {}", TypeName(*node)));
  return std::optional<std::string>(node->as_string()->get());
}

Result<std::string> TomlFields::StringOr(std::string_view key, std::string fallback) const {
  FL_ASSIGN_OR_RETURN(auto value, OptionalString(key));
  return value ? *value : std::move(fallback);
}

Result<std::string> TomlFields::String(std::string_view key) const {
  FL_ASSIGN_OR_RETURN(auto value, OptionalString(key));
  if (!value) return Bad(key, "is required and missing");
  return *value;
}

Result<std::optional<double>> TomlFields::OptionalPositive(std::string_view key,
                                                                bool allow_zero) const {
  const toml::node* node = table_.get(key);
  if (!node) return std::optional<double>();
  double value = 0;
  if (node->is_integer()) {
    value = static_cast<double>(node->as_integer()->get());
  } else if (node->is_floating_point()) {
    value = node->as_floating_point()->get();
  } else {
    return Bad(key, fmt::format("expected a number, got a {}", TypeName(*node)));
  }
  if (!std::isfinite(value) || value < 0 || (value == 0 && !allow_zero)) {
    return Bad(key, fmt::format("must be {}, got {}", allow_zero ? "zero or more" : "positive", value));
  }
  return std::optional<double>(value);
}

Result<double> TomlFields::Positive(std::string_view key, bool allow_zero) const {
  FL_ASSIGN_OR_RETURN(auto value, OptionalPositive(key, allow_zero));
  if (!value) return Bad(key, "is required and missing");
  return *value;
}

Result<std::optional<bool>> TomlFields::OptionalBool(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (!node) return std::optional<bool>();
  if (!node->is_boolean()) return Bad(key, fmt::format("expected true or false, got a {}", TypeName(*node)));
  return std::optional<bool>(node->as_boolean()->get());
}

Result<std::optional<Date>> TomlFields::OptionalDate(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (!node) return std::optional<Date>();
  if (node->is_date()) {
    toml::date d = node->as_date()->get();
    Date date = Date::FromYmd(d.year, d.month, d.day);
    if (!date.ymd().ok()) return Bad(key, "is not a real calendar date");
    return std::optional<Date>(date);
  }
  if (node->is_string()) {
    auto parsed = Date::Parse(node->as_string()->get());
    if (!parsed) return Bad(key, parsed.error().message);
    return std::optional<Date>(*parsed);
  }
  return Bad(key, fmt::format("expected a date (YYYY-MM-DD), got a {}", TypeName(*node)));
}

Result<Date> TomlFields::RequiredDate(std::string_view key) const {
  FL_ASSIGN_OR_RETURN(auto value, OptionalDate(key));
  if (!value) return Bad(key, "is required and missing");
  return *value;
}

Result<std::vector<std::string>> TomlFields::Strings(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (!node) return Bad(key, "is required and missing");
  const toml::array* array = node->as_array();
  if (!array) return Bad(key, fmt::format("expected a list of strings, got a {}", TypeName(*node)));
  std::vector<std::string> out;
  for (const toml::node& item : *array) {
    if (!item.is_string()) return Bad(key, "expected a list of strings");
    out.push_back(item.as_string()->get());
  }
  return out;
}

Result<void> ForEachTable(const toml::table& root, std::string_view key, const std::string& file,
                          bool required,
                          const std::function<Result<void>(const TomlFields&, const toml::table&)>& each,
                          std::string_view parent) {
  const toml::array* array = root[key].as_array();
  if (!array || array->empty()) {
    if (!required) return Ok();
    return InvalidArgument(fmt::format("has no [[{}]] tables", key),
                           parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key), Location{file, 0, 0});
  }
  int index = 0;
  for (const toml::node& node : *array) {
    std::string prefix = parent.empty() ? fmt::format("{}[{}]", key, index++)
                                        : fmt::format("{}.{}[{}]", parent, key, index++);
    const toml::table* table = node.as_table();
    if (!table) return InvalidArgument("expected a table", prefix, TomlLocation(node, file));
    FL_RETURN_IF_ERROR(each(TomlFields(*table, file, prefix), *table));
  }
  return Ok();
}

}  // namespace flopline::core
