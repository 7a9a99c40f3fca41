// A contract's schema compiled for the common answer: "valid". Contracts use
// a small part of JSON Schema (types, properties, required, lengths, bounds,
// string enums, items); a schema within that part compiles into a tree of
// rules checked straight on the parsed message, without building adapters,
// contexts or error texts. It answers only "certainly valid" or "ask
// valijson": every rejection, with its wording, still comes from valijson.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace funnelhouse::schema {

struct QuickRule;

// A named member's rule (an object's `properties`).
struct QuickProperty {
    std::string name;
    std::shared_ptr<const QuickRule> rule;
};

struct QuickRule {
    unsigned types = 0;  // bits of QuickType; 0: any type
    std::optional<std::size_t> min_length, max_length;
    std::optional<double> minimum, maximum;
    bool has_enum = false;
    std::vector<std::string> enum_strings;
    // Objects: the rules of named members (sorted by name), the names that
    // must be present, and whether other members are allowed.
    std::vector<QuickProperty> properties;
    std::vector<std::string> required;
    bool additional_allowed = true;
    // Arrays.
    std::shared_ptr<const QuickRule> items;
    std::optional<std::size_t> min_items, max_items;
};

// nullopt when the schema uses anything outside the part compiled here.
std::optional<QuickRule> compile_quick(const nlohmann::json& schema);

// True only when valijson would find nothing wrong with `value`; false when
// it might (it then decides). Formats are not looked at (checked apart).
bool quickly_valid(const QuickRule& rule, simdjson::dom::element value);

}  // namespace funnelhouse::schema
