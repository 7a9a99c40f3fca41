#include "funnelhouse/dashboard/query.hpp"

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "funnelhouse/common/utf8.hpp"

namespace funnelhouse::dashboard {

const std::vector<Panel>& panels() {
    static const std::vector<Panel> list = {
        {"overview", "models.horizon", "dashboard.md#the-page"},
        {"filters", "models.person_firsts", "dashboard.md#filters"},
        {"volume", "models.tracking_health", "dashboard.md#tracking-health"},
        {"tracking", "models.tracking_health", "dashboard.md#tracking-health"},
        {"rejections", "models.tracking_health", "dashboard.md#tracking-health"},
        {"alerts", "models.tracking_health", "dashboard.md#tracking-health"},
        {"alert_history", "alerts", "dashboard.md#tracking-health"},
        {"value", "models.event_value", "dashboard.md#value"},
        {"segments", "models.cohort_ltv", "dashboard.md#value-by-segment", true},
        {"funnel", "models.funnel", "dashboard.md#funnel"},
        {"experiments", "models.experiment_guardrails", "dashboard.md#experiments"},
        {"deliveries", "deliveries", "dashboard.md#deliveries"},
        {"dictionary", "models.event_value", "dashboard.md#the-data-dictionary"},
        {"paths", "models.paths", "dashboard.md#journeys"},
        {"path_comparison", "models.path_comparison", "dashboard.md#journeys"},
        {"drop_off", "models.drop_off", "dashboard.md#journeys"},
        {"time_to_convert", "models.time_to_convert", "dashboard.md#journeys"},
        {"experiment_priorities", "models.experiment_priorities", "dashboard.md#journeys"},
    };
    return list;
}

const Panel* find_panel(std::string_view name) {
    for (const auto& panel : panels())
        if (panel.name == name) return &panel;
    return nullptr;
}

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            unsigned value = 0;
            const auto* first = text.data() + i + 1;
            const auto [end, ec] = std::from_chars(first, first + 2, value, 16);
            if (ec != std::errc{} || end != first + 2) return std::nullopt;
            out.push_back(static_cast<char>(value));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

namespace {

// A real calendar day written YYYY-MM-DD.
bool is_day(const std::string& text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
    int parts[3] = {0, 0, 0};
    const std::pair<int, int> spans[3] = {{0, 4}, {5, 2}, {8, 2}};
    for (int i = 0; i < 3; ++i) {
        const auto* first = text.data() + spans[i].first;
        const auto* last = first + spans[i].second;
        const auto [end, ec] = std::from_chars(first, last, parts[i]);
        if (ec != std::errc{} || end != last) return false;
    }
    const std::chrono::year_month_day day{std::chrono::year{parts[0]},
                                          std::chrono::month{static_cast<unsigned>(parts[1])},
                                          std::chrono::day{static_cast<unsigned>(parts[2])}};
    return day.ok() && parts[0] >= 1970 && parts[0] <= 9999;
}

// Printable UTF-8: what a segment name can be.
bool printable(const std::string& text) {
    for (const unsigned char c : text)
        if (c < 0x20 || c == 0x7f) return false;
    return common::invalid_utf8_offsets(text).empty();
}

}  // namespace

ParsedFilter parse_filter(std::string_view query) {
    ParsedFilter parsed;
    auto& filter = parsed.filter;
    bool seen[4] = {false, false, false, false};
    const auto fail = [&parsed](std::string message) {
        parsed.error = std::move(message);
        return parsed;
    };
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const auto raw_name = pair.substr(0, eq);
        const auto raw_value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        const auto name = percent_decode(raw_name);
        const auto value = percent_decode(raw_value);
        if (!name || !value) return fail("malformed percent-encoding in the query string");
        static constexpr std::string_view known[4] = {"from", "to", "segment", "limit"};
        int index = -1;
        for (int i = 0; i < 4; ++i)
            if (*name == known[i]) index = i;
        if (index < 0)
            return fail("unknown parameter '" + name->substr(0, 40) +
                        "': use from, to (YYYY-MM-DD), segment and limit");
        if (seen[index]) return fail("parameter '" + *name + "' is given twice");
        seen[index] = true;
        if (index <= 1) {
            if (!value->empty() && !is_day(*value))
                return fail("'" + *name + "' must be a day written YYYY-MM-DD, got '" +
                            value->substr(0, 40) + "'");
            (index == 0 ? filter.from : filter.to) = *value;
        } else if (index == 2) {
            if (value->empty() || *value == "all") continue;
            const auto colon = value->find(':');
            const auto dimension = value->substr(0, colon);
            if (colon == std::string::npos || (dimension != "channel" && dimension != "device_type"))
                return fail("'segment' must be all, channel:<name> or device_type:<name>");
            auto segment = value->substr(colon + 1);
            if (segment.empty() || segment.size() > kMaxSegmentBytes || !printable(segment))
                return fail("'segment' names a " + dimension + " of 1 to " +
                            std::to_string(kMaxSegmentBytes) + " printable characters");
            filter.dimension = dimension;
            filter.segment = std::move(segment);
        } else {
            int limit = 0;
            const auto* first = value->data();
            const auto [end, ec] = std::from_chars(first, first + value->size(), limit);
            if (ec != std::errc{} || end != first + value->size() || limit < 1 || limit > kMaxLimit)
                return fail("'limit' must be a whole number from 1 to " + std::to_string(kMaxLimit));
            filter.limit = limit;
        }
    }
    if (!filter.from.empty() && !filter.to.empty() && filter.from > filter.to)
        return fail("'from' (" + filter.from + ") is after 'to' (" + filter.to + ")");
    return parsed;
}

std::string panel_sql(const Panel& panel) {
    return "SELECT coalesce(json_agg(r), '[]')::text FROM models.dashboard_" +
           std::string(panel.name) + "(nullif($1, '')::date, nullif($2, '')::date, $3, nullif($4, '')" +
           (panel.takes_limit ? ", $5::integer" : "") + ") r";
}

std::vector<std::string> panel_parameters(const Panel& panel, const Filter& filter) {
    std::vector<std::string> parameters{filter.from, filter.to, filter.dimension, filter.segment};
    if (panel.takes_limit) parameters.push_back(std::to_string(filter.limit));
    return parameters;
}

std::string panel_body(const Panel& panel, const Filter& filter, std::string_view rows_json) {
    using ordered = nlohmann::ordered_json;
    ordered applied = {
        {"from", filter.from.empty() ? ordered() : ordered(filter.from)},
        {"to", filter.to.empty() ? ordered() : ordered(filter.to)},
        {"segment", filter.dimension == "all" ? std::string{"all"}
                                              : filter.dimension + ":" + filter.segment}};
    if (panel.takes_limit) applied["limit"] = filter.limit;
    ordered head = {{"panel", panel.name},
                    {"model", panel.model},
                    {"docs", "docs/" + std::string(panel.docs)},
                    {"filter", applied}};
    // The rows are spliced in as PostgreSQL wrote them: parsing and
    // re-serializing would only cost time.
    auto text = head.dump(-1, ' ', false, ordered::error_handler_t::replace);
    text.pop_back();
    text += ",\"rows\":";
    text += rows_json;
    text += '}';
    return text;
}

}  // namespace funnelhouse::dashboard
