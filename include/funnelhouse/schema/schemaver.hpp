#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace funnelhouse::schema {

// SchemaVer: MODEL-REVISION-ADDITION. MODEL starts at 1; a MODEL bump breaks
// every consumer, a REVISION bump may break some historical data, an ADDITION
// bump is backward compatible with all data of the previous version.
struct SchemaVer {
    int model = 1;
    int revision = 0;
    int addition = 0;

    auto operator<=>(const SchemaVer&) const = default;
    std::string to_string() const;
};

// "1-0-0": decimal numbers without leading zeros, MODEL >= 1.
std::optional<SchemaVer> parse_schemaver(std::string_view text);

// Event names are snake_case: lowercase letters, digits and '_', 1-100
// characters, starting with a letter.
bool is_valid_event_name(std::string_view name);

// A pinned contract, as events name it in `context.schema`: "add_to_cart/1-0-0".
struct SchemaRef {
    std::string name;
    SchemaVer version;
};

std::optional<SchemaRef> parse_schema_ref(std::string_view text);

}  // namespace funnelhouse::schema
