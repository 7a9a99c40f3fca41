#pragma once

#include <string>
#include <string_view>

namespace funnelhouse::db {

// A text[] literal, {"a","b"}, of `text(item)` for each item, with quotes
// and backslashes escaped: a parameter for `= ANY($1::text[])`.
template <class Range, class Text>
std::string text_array(const Range& items, Text text) {
    std::string out = "{";
    for (const auto& item : items) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (const char c : std::string_view(text(item))) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

}  // namespace funnelhouse::db
