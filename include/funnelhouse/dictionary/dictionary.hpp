#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "funnelhouse/schema/registry.hpp"

// The data dictionary (docs/dashboard.md, "The data dictionary"): every event the contracts
// define, as people who do not read JSON Schema need it, with what the
// database observed of it. Pure functions: the entries from the contracts,
// the facts from the rows of the dictionary panel, and three renderings.
namespace funnelhouse::dictionary {

struct Property {
    std::string name;
    std::string type;  // "string", "integer", "array of object", ...
    bool required = false;
    std::vector<std::string> allowed;  // its enum, each value as JSON
    std::string limits;                // "1 to 100 characters", "at least 0", "format email"
    std::string description;
};

struct Version {
    std::string version;
    std::vector<std::string> changes;  // against the version before it
};

// What the database observed in the 7 days up to `up_to`.
struct Facts {
    std::string up_to;  // YYYY-MM-DD, the last day anything was received
    long long events = 0;
    long long rejected = 0;
    std::vector<std::pair<std::string, long long>> reasons;  // most common first
    std::string observed_class;                              // empty: not measured
    std::optional<double> uplift, uplift_low, uplift_high;   // 90-day gross profit
};

struct Entry {
    std::string name;
    std::string kind;     // track, page, screen, identify, group or alias
    std::string version;  // the newest
    schema::ContractMeta meta;
    std::vector<Property> properties;
    std::vector<Version> versions;  // oldest first
    std::string example;            // a whole message, JSON
    std::string example_problem;    // empty when its payload validates
    std::optional<Facts> facts;
};

// One entry per event name, from its newest contract, ordered by funnel
// stage (the funnel's order; events without one last), then by name.
std::vector<Entry> entries(const schema::SchemaRegistry& registry);

// The properties of a contract's schema, required ones first.
std::vector<Property> properties_of(const nlohmann::json& schema);

// What changed from one version of a contract to the next, in words.
std::vector<std::string> changes(const schema::Contract& before, const schema::Contract& after);

// A value the schema accepts, built from it: its examples, default, const
// or first enum value, else the simplest value of its type within its
// bounds, and for an object its required properties (all of them when
// `all_properties`).
nlohmann::json example_value(const nlohmann::json& schema, bool all_properties);

// Sets each entry's facts from the dictionary panel's rows (JSON array);
// throws std::invalid_argument when they cannot be read.
void add_facts(std::vector<Entry>& entries, std::string_view rows_json);

// The dictionary as an HTML fragment (for the page at /dictionary), a
// whole HTML document, Markdown (for a pull request), or CSV (one row per
// property; an event without properties has one row of its own).
std::string html_fragment(const std::vector<Entry>& entries);
std::string html_document(const std::vector<Entry>& entries);
std::string markdown(const std::vector<Entry>& entries);
std::string csv(const std::vector<Entry>& entries);

}  // namespace funnelhouse::dictionary
