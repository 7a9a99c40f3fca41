#include "funnelhouse/activation/destinations.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "funnelhouse/activation/signature.hpp"
#include "funnelhouse/common/file.hpp"

namespace funnelhouse::activation {
namespace {

using nlohmann::json;

// One destination's fields, read with errors that name where they are.
class Reader {
  public:
    Reader(const json& entry, std::string where) : entry_(entry), where_(std::move(where)) {}

    [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
        throw std::runtime_error(where_ + ": '" + field + "' " + problem);
    }
    [[noreturn]] void fail(const std::string& message) const {
        throw std::runtime_error(where_ + ": " + message);
    }
    const json* find(const std::string& field) const {
        const auto it = entry_.find(field);
        return it == entry_.end() ? nullptr : &*it;
    }
    std::string text(const std::string& field, bool required) const {
        const auto* value = find(field);
        if (!value) {
            if (required) fail(field, "is required");
            return {};
        }
        if (!value->is_string() || value->get<std::string>().empty())
            fail(field, "must be a non-empty string");
        return value->get<std::string>();
    }
    std::vector<std::string> names(const json& list, const std::string& field) const {
        if (!list.is_array() || list.empty()) fail(field, "must be a non-empty list of names");
        std::vector<std::string> out;
        for (const auto& item : list) {
            if (!item.is_string() || item.get<std::string>().empty())
                fail(field, "must be a non-empty list of names");
            out.push_back(item.get<std::string>());
        }
        return out;
    }
    std::string secret(const std::string& field, const SecretSources& sources) const;

