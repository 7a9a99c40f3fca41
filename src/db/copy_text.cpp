#include "funnelhouse/db/copy_text.hpp"

namespace funnelhouse::db {

void CopyRow::separate() {
    if (!first_) line_.push_back('\t');
    first_ = false;
}

namespace {

// The escape of a byte COPY's text format gives a meaning to, else null.
const char* escape_of(char c) {
    switch (c) {
        case '\\':
            return "\\\\";
        case '\t':
            return "\\t";
        case '\n':
            return "\\n";
        case '\r':
            return "\\r";
        default:
            return nullptr;
    }
}

}  // namespace

// Runs of ordinary bytes are appended whole: most values hold no byte to
// escape at all.
void CopyRow::field(std::string_view value) {
    separate();
    std::size_t run = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char* escaped = escape_of(value[i]);
        if (!escaped) continue;
        line_.append(value, run, i - run);
        line_ += escaped;
        run = i + 1;
    }
    line_.append(value, run, value.size() - run);
}

void CopyRow::null() {
    separate();
    line_ += "\\N";
}

void CopyRow::field_or_null(const std::optional<std::string>& value) {
    if (value)
        field(std::string_view{*value});
    else
        null();
}

}  // namespace funnelhouse::db
