// The destinations file: what each destination is sent, where, and with
// which secrets; every mistake named by destination and field.
#include "funnelhouse/activation/destinations.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace funnelhouse;
using namespace funnelhouse::activation;

namespace {

// Secrets as a test's environment and files hold them.
SecretSources sources() {
    static const std::map<std::string, std::string> kEnvironment = {
        {"META_TOKEN", "meta-token"},
        {"ADS_TOKEN", "ads-token"},
        {"ADS_DEVELOPER", "ads-developer"},
        {"EMPTY", ""},
        {"CHAT_URL", "https://hooks.chat.example/services/T0/B0/x"}};
    static const std::map<std::string, std::string> kFiles = {
        {"/run/secrets/ga4", "ga4-secret\n"},
        {"/run/secrets/hook", "whsec_ZnVubmVsaG91c2UtdGVzdC1rZXktMDEyMzQ1Njc4OQ=="}};
    const auto lookup = [](const std::map<std::string, std::string>& from) {
        return [&from](const std::string& name) -> std::optional<std::string> {
            const auto it = from.find(name);
            if (it == from.end()) return std::nullopt;
            return it->second;
        };
    };
    return {lookup(kEnvironment), lookup(kFiles)};
}

std::vector<Destination> parse(const std::string& text) {
    return parse_destinations(text, "destinations.json", sources());
}

// The message of the error parsing `text` throws, or "" when it parses.
std::string error_of(const std::string& text) {
    try {
        parse(text);
    } catch (const std::runtime_error& error) {
        return error.what();
    }
    return "";
}

const std::string kMeta = R"({"name": "meta-shop", "kind": "meta",
    "starts_at": "2026-12-01T00:00:00Z", "consent": "marketing",
    "orders": {"events": ["order_completed"], "value": "gross_profit"},
    "micro_conversions": {"classes": ["P0", "P1"]},
    "pixel_id": "1234", "api_version": "v21.0", "access_token": {"env": "META_TOKEN"}})";

}  // namespace

TEST(Destinations, EachKindReadsWhatItsPlatformNeeds) {
    const auto destinations = parse("[" + kMeta + R"(,
      {"name": "ads", "kind": "google_ads", "starts_at": "2026-12-01T00:00:00Z",
       "consent": "marketing", "orders": {"events": ["order_completed"]},
       "customer_id": "1234567890", "conversion_action": "customers/1234567890/conversionActions/9",
       "api_version": "v18", "access_token": {"env": "ADS_TOKEN"},
       "developer_token": {"env": "ADS_DEVELOPER"}, "endpoint": "http://127.0.0.1:9100"},
      {"name": "ga", "kind": "ga4", "starts_at": "2026-12-01T00:00:00Z", "consent": "analytics",
       "refunds": {"events": ["order_refunded"]}, "measurement_id": "G-ABC",
       "api_secret": {"file": "/run/secrets/ga4"}},
      {"name": "crm", "kind": "webhook", "starts_at": "2026-12-01T00:00:00Z",
       "consent": "marketing", "micro_conversions": {"classes": ["P2"], "value": 4.5},
       "url": "https://crm.example/hooks", "secret": {"file": "/run/secrets/hook"}}])");
    ASSERT_EQ(destinations.size(), 4u);
    const auto& meta = destinations[0];
    EXPECT_EQ(meta.kind, Kind::meta);
    EXPECT_EQ(meta.order_events, std::vector<std::string>{"order_completed"});
    EXPECT_EQ(meta.order_value, OrderValue::gross_profit);
    EXPECT_EQ(meta.classes, (std::vector<std::string>{"P0", "P1"}));
    EXPECT_EQ(meta.micro_value, std::nullopt);  // expected revenue per occurrence
    EXPECT_EQ(meta.access_token, "meta-token");
    EXPECT_EQ(meta.endpoint, "https://graph.facebook.com");
    EXPECT_EQ(meta.starts_at, *common::parse_timestamp("2026-12-01T00:00:00Z"));
    const auto& ads = destinations[1];
    EXPECT_EQ(ads.order_value, OrderValue::revenue);
    EXPECT_EQ(ads.developer_token, "ads-developer");
    EXPECT_EQ(ads.endpoint, "http://127.0.0.1:9100");
    const auto& ga = destinations[2];
    EXPECT_EQ(ga.refund_events, std::vector<std::string>{"order_refunded"});
    EXPECT_EQ(ga.api_secret, "ga4-secret");  // the file's line break is not part of it
    EXPECT_EQ(ga.endpoint, "https://www.google-analytics.com");
    const auto& crm = destinations[3];
    EXPECT_EQ(crm.micro_value, 4.5);
    EXPECT_EQ(crm.signing_key, "funnelhouse-test-key-0123456789");
}

