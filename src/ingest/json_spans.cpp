#include "funnelhouse/ingest/json_spans.hpp"

#include <nlohmann/json.hpp>

namespace funnelhouse::ingest {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_space(std::string_view text, std::size_t pos) {
    while (pos < text.size() && is_space(text[pos])) ++pos;
    return pos;
}

// pos at the opening quote; returns the position after the closing quote.
std::size_t skip_string(std::string_view text, std::size_t pos) {
    ++pos;
    while (pos < text.size()) {
        const char c = text[pos];
        if (c == '\\') {
            pos += 2;
        } else if (c == '"') {
            return pos + 1;
        } else {
            ++pos;
        }
    }
    return text.size();
}

// Returns the position just after the value starting at pos.
std::size_t skip_value(std::string_view text, std::size_t pos) {
    if (pos >= text.size()) return pos;
    const char first = text[pos];
    if (first == '"') return skip_string(text, pos);
    if (first == '{' || first == '[') {
        std::size_t depth = 0;
        while (pos < text.size()) {
            const char c = text[pos];
            if (c == '"') {
                pos = skip_string(text, pos);
                continue;
            }
            if (c == '{' || c == '[') ++depth;
            if (c == '}' || c == ']') {
                if (--depth == 0) return pos + 1;
            }
            ++pos;
        }
        return pos;
    }
    // number, true, false, null
    while (pos < text.size() && text[pos] != ',' && text[pos] != '}' && text[pos] != ']' &&
           !is_space(text[pos]))
        ++pos;
    return pos;
}

bool key_equals(std::string_view quoted_key, std::string_view member) {
    const auto inner = quoted_key.substr(1, quoted_key.size() - 2);
    if (inner.find('\\') == std::string_view::npos) return inner == member;
    const auto decoded = nlohmann::json::parse(quoted_key, nullptr, false);
    return decoded.is_string() && decoded.get_ref<const std::string&>() == member;
}

}  // namespace

std::optional<std::vector<std::string_view>> array_member_spans(std::string_view text,
                                                                std::string_view member) {
    std::size_t pos = skip_space(text, 0);
    if (pos >= text.size() || text[pos] != '{') return std::nullopt;
    ++pos;
    std::optional<std::vector<std::string_view>> found;
    while (true) {
        pos = skip_space(text, pos);
        if (pos >= text.size() || text[pos] == '}') break;
        if (text[pos] == ',') {
            ++pos;
            continue;
        }
        if (text[pos] != '"') return std::nullopt;
        const std::size_t key_start = pos;
        pos = skip_string(text, pos);
        const auto key = text.substr(key_start, pos - key_start);
        pos = skip_space(text, pos);
        if (pos >= text.size() || text[pos] != ':') return std::nullopt;
        pos = skip_space(text, pos + 1);
        const std::size_t value_start = pos;
        // Like the DOM parser, the last occurrence of a duplicated key wins.
        if (key_equals(key, member)) {
            if (pos >= text.size() || text[pos] != '[') {
                found.reset();
                pos = skip_value(text, pos);
                continue;
            }
            std::vector<std::string_view> elements;
            ++pos;
            while (true) {
                pos = skip_space(text, pos);
                if (pos >= text.size()) return std::nullopt;
                if (text[pos] == ']') {
                    ++pos;
                    break;
                }
                if (text[pos] == ',') {
                    ++pos;
                    continue;
                }
                const std::size_t element_start = pos;
                pos = skip_value(text, pos);
                elements.push_back(text.substr(element_start, pos - element_start));
            }
            found = std::move(elements);
        } else {
            pos = skip_value(text, value_start);
        }
    }
    return found;
}

}  // namespace funnelhouse::ingest
