#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/common/time.hpp"

namespace funnelhouse::alerts {

// What people are told about an alert (docs/alerts.md), as pure functions
// of the alert's row: a line of text for chat and the whole alert as JSON
// for programs, each with a link to the dashboard filtered to it.

// A row of the `alerts` table, as to_jsonb() writes it.
struct Alert {
    long long id = 0;
    std::string subject_type;  // event or stage
    std::string subject;
    std::string state;  // open or resolved
    std::vector<std::string> rules;
    std::string since;     // YYYY-MM-DD
    std::string last_day;  // YYYY-MM-DD
    std::string cause;
    std::string likely_cause;
    std::string summary;
    std::string json;  // the row as read, context included
};

// Throws std::invalid_argument naming what is missing or of the wrong type.
Alert parse_alert(std::string_view row_json);

// The dashboard at `base` (its URL, such as http://host:8080/dashboard)
// over the days from a week before the alert began to its latest day,
// filtered to the segment a `segment` cause names, at the alerts panel.
std::string dashboard_link(const Alert& alert, std::string_view base);

// A Slack-compatible incoming webhook's body, {"text": ...}: what happened,
// since when, the likely cause and the link; `resolved` for the notice that
// it is over. Slack's three control characters (&, <, >) are escaped.
std::string chat_body(const Alert& alert, bool resolved, std::string_view dashboard);

// A signed webhook's body: {"type": "alert.raised" or "alert.resolved",
// "timestamp", "data": the alert's row with "dashboard_url"}.
std::string webhook_body(const Alert& alert, bool resolved, std::string_view dashboard,
                         common::timestamp now);

}  // namespace funnelhouse::alerts