TEST(Destinations, SecretsAreNeverWrittenInTheFile) {
    auto inline_secret = kMeta;
    inline_secret.replace(inline_secret.find(R"({"env": "META_TOKEN"})"), 21, R"("EAAB123")");
    EXPECT_EQ(error_of("[" + inline_secret + "]"),
              "destinations.json: destination 0 ('meta-shop'): 'access_token' must name where the "
              "secret is read from, {\"env\": VARIABLE} or {\"file\": PATH}; a secret is never "
              "written in the destinations file");
    auto unset = kMeta;
    unset.replace(unset.find("META_TOKEN"), 10, "EMPTY");
    EXPECT_EQ(error_of("[" + unset + "]"),
              "destinations.json: destination 0 ('meta-shop'): 'access_token' names the "
              "environment variable EMPTY, which is not set or empty");
}

TEST(Destinations, MistakesAreNamedByDestinationAndField) {
    const auto with = [](const std::string& from, const std::string& to) {
        auto text = kMeta;
        text.replace(text.find(from), from.size(), to);
        return "[" + text + "]";
    };
    const std::string at = "destinations.json: destination 0 ('meta-shop'): ";
    EXPECT_EQ(error_of(with(R"("kind": "meta")", R"("kind": "tiktok")")),
              at + "'kind' must be one of meta, google_ads, ga4, webhook, slack");
    EXPECT_EQ(error_of(with(R"("starts_at": "2026-12-01T00:00:00Z",)", "")),
              at + "'starts_at' is required");
    EXPECT_EQ(error_of(with("2026-12-01T00:00:00Z", "yesterday")),
              at + "'starts_at' must be an RFC 3339 time; nothing that happened before it is sent");
    EXPECT_EQ(error_of(with(R"("consent": "marketing",)", "")), at + "'consent' is required");
    EXPECT_EQ(error_of(with(R"("value": "gross_profit")", R"("value": "margin")")),
              at + "'orders.value' must be \"revenue\" or \"gross_profit\"");
    EXPECT_EQ(error_of(with(R"(["P0", "P1"])", R"(["P0", "P4"])")),
              at + "'micro_conversions.classes' holds P4; classes are P0 to P3");
    EXPECT_EQ(error_of(with(R"("pixel_id": "1234",)", "")), at + "'pixel_id' is required");
    EXPECT_EQ(error_of(with(R"("orders")", R"("refunds")")),
              at + "'refunds' is not taken by meta (only ga4 and webhook destinations receive "
                   "refunds)");
    EXPECT_EQ(error_of("[" + kMeta + "," + kMeta + "]"),
              "destinations.json: destination 1: name 'meta-shop' is used twice");
    EXPECT_EQ(error_of("{}"), "destinations.json must be a JSON list of destinations");
    EXPECT_EQ(error_of("[1]"), "destinations.json: destination 0 is not an object");
}

TEST(Destinations, ADestinationMustReceiveSomething) {
    EXPECT_EQ(error_of(R"([{"name": "crm", "kind": "webhook", "starts_at": "2026-12-01T00:00:00Z",
        "consent": "marketing", "url": "https://crm.example/hooks",
        "secret": {"file": "/run/secrets/hook"}}])"),
              "destinations.json: destination 0 ('crm'): one of 'orders', 'refunds', "
              "'micro_conversions' or 'alerts' is required: the destination would receive "
              "nothing");
    EXPECT_EQ(error_of(R"([{"name": "crm", "kind": "webhook", "starts_at": "2026-12-01T00:00:00Z",
        "consent": "marketing", "orders": {"events": ["order_completed"]},
        "url": "ftp://crm.example", "secret": {"file": "/run/secrets/hook"}}])"),
              "destinations.json: destination 0 ('crm'): 'url' must be an http:// or https:// URL");
}

TEST(Destinations, GoogleAdsWithoutApiAccessNeedsOnlyTheConversionsName) {
    const std::string csv = R"([{"name": "ads", "kind": "google_ads", "upload": "csv",
        "starts_at": "2026-12-01T00:00:00Z", "consent": "marketing",
        "orders": {"events": ["order_completed"]}, "conversion_name": "Online purchase"}])";
    const auto destinations = parse(csv);
    ASSERT_EQ(destinations.size(), 1u);
    EXPECT_TRUE(destinations[0].csv_upload);
    EXPECT_EQ(destinations[0].conversion_name, "Online purchase");
    EXPECT_EQ(destinations[0].access_token, "");
    auto nameless = csv;
    nameless.erase(nameless.find(R"(, "conversion_name")"));
    nameless += "}]";
    EXPECT_EQ(error_of(nameless),
              "destinations.json: destination 0 ('ads'): 'conversion_name' is required");
    auto by_mail = csv;
    by_mail.replace(by_mail.find(R"("csv")"), 5, R"("mail")");
    EXPECT_EQ(error_of(by_mail),
              "destinations.json: destination 0 ('ads'): 'upload' must be \"api\" (the default) "
              "or \"csv\"");
}

