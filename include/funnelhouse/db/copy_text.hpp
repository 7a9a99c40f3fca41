#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace funnelhouse::db {

// Builds one line of PostgreSQL's COPY text format: fields separated by tabs,
// `\N` for NULL, and backslash, tab, newline and carriage return escaped.
// UTF-8 passes through untouched (its bytes never collide with these ASCII
// delimiters). The buffer is reused across rows.
class CopyRow {
  public:
    void clear() {
        line_.clear();
        first_ = true;
    }
    void field(std::string_view value);
    void field_or_null(const std::optional<std::string>& value);
    void null();
    const std::string& line() const { return line_; }

  private:
    void separate();
    std::string line_;
    bool first_ = true;
};

}  // namespace funnelhouse::db