  private:
    const json& entry_;
    std::string where_;
};

std::string Reader::secret(const std::string& field, const SecretSources& sources) const {
    const auto* value = find(field);
    if (!value) fail(field, "is required");
    const bool env = value->is_object() && value->size() == 1 && value->contains("env") &&
                     (*value)["env"].is_string();
    const bool file = value->is_object() && value->size() == 1 && value->contains("file") &&
                      (*value)["file"].is_string();
    if (!env && !file)
        fail(field,
             "must name where the secret is read from, {\"env\": VARIABLE} or "
             "{\"file\": PATH}; a secret is never written in the destinations file");
    const auto name = (*value)[env ? "env" : "file"].get<std::string>();
    auto found = env ? sources.environment(name) : sources.file(name);
    while (found && !found->empty() && (found->back() == '\n' || found->back() == '\r'))
        found->pop_back();
    if (!found || found->empty())
        fail(field, std::string(env ? "names the environment variable " : "names the file ") +
                        name + ", which " +
                        (env ? "is not set or empty" : "cannot be read or is empty"));
    return *found;
}

// Each kind: its name in the file, and its platform's base URL unless the
// file names another (a webhook names its own URL).
struct KindInfo {
    Kind kind;
    std::string_view name;
    std::string_view endpoint;
};
constexpr std::array<KindInfo, 5> kKinds = {{
    {Kind::meta, "meta", "https://graph.facebook.com"},
    {Kind::google_ads, "google_ads", "https://googleads.googleapis.com"},
    {Kind::ga4, "ga4", "https://www.google-analytics.com"},
    {Kind::webhook, "webhook", ""},
    {Kind::slack, "slack", ""},
}};

const KindInfo& info_of(Kind kind) {
    return *std::find_if(kKinds.begin(), kKinds.end(),
                         [&](const KindInfo& info) { return info.kind == kind; });
}

Kind kind_of(const Reader& r) {
    const auto name = r.text("kind", true);
    std::string names;
    for (const auto& info : kKinds) {
        if (info.name == name) return info.kind;
        names += (names.empty() ? "" : ", ") + std::string(info.name);
    }
    r.fail("kind", "must be one of " + names);
}

// Whether a destination takes alerts: a slack one always (and nothing
// else), a webhook when it says so.
void read_alerts(const Reader& r, Destination& d) {
    const auto* alerts = r.find("alerts");
    if (alerts && !alerts->is_boolean()) r.fail("alerts", "must be true or false");
    d.alerts = d.kind == Kind::slack || (alerts && alerts->get<bool>());
    if (d.kind == Kind::slack && alerts && !alerts->get<bool>())
        r.fail("alerts", "cannot be false: a slack destination takes alerts only");
    if (d.alerts && d.kind != Kind::slack && d.kind != Kind::webhook)
        r.fail("alerts", "is taken by slack and webhook destinations only");
    if (d.kind == Kind::slack)
        for (const char* field : {"orders", "refunds", "micro_conversions"})
            if (r.find(field)) r.fail(field, "is not taken by slack: it takes alerts only");
}

// What is sent: orders, refunds, micro-conversions by class, and their value.
void read_selection(const Reader& r, Destination& d) {
    if (const auto* orders = r.find("orders")) {
        if (!orders->is_object() || !orders->contains("events"))
            r.fail("orders",
                   "must be {\"events\": [names], \"value\": \"revenue\" or \"gross_profit\"}");
        d.order_events = r.names((*orders)["events"], "orders.events");
        const auto value = orders->value("value", std::string("revenue"));
        if (value != "revenue" && value != "gross_profit")
            r.fail("orders.value", "must be \"revenue\" or \"gross_profit\"");
        d.order_value = value == "revenue" ? OrderValue::revenue : OrderValue::gross_profit;
    }
    if (const auto* refunds = r.find("refunds")) {
        if (d.kind == Kind::meta || d.kind == Kind::google_ads)
            r.fail("refunds", "is not taken by " + std::string(to_string(d.kind)) +
                                  " (only ga4 and webhook destinations receive refunds)");
        if (!refunds->is_object() || !refunds->contains("events"))
            r.fail("refunds", "must be {\"events\": [names]}");
        d.refund_events = r.names((*refunds)["events"], "refunds.events");
    }
    if (const auto* micro = r.find("micro_conversions")) {
        if (!micro->is_object() || !micro->contains("classes"))
            r.fail("micro_conversions", "must be {\"classes\": [\"P0\", ...], \"value\": ...}");
        d.classes = r.names((*micro)["classes"], "micro_conversions.classes");
        static const std::set<std::string> kClasses = {"P0", "P1", "P2", "P3"};
        for (const auto& c : d.classes)
            if (!kClasses.count(c))
                r.fail("micro_conversions.classes", "holds " + c + "; classes are P0 to P3");
        const auto value = micro->find("value");
        if (value != micro->end() && !(value->is_string() && *value == "expected_revenue")) {
            if (!value->is_number() || value->get<double>() < 0)
                r.fail("micro_conversions.value",
                       "must be \"expected_revenue\" or a fixed value of at least 0");
            d.micro_value = value->get<double>();
        }
        d.micro_currency = micro->value("currency", std::string("USD"));
        if (d.micro_currency.size() != 3 ||
            !std::all_of(d.micro_currency.begin(), d.micro_currency.end(),
                         [](char c) { return c >= 'A' && c <= 'Z'; }))
            r.fail("micro_conversions.currency", "must be an ISO 4217 code such as \"EUR\"");
    }
    if (d.order_events.empty() && d.refund_events.empty() && d.classes.empty() && !d.alerts)
        r.fail(
            "one of 'orders', 'refunds', 'micro_conversions' or 'alerts' is required: the "
            "destination would receive nothing");
}

// What each kind needs to reach its platform.
void read_kind_fields(const Reader& r, Destination& d, const SecretSources& secrets) {
    switch (d.kind) {
        case Kind::meta:
            d.pixel_id = r.text("pixel_id", true);
            d.api_version = r.text("api_version", true);
            d.test_event_code = r.text("test_event_code", false);
            d.access_token = r.secret("access_token", secrets);
            break;
        case Kind::google_ads: {
            const auto upload = r.text("upload", false);
            if (upload == "csv") {
                d.csv_upload = true;
                d.conversion_name = r.text("conversion_name", true);
                break;
            }
            if (!upload.empty() && upload != "api")
                r.fail("upload", "must be \"api\" (the default) or \"csv\"");
            d.customer_id = r.text("customer_id", true);
            d.conversion_action = r.text("conversion_action", true);
            d.api_version = r.text("api_version", true);
            d.access_token = r.secret("access_token", secrets);
            d.developer_token = r.secret("developer_token", secrets);
            break;
        }
        case Kind::ga4:
            d.measurement_id = r.text("measurement_id", true);
            d.api_secret = r.secret("api_secret", secrets);
            break;
        case Kind::slack:
            d.url = r.secret("url", secrets);
            break;
        case Kind::webhook: {
            d.url = r.text("url", true);
            const auto key = webhook_key(r.secret("secret", secrets));
            if (!key)
                r.fail("secret",
                       "is not a signing secret: \"whsec_\" then base64, or the key itself");
            d.signing_key = *key;
            break;
        }
    }
    const bool own_url = d.kind == Kind::webhook || d.kind == Kind::slack;
    if (!own_url) {
        d.endpoint = r.text("endpoint", false);
        if (d.endpoint.empty()) d.endpoint = info_of(d.kind).endpoint;
    }
    const auto& base = own_url ? d.url : d.endpoint;
    if (base.rfind("https://", 0) != 0 && base.rfind("http://", 0) != 0)
        r.fail(own_url ? "url" : "endpoint", "must be an http:// or https:// URL");
}

Destination read_destination(const json& entry, const std::string& where,
                             const SecretSources& secrets) {
    if (!entry.is_object()) throw std::runtime_error(where + " is not an object");
    const Reader r(entry, where);
    Destination d;
    d.name = r.text("name", true);
    const Reader named(entry, where + " ('" + d.name + "')");
    d.kind = kind_of(named);
    read_alerts(named, d);
    read_selection(named, d);
    // Events are sent only with a start and a consent category; alerts need
    // neither.
    const bool events = !d.order_events.empty() || !d.refund_events.empty() || !d.classes.empty();
    const auto starts = named.text("starts_at", events);
    const auto parsed = common::parse_timestamp(starts);
    if ((events || !starts.empty()) && !parsed)
        named.fail("starts_at",
                   "must be an RFC 3339 time; nothing that happened before it is sent");
    if (parsed) d.starts_at = *parsed;
    d.consent = named.text("consent", events);
    d.phone_country_code = named.text("phone_country_code", false);
    if (!std::all_of(d.phone_country_code.begin(), d.phone_country_code.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        d.phone_country_code.size() > 3)
        named.fail("phone_country_code", "must be 1 to 3 digits, such as \"49\"");
    read_kind_fields(named, d, secrets);
    return d;
}

}  // namespace

std::string_view to_string(Kind kind) { return info_of(kind).name; }

std::vector<Destination> load_destinations(const std::filesystem::path& file) {
    if (file.empty()) return {};
    const auto text = common::read_file(file);
    if (!text)
        throw std::runtime_error("cannot read the destinations file '" + file.string() + "'");
    const SecretSources secrets{[](const std::string& variable) -> std::optional<std::string> {
                                    const char* value = std::getenv(variable.c_str());
                                    if (!value) return std::nullopt;
                                    return std::string(value);
                                },
                                [](const std::string& path) { return common::read_file(path); }};
    return parse_destinations(*text, file.string(), secrets);
}

std::vector<Destination> parse_destinations(std::string_view text, std::string_view origin,
                                            const SecretSources& secrets) {
    const auto list = json::parse(text, nullptr, false);
    const std::string where(origin);
    if (!list.is_array()) throw std::runtime_error(where + " must be a JSON list of destinations");
    std::vector<Destination> out;
    for (std::size_t i = 0; i < list.size(); ++i) {
        auto destination =
            read_destination(list[i], where + ": destination " + std::to_string(i), secrets);
        const bool repeated = std::any_of(out.begin(), out.end(), [&](const Destination& d) {
            return d.name == destination.name;
        });
        if (repeated)
            throw std::runtime_error(where + ": destination " + std::to_string(i) + ": name '" +
                                     destination.name + "' is used twice");
        out.push_back(std::move(destination));
    }
    return out;
}

}  // namespace funnelhouse::activation
