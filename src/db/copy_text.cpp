#include "funnelhouse/db/copy_text.hpp"

namespace funnelhouse::db {

void CopyRow::separate() {
    if (!first_) line_.push_back('\t');
    first_ = false;
}

void CopyRow::field(std::string_view value) {
    separate();
    for (char c : value) {
        switch (c) {
            case '\\':
                line_ += "\\\\";
                break;
            case '\t':
                line_ += "\\t";
                break;
            case '\n':
                line_ += "\\n";
                break;
            case '\r':
                line_ += "\\r";
                break;
            default:
                line_.push_back(c);
        }
    }
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
