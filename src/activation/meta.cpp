// Meta's Conversions API request body.
#include <nlohmann/json.hpp>

#include "funnelhouse/activation/matching.hpp"
#include "funnelhouse/activation/platforms.hpp"
#include "funnelhouse/common/sha256.hpp"

namespace funnelhouse::activation {
namespace {

// user_data: what identifies the person hashed, what identifies the browser
// as it is (Meta documents which is which).
nlohmann::json meta_user_data(const Conversion& c, std::string_view phone_country_code) {
    nlohmann::json user = nlohmann::json::object();
    if (c.email)
        if (const auto email = normalized_email(*c.email))
            user["em"] = nlohmann::json::array({common::sha256_hex(*email)});
    if (c.phone)
        if (const auto phone = normalized_phone(*c.phone, phone_country_code))
            user["ph"] = nlohmann::json::array({common::sha256_hex(*phone)});
    if (c.person_id)
        user["external_id"] = nlohmann::json::array({common::sha256_hex(*c.person_id)});
    if (c.client_address) user["client_ip_address"] = *c.client_address;
    if (c.user_agent) user["client_user_agent"] = *c.user_agent;
    if (c.fbp) user["fbp"] = *c.fbp;
    if (c.fbc) user["fbc"] = *c.fbc;
    return user;
}

// Why Meta would refuse the event, if it would.
std::optional<std::string> meta_refusal(const Conversion& c, common::timestamp now) {
    if (c.occurred_at < now - std::chrono::hours(24 * 7))
        return "event_time: more than 7 days ago, which Meta refuses (and with it the request)";
    if (!c.user_agent) return "client_user_agent: Meta requires it for website events";
    if (!c.page_url) return "event_source_url: Meta requires it for website events";
    return std::nullopt;
}

}  // namespace

Body meta_events(const std::vector<Conversion>& conversions, common::timestamp now,
                 const std::optional<std::string>& test_event_code,
                 std::string_view phone_country_code) {
    Body body;
    nlohmann::json data = nlohmann::json::array();
    for (std::size_t i = 0; i < conversions.size(); ++i) {
        const auto& c = conversions[i];
        if (auto refusal = meta_refusal(c, now)) {
            body.left_out.push_back({i, std::move(*refusal)});
            continue;
        }
        nlohmann::json event = {
            {"event_name", c.event_name},
            {"event_time",
             std::chrono::floor<std::chrono::seconds>(c.occurred_at).time_since_epoch().count()},
            {"event_id", c.event_id},
            {"action_source", "website"},
            {"event_source_url", *c.page_url},
            {"user_data", meta_user_data(c, phone_country_code)}};
        nlohmann::json custom = nlohmann::json::object();
        if (c.value) custom["value"] = *c.value;
        if (c.currency) custom["currency"] = *c.currency;
        if (!custom.empty()) event["custom_data"] = std::move(custom);
        data.push_back(std::move(event));
        body.sent.push_back(i);
    }
    if (data.empty()) return body;
    nlohmann::json request = {{"data", std::move(data)}};
    if (test_event_code) request["test_event_code"] = *test_event_code;
    body.json = request.dump();
    return body;
}

}  // namespace funnelhouse::activation
