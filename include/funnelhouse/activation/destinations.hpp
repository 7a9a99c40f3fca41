#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/common/time.hpp"

namespace funnelhouse::activation {

enum class Kind { meta, google_ads, ga4, webhook, slack };

std::string_view to_string(Kind kind);

// What an order is worth to a destination.
enum class OrderValue { revenue, gross_profit };

// Where events go, read from the destinations file: a JSON list of objects
// with name, kind, starts_at, consent, what is sent (orders, refunds,
// micro_conversions) and each kind's own fields (tests/unit/
// destinations_test.cpp shows every kind). Secrets are never in the file
// itself: each names an environment variable or a file it is read from.
struct Destination {
    std::string name;
    Kind kind = Kind::webhook;
    common::timestamp starts_at{};  // nothing that happened before is sent
    std::string consent;            // the consent category without which nothing is sent

    std::vector<std::string> order_events;  // event names sent as orders
    OrderValue order_value = OrderValue::revenue;
    std::vector<std::string> refund_events;  // where the platform takes refunds
    std::vector<std::string> classes;        // micro-conversions by observed class, P0 to P3
    std::optional<double> micro_value;       // fixed; none: expected revenue per occurrence
    std::string micro_currency = "USD";      // of micro-conversions' values
    std::string phone_country_code;          // for phone numbers written without one

    std::string endpoint;  // the platform's base URL unless the file says otherwise
    std::string api_version;
    std::string pixel_id;           // meta
    std::string test_event_code;    // meta, optional
    std::string customer_id;        // google_ads
    std::string conversion_action;  // google_ads
    std::string measurement_id;     // ga4
    std::string url;                // webhook; slack (a secret: its URL holds its token)
    // Alerts (docs/alerts.md): a notice when each is raised and resolved.
    // A slack destination takes alerts only; a webhook may take both.
    bool alerts = false;
    // google_ads without API access: nothing is sent; `funnelhouse
    // conversions csv` writes the conversions for a manual upload.
    bool csv_upload = false;
    std::string conversion_name;  // google_ads CSV: the conversion's name in Google Ads

    // Resolved secrets, never logged.
    std::string access_token;     // meta, google_ads
    std::string developer_token;  // google_ads
    std::string api_secret;       // ga4
    std::string signing_key;      // webhook (Standard Webhooks; "whsec_..." decoded)
};

// Where a secret named in the file is read from: the environment, and files.
struct SecretSources {
    std::function<std::optional<std::string>(const std::string& variable)> environment;
    std::function<std::optional<std::string>(const std::string& path)> file;
};

// Parses the destinations file's text; `origin` names it in errors. Throws
// std::runtime_error naming the destination and the field at fault.
std::vector<Destination> parse_destinations(std::string_view text, std::string_view origin,
                                            const SecretSources& secrets);

// The destinations file at `file`, its secrets read from the process's
// environment and from files; none when `file` is empty. Throws
// std::runtime_error when it cannot be read or parsed.
std::vector<Destination> load_destinations(const std::filesystem::path& file);

}  // namespace funnelhouse::activation
