#include "funnelhouse/schema/schemaver.hpp"

namespace funnelhouse::schema {
namespace {

std::optional<int> parse_number(std::string_view text) {
    if (text.empty() || text.size() > 6) return std::nullopt;
    if (text.size() > 1 && text[0] == '0') return std::nullopt;
    int value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

}  // namespace

std::string SchemaVer::to_string() const {
    return std::to_string(model) + '-' + std::to_string(revision) + '-' + std::to_string(addition);
}

std::optional<SchemaVer> parse_schemaver(std::string_view text) {
    const auto first = text.find('-');
    if (first == std::string_view::npos) return std::nullopt;
    const auto second = text.find('-', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    const auto model = parse_number(text.substr(0, first));
    const auto revision = parse_number(text.substr(first + 1, second - first - 1));
    const auto addition = parse_number(text.substr(second + 1));
    if (!model || !revision || !addition || *model < 1) return std::nullopt;
    return SchemaVer{*model, *revision, *addition};
}

bool is_valid_event_name(std::string_view name) {
    if (name.empty() || name.size() > 100) return false;
    if (name[0] < 'a' || name[0] > 'z') return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

std::optional<SchemaRef> parse_schema_ref(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const auto name = text.substr(0, slash);
    if (!is_valid_event_name(name)) return std::nullopt;
    const auto version = parse_schemaver(text.substr(slash + 1));
    if (!version) return std::nullopt;
    return SchemaRef{std::string{name}, *version};
}

}  // namespace funnelhouse::schema
