// What an outbox row becomes for its destination, what the platform's
// answer means, and when to try again.
#include "funnelhouse/activation/delivery.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "funnelhouse/common/sha256.hpp"
#include "funnelhouse/ingest/privacy.hpp"

namespace funnelhouse::activation {
namespace {

using json = nlohmann::json;

// A string member, when there is one and it is not empty.
std::optional<std::string> text_at(const json& object, const char* key) {
    if (!object.is_object()) return std::nullopt;
    const auto it = object.find(key);
    if (it == object.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
        return std::nullopt;
    return it->get<std::string>();
}

// A number, written as one or as a string of one (as the models read it).
std::optional<double> number_at(const json& object, const char* key) {
    if (!object.is_object()) return std::nullopt;
    const auto it = object.find(key);
    if (it == object.end()) return std::nullopt;
    if (it->is_number()) return it->get<double>();
    if (!it->is_string()) return std::nullopt;
    const auto& text = it->get_ref<const std::string&>();
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value))
        return std::nullopt;
    return value;
}

const json& member(const json& object, const char* key) {
    static const json kNone;
    if (!object.is_object()) return kNone;
    const auto it = object.find(key);
    return it == object.end() ? kNone : *it;
}

// The value rule: what the event is worth to the destination, with its
// currency; or why it has none.
std::optional<std::string> apply_value_rule(const StoredEvent& e, const Destination& d,
                                            const json& properties, Conversion& c) {
    switch (e.what) {
        case What::order: {
            const auto revenue = number_at(properties, "revenue");
            if (!revenue) return "properties.revenue: missing, so the order has no value";
            c.value = d.order_value == OrderValue::revenue
                          ? *revenue
                          : *revenue - number_at(properties, "cost").value_or(0.0);
            c.currency = text_at(properties, "currency");
            c.order_id = text_at(properties, "order_id");
            break;
        }
        case What::refund: {
            const auto amount = number_at(properties, "amount");
            if (!amount) return "properties.amount: missing, so the refund has no value";
            c.value = *amount;
            c.currency = text_at(properties, "currency");
            c.order_id = text_at(properties, "order_id");
            break;
        }
        case What::micro:
            c.value = d.micro_value ? d.micro_value : e.expected_revenue;
            if (!c.value)
                return "models.event_value: no expected revenue per occurrence for " + e.event_name;
            c.value = std::round(*c.value * 100) / 100;  // an estimate: to the cent
            c.currency = d.micro_currency;
            break;
    }
    return std::nullopt;
}

// What the event's context holds to match its person on.
void read_match_keys(const json& context, const json& properties, const json& person_ad_ids,
                     Conversion& c) {
    const auto& traits = member(context, "traits");
    c.email = text_at(properties, "email");
    if (!c.email) c.email = text_at(traits, "email");
    c.phone = text_at(properties, "phone");
    if (!c.phone) c.phone = text_at(traits, "phone");
    c.client_address = text_at(context, "ip");
    c.user_agent = text_at(context, "userAgent");
    c.page_url = text_at(member(context, "page"), "url");
    const auto& own = member(context, "adIds");
    const auto& ids = own.is_object() ? own : person_ad_ids;
    c.gclid = text_at(ids, "gclid");
    c.gbraid = text_at(ids, "gbraid");
    c.wbraid = text_at(ids, "wbraid");
    c.fbc = text_at(ids, "fbc");
    c.fbp = text_at(ids, "fbp");
    c.ga_client_id = text_at(ids, "gaClientId");
}

}  // namespace

std::string_view to_string(What what) {
    switch (what) {
        case What::order:
            return "order";
        case What::refund:
            return "refund";
        case What::micro:
            return "micro";
    }
    return "micro";
}

std::optional<What> what_from(std::string_view text) {
    for (const auto what : {What::order, What::refund, What::micro})
        if (to_string(what) == text) return what;
    return std::nullopt;
}

std::string platform_event_name(Kind kind, What what, std::string_view event_name) {
    if (kind == Kind::meta && what == What::order) return "Purchase";
    if (kind == Kind::ga4 && what == What::order) return "purchase";
    if (kind == Kind::ga4 && what == What::refund) return "refund";
    return std::string(event_name);
}

Prepared prepare(const StoredEvent& e, const Destination& d) {
    Prepared out;
    if (ingest::analytics_consent(e.context, {d.consent}) != ingest::Consent::granted) {
        out.skipped = "no consent: context.consent does not grant '" + d.consent + "'";
        return out;
    }
    const auto properties = json::parse(e.properties, nullptr, false);
    const auto context = json::parse(e.context, nullptr, false);
    Conversion c;
    c.event_id = e.event_id;
    c.event_name = platform_event_name(d.kind, e.what, e.event_name);
    c.occurred_at = e.occurred_at;
    c.person_id = e.person_id;
    c.user_id = e.user_id;
    if (auto why = apply_value_rule(e, d, properties, c)) {
        out.skipped = std::move(*why);
        return out;
    }
    const auto person_ad_ids =
        e.person_ad_ids ? json::parse(*e.person_ad_ids, nullptr, false) : json();
    read_match_keys(context, properties, person_ad_ids, c);
    out.conversion = std::move(c);
    return out;
}

std::string webhook_id(std::string_view destination, std::string_view event_id) {
    std::string key(destination);
    key += '\0';
    key += event_id;
    return "msg_" + common::sha256_hex(key).substr(0, 32);
}

std::string webhook_body(const Conversion& c, What what, std::string_view destination,
                         common::timestamp now) {
    json data = {{"destination", destination},
                 {"event_id", c.event_id},
                 {"event_name", c.event_name},
                 {"occurred_at", common::format_timestamp(c.occurred_at)}};
    const auto optional = [&](const char* key, const auto& value) {
        if (value) data[key] = *value;
    };
    optional("value", c.value);
    optional("currency", c.currency);
    optional("order_id", c.order_id);
    optional("person_id", c.person_id);
    optional("user_id", c.user_id);
    return json{{"type", "conversion." + std::string(to_string(what))},
                {"timestamp", common::format_timestamp(now)},
                {"data", std::move(data)}}
        .dump();
}

}  // namespace funnelhouse::activation
