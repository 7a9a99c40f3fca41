#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The dashboard's JSON endpoints, as pure functions: which panels exist,
// which model and SQL function each reads, and how a query string becomes
// a filter. docs/dashboard.md describes them for users.
namespace funnelhouse::dashboard {

// GET /api/dashboard/<name>: rows of models.dashboard_<name>(...).
struct Panel {
    std::string_view name;
    std::string_view model;  // the model the numbers come from
    std::string_view docs;   // the docs page and section that define them
    bool takes_limit = false;
};

const std::vector<Panel>& panels();
const Panel* find_panel(std::string_view name);

// A date range (UTC days, inclusive) and a segment: every panel follows it.
struct Filter {
    std::string from;              // YYYY-MM-DD, or empty for no bound
    std::string to;                // YYYY-MM-DD, or empty for no bound
    std::string dimension = "all";  // all, channel or device_type
    std::string segment;           // the channel or device type
    int limit = 25;                // segments per dimension (the segments panel)
};

inline constexpr std::size_t kMaxSegmentBytes = 200;
inline constexpr int kMaxLimit = 1000;

// Parses a query string (without the '?'): from, to, segment ("all",
// "channel:<name>" or "device_type:<name>") and limit. Unknown or repeated
// parameters, bad dates, from after to and values out of range are refused
// with a message naming the parameter; `error` is empty on success.
struct ParsedFilter {
    Filter filter;
    std::string error;
};
ParsedFilter parse_filter(std::string_view query);

// Decodes %XX and '+' of a query-string component; nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view text);

// The statement that reads a panel: one row, one column, the rows as a JSON
// array. Its parameters are from, to, dimension, segment (and limit), as
// text ("" for no bound).
std::string panel_sql(const Panel& panel);
std::vector<std::string> panel_parameters(const Panel& panel, const Filter& filter);

// The answer: {"panel", "model", "docs", "filter", "rows"}, `rows` being the
// JSON array the database produced.
std::string panel_body(const Panel& panel, const Filter& filter, std::string_view rows_json);

}  // namespace funnelhouse::dashboard
