// What people are told about an alert: chat text and webhook JSON.
#include "funnelhouse/alerts/notice.hpp"

#include <boost/url.hpp>
#include <nlohmann/json.hpp>

namespace funnelhouse::alerts {
namespace {

using nlohmann::json;

std::string text_of(const json& row, const char* field, bool required) {
    const auto it = row.find(field);
    if (it == row.end() || it->is_null()) {
        if (required) throw std::invalid_argument(std::string("alert: '") + field + "' is missing");
        return {};
    }
    if (!it->is_string())
        throw std::invalid_argument(std::string("alert: '") + field + "' must be a string");
    return it->get<std::string>();
}

// A day written YYYY-MM-DD moved by `days`; the day itself when it is not one.
std::string shifted_day(const std::string& day, int days) {
    const auto parsed = common::parse_timestamp(day + "T00:00:00Z");
    if (!parsed) return day;
    return common::format_timestamp(*parsed + std::chrono::hours(24) * days).substr(0, 10);
}

// Slack reads &, < and > as markup.
std::string escaped(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '&')
            out += "&amp;";
        else if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else
            out += c;
    }
    return out;
}

}  // namespace

Alert parse_alert(std::string_view row_json) {
    const auto row = json::parse(row_json, nullptr, false);
    if (!row.is_object()) throw std::invalid_argument("alert: not a JSON object");
    Alert a;
    const auto id = row.find("alert_id");
    if (id == row.end() || !id->is_number_integer())
        throw std::invalid_argument("alert: 'alert_id' must be an integer");
    a.id = id->get<long long>();
    a.subject_type = text_of(row, "subject_type", true);
    a.subject = text_of(row, "subject", true);
    a.state = text_of(row, "state", true);
    a.since = text_of(row, "since", true);
    a.last_day = text_of(row, "last_day", true);
    a.cause = text_of(row, "cause", true);
    a.likely_cause = text_of(row, "likely_cause", true);
    a.summary = text_of(row, "summary", true);
    if (const auto rules = row.find("rules"); rules != row.end() && rules->is_array())
        for (const auto& rule : *rules)
            if (rule.is_string()) a.rules.push_back(rule.get<std::string>());
    a.json = row.dump();
    return a;
}

std::string dashboard_link(const Alert& alert, std::string_view base) {
    boost::urls::url url;
    const auto parsed = boost::urls::parse_uri_reference(base);
    if (parsed) url = *parsed;
    auto params = url.params();
    params.set("from", shifted_day(alert.since, -7));
    params.set("to", alert.last_day);
    const auto row = json::parse(alert.json, nullptr, false);
    const json::json_pointer dimension("/context/segment/dimension");
    const json::json_pointer segment("/context/segment/segment");
    if (alert.cause == "segment" && row.contains(dimension) && row.contains(segment) &&
        row.at(dimension).is_string() && row.at(segment).is_string())
        params.set("segment",
                   row.at(dimension).get<std::string>() + ":" + row.at(segment).get<std::string>());
    url.set_fragment("alerts");
    return std::string(url.buffer());
}

std::string chat_body(const Alert& alert, bool resolved, std::string_view dashboard) {
    std::string text;
    if (resolved) {
        text = "Resolved: " + alert.subject + " (" + alert.subject_type + "), a problem from " +
               alert.since + " to " + alert.last_day + ".\nIt was: " + alert.summary;
    } else {
        text = "Alert: " + alert.subject + " (" + alert.subject_type + ")\n" + alert.summary +
               "\nLikely cause: " + alert.likely_cause;
    }
    text = escaped(text) + "\nDashboard: " + dashboard_link(alert, dashboard);
    return json{{"text", text}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string webhook_body(const Alert& alert, bool resolved, std::string_view dashboard,
                         common::timestamp now) {
    auto data = json::parse(alert.json, nullptr, false);
    if (!data.is_object()) data = json::object();
    data["dashboard_url"] = dashboard_link(alert, dashboard);
    const json body{{"type", resolved ? "alert.resolved" : "alert.raised"},
                    {"timestamp", common::format_timestamp(now)},
                    {"data", std::move(data)}};
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace funnelhouse::alerts
