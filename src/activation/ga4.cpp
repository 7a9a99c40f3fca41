// GA4's Measurement Protocol request body, checked against GA4's rules.
#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "funnelhouse/activation/platforms.hpp"

namespace funnelhouse::activation {
namespace {

constexpr std::size_t kNameMax = 40;
constexpr std::size_t kValueMax = 100;

constexpr std::array<std::string_view, 3> kReservedPrefixes = {"ga_", "google_", "firebase_"};

// Event names GA4 keeps for itself.
constexpr std::array<std::string_view, 32> kReservedEvents = {"ad_activeview",
                                                              "ad_click",
                                                              "ad_exposure",
                                                              "ad_impression",
                                                              "ad_query",
                                                              "ad_reward",
                                                              "adunit_exposure",
                                                              "app_background",
                                                              "app_clear_data",
                                                              "app_exception",
                                                              "app_remove",
                                                              "app_store_refund",
                                                              "app_store_subscription_cancel",
                                                              "app_store_subscription_convert",
                                                              "app_store_subscription_renew",
                                                              "app_update",
                                                              "app_upgrade",
                                                              "dynamic_link_app_open",
                                                              "dynamic_link_app_update",
                                                              "dynamic_link_first_open",
                                                              "error",
                                                              "first_open",
                                                              "first_visit",
                                                              "in_app_purchase",
                                                              "notification_dismiss",
                                                              "notification_foreground",
                                                              "notification_open",
                                                              "notification_receive",
                                                              "os_update",
                                                              "session_start",
                                                              "session_start_with_rollout",
                                                              "user_engagement"};

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Why GA4 would drop the event, if it would.
std::optional<std::string> ga4_refusal(const Conversion& c, const std::string& client_id,
                                       common::timestamp now) {
    if (c.ga_client_id != client_id)
        return "client_id: not this request's (one request per GA4 client id)";
    if (auto error = ga4_name_error(c.event_name, true)) return "event name: " + *error;
    if (c.order_id && c.order_id->size() > kValueMax)
        return "transaction_id: longer than " + std::to_string(kValueMax) + " characters";
    if (c.currency && c.currency->size() > kValueMax)
        return "currency: longer than " + std::to_string(kValueMax) + " characters";
    if (c.occurred_at < now - std::chrono::hours(72))
        return "timestamp_micros: more than 72 hours ago, which GA4 drops";
    return std::nullopt;
}

}  // namespace

std::optional<std::string> ga4_name_error(std::string_view name, bool event) {
    if (name.empty()) return "empty";
    if (name.size() > kNameMax) return "longer than " + std::to_string(kNameMax) + " characters";
    if (!is_letter(name.front())) return "must start with a letter";
    const bool plain = std::all_of(name.begin(), name.end(), [](char c) {
        return is_letter(c) || (c >= '0' && c <= '9') || c == '_';
    });
    if (!plain) return "only letters, digits and underscores";
    for (const auto prefix : kReservedPrefixes)
        if (name.substr(0, prefix.size()) == prefix)
            return "the prefix " + std::string(prefix) + " is reserved";
    if (event &&
        std::find(kReservedEvents.begin(), kReservedEvents.end(), name) != kReservedEvents.end())
        return std::string(name) + " is a reserved event name";
    return std::nullopt;
}

Body ga4_events(const std::vector<Conversion>& conversions, common::timestamp now) {
    Body body;
    if (conversions.empty()) return body;
    const auto& first = conversions.front();
    nlohmann::json events = nlohmann::json::array();
    for (std::size_t i = 0; i < conversions.size(); ++i) {
        const auto& c = conversions[i];
        if (!first.ga_client_id) {
            body.left_out.push_back({i, "client_id: no GA4 client id (the _ga cookie)"});
            continue;
        }
        if (auto refusal = ga4_refusal(c, *first.ga_client_id, now)) {
            body.left_out.push_back({i, std::move(*refusal)});
            continue;
        }
        nlohmann::json params = nlohmann::json::object();
        if (c.value) params["value"] = *c.value;
        if (c.currency) params["currency"] = *c.currency;
        if (c.order_id) params["transaction_id"] = *c.order_id;
        events.push_back({{"name", c.event_name},
                          {"timestamp_micros", c.occurred_at.time_since_epoch().count()},
                          {"params", std::move(params)}});
        body.sent.push_back(i);
    }
    if (events.empty()) return body;
    nlohmann::json request = {{"client_id", *first.ga_client_id}, {"events", std::move(events)}};
    if (first.user_id) request["user_id"] = *first.user_id;
    body.json = request.dump();
    return body;
}

}  // namespace funnelhouse::activation
