#include "json_location.h"

namespace flopline::compute {
namespace {

// A forgiving scanner over JSON text: it assumes the text parsed and only skips values.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  // Searches the value starting at the cursor for path[depth..]; returns the key's offset or npos.
  std::size_t Find(const std::vector<std::string>& path, std::size_t depth) {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '{') {
      SkipValue();
      return std::string_view::npos;
    }
    ++pos_;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] == '}') {
        ++pos_;
        return std::string_view::npos;
      }
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      std::size_t key_start = pos_;
      std::string_view key = ReadString();
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ':') ++pos_;
      if (key == path[depth]) {
        if (depth + 1 == path.size()) return key_start;
        std::size_t found = Find(path, depth + 1);
        if (found != std::string_view::npos) return found;
      } else {
        SkipValue();
      }
    }
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }

  // Reads "..." at the cursor and returns its raw contents (escapes left as written).
  std::string_view ReadString() {
    if (pos_ >= text_.size() || text_[pos_] != '"') return {};
    std::size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') pos_ += (text_[pos_] == '\\') ? 2 : 1;
    std::size_t end = pos_ < text_.size() ? pos_ : text_.size();
    ++pos_;
    return text_.substr(start, end - start);
  }

  void SkipValue() {
    SkipSpace();
    int depth = 0;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        ReadString();
        if (depth == 0) return;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (depth == 0) return;  // the end of the enclosing container
        if (--depth == 0) {
          ++pos_;
          return;
        }
      }
      if (c == ',' && depth == 0) return;
      ++pos_;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

core::Location OffsetToLocation(std::string_view text, std::size_t offset, std::string file) {
  core::Location loc{std::move(file), 1, 1};
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++loc.line;
      loc.column = 1;
    } else {
      ++loc.column;
    }
  }
  return loc;
}

core::Location LocateKey(std::string_view text, const std::vector<std::string>& path,
                         std::string file) {
  if (path.empty()) return core::Location{std::move(file), 0, 0};
  Scanner scanner(text);
  std::size_t offset = scanner.Find(path, 0);
  if (offset == std::string_view::npos) return core::Location{std::move(file), 0, 0};
  return OffsetToLocation(text, offset, std::move(file));
}

}  // namespace flopline::compute