TEST(Destinations, MicroConversionsCurrencyAndPhoneCountryAreChecked) {
    const auto with = [](const std::string& from, const std::string& to) {
        auto text = kMeta;
        text.replace(text.find(from), from.size(), to);
        return "[" + text + "]";
    };
    const std::string at = "destinations.json: destination 0 ('meta-shop'): ";
    EXPECT_EQ(
        parse(with(R"(["P0", "P1"]})", R"(["P0", "P1"], "currency": "EUR"})"))[0].micro_currency,
        "EUR");
    EXPECT_EQ(parse("[" + kMeta + "]")[0].micro_currency, "USD");
    EXPECT_EQ(error_of(with(R"(["P0", "P1"]})", R"(["P0", "P1"], "currency": "euro"})")),
              at + "'micro_conversions.currency' must be an ISO 4217 code such as \"EUR\"");
    EXPECT_EQ(parse(with(R"("consent": "marketing",)",
                         R"("consent": "marketing", "phone_country_code": "49",)"))[0]
                  .phone_country_code,
              "49");
    EXPECT_EQ(error_of(with(R"("consent": "marketing",)",
                            R"("consent": "marketing", "phone_country_code": "+49",)")),
              at + "'phone_country_code' must be 1 to 3 digits, such as \"49\"");
}

TEST(Destinations, AlertsGoToSlackAndToWebhooksThatAskForThem) {
    const auto parsed = parse(R"([
        {"name": "ops-chat", "kind": "slack", "url": {"env": "CHAT_URL"}},
        {"name": "ops-hook", "kind": "webhook", "alerts": true,
         "url": "https://ops.example/hooks", "secret": {"file": "/run/secrets/hook"}},
        {"name": "crm", "kind": "webhook", "starts_at": "2026-12-01T00:00:00Z",
         "consent": "marketing", "orders": {"events": ["order_completed"]}, "alerts": true,
         "url": "https://crm.example/hooks", "secret": {"file": "/run/secrets/hook"}}])");
    ASSERT_EQ(parsed.size(), 3u);
    EXPECT_EQ(parsed[0].kind, Kind::slack);
    EXPECT_TRUE(parsed[0].alerts);
    // The incoming webhook's URL is its secret: read from the environment.
    EXPECT_EQ(parsed[0].url, "https://hooks.chat.example/services/T0/B0/x");
    EXPECT_TRUE(parsed[1].alerts);
    EXPECT_TRUE(parsed[1].order_events.empty());
    EXPECT_TRUE(parsed[2].alerts);
    EXPECT_EQ(parsed[2].order_events, std::vector<std::string>{"order_completed"});
    // Without events, no start or consent is needed; with them both are.
    EXPECT_EQ(error_of(R"([{"name": "crm", "kind": "webhook", "alerts": true,
        "orders": {"events": ["order_completed"]}, "url": "https://crm.example/hooks",
        "secret": {"file": "/run/secrets/hook"}}])"),
              "destinations.json: destination 0 ('crm'): 'starts_at' is required");
}

TEST(Destinations, AlertMistakesAreNamed) {
    EXPECT_EQ(error_of(R"([{"name": "chat", "kind": "slack",
        "url": "https://hooks.chat.example/services/T0/B0/x"}])"),
              "destinations.json: destination 0 ('chat'): 'url' must name where the secret is "
              "read from, {\"env\": VARIABLE} or {\"file\": PATH}; a secret is never written "
              "in the destinations file");
    EXPECT_EQ(error_of(R"([{"name": "chat", "kind": "slack", "url": {"env": "CHAT_URL"},
        "orders": {"events": ["order_completed"]}}])"),
              "destinations.json: destination 0 ('chat'): 'orders' is not taken by slack: it "
              "takes alerts only");
    EXPECT_EQ(error_of(R"([{"name": "chat", "kind": "slack", "url": {"env": "CHAT_URL"},
        "alerts": false}])"),
              "destinations.json: destination 0 ('chat'): 'alerts' cannot be false: a slack "
              "destination takes alerts only");
    EXPECT_EQ(error_of(R"([{"name": "ga", "kind": "ga4", "alerts": true,
        "measurement_id": "G-1", "api_secret": {"file": "/run/secrets/ga4"}}])"),
              "destinations.json: destination 0 ('ga'): 'alerts' is taken by slack and webhook "
              "destinations only");
    EXPECT_EQ(error_of(R"([{"name": "hook", "kind": "webhook", "alerts": "yes",
        "url": "https://ops.example/hooks", "secret": {"file": "/run/secrets/hook"}}])"),
              "destinations.json: destination 0 ('hook'): 'alerts' must be true or false");
}
