// How an outbox row is sent: what the stored event becomes for each kind of
// destination, the requests that carry it, what each platform's answer
// means, and when to try again.
#include "funnelhouse/activation/delivery.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "funnelhouse/activation/requests.hpp"
#include "funnelhouse/activation/signature.hpp"

using namespace funnelhouse;
using namespace funnelhouse::activation;
using json = nlohmann::json;

namespace {

const common::timestamp kNow = *common::parse_timestamp("2026-12-07T12:00:00Z");

Destination destination(Kind kind) {
    Destination d;
    d.name = "dest";
    d.kind = kind;
    d.consent = "marketing";
    d.endpoint = "https://platform.example/";
    d.api_version = "v1";
    d.pixel_id = "77";
    d.access_token = "token";
    d.developer_token = "developer";
    d.customer_id = "123";
    d.conversion_action = "customers/123/conversionActions/9";
    d.measurement_id = "G-1";
    d.api_secret = "secret";
    d.url = "https://crm.example/hook";
    d.signing_key = "key";
    return d;
}

const std::string kGranted =
    R"({"consent": {"categoryPreferences": {"Marketing": true}}, "ip": "203.0.113.0",
        "userAgent": "Firefox", "page": {"url": "https://shop.example/thanks"},
        "adIds": {"gclid": "g-1", "fbc": "fb.1.1.abc", "fbp": "fb.1.2.3", "gaClientId": "11.22"},
        "traits": {"email": " Alice@Example.COM "}})";

StoredEvent order(std::string context = kGranted) {
    StoredEvent e;
    e.event_id = "ev-1";
    e.event_name = "order_completed";
    e.what = What::order;
    e.occurred_at = kNow - std::chrono::hours(1);
    e.properties = R"({"order_id": "o-1", "revenue": "120.50", "cost": 70, "currency": "EUR"})";
    e.context = std::move(context);
    e.user_id = "u-1";
    e.person_id = "user:u-1";
    return e;
}

}  // namespace

TEST(Prepare, AnOrderIsWorthItsRevenueOrItsGrossProfitWithItsMatchKeys) {
    auto d = destination(Kind::meta);
    const auto revenue = prepare(order(), d);
    ASSERT_TRUE(revenue.conversion) << revenue.skipped;
    const auto& c = *revenue.conversion;
    EXPECT_EQ(c.event_name, "Purchase");
    EXPECT_DOUBLE_EQ(*c.value, 120.5);
    EXPECT_EQ(c.currency, "EUR");
    EXPECT_EQ(c.order_id, "o-1");
    EXPECT_EQ(c.email, " Alice@Example.COM ");  // normalised by each platform's body
    EXPECT_EQ(c.client_address, "203.0.113.0");
    EXPECT_EQ(c.user_agent, "Firefox");
    EXPECT_EQ(c.page_url, "https://shop.example/thanks");
    EXPECT_EQ(c.gclid, "g-1");
    EXPECT_EQ(c.fbc, "fb.1.1.abc");
    EXPECT_EQ(c.fbp, "fb.1.2.3");
    EXPECT_EQ(c.ga_client_id, "11.22");
    EXPECT_EQ(c.person_id, "user:u-1");
    d.order_value = OrderValue::gross_profit;
    EXPECT_DOUBLE_EQ(*prepare(order(), d).conversion->value, 50.5);
}

TEST(Prepare, AnEventWithoutAdIdsTakesThePersonsLatest) {
    const auto d = destination(Kind::google_ads);
    auto e = order(R"({"consent": true, "userAgent": "Firefox"})");
    e.person_ad_ids = R"({"gclid": "g-earlier", "fbp": "fb.1.5.6"})";
    const auto c = *prepare(e, d).conversion;
    EXPECT_EQ(c.gclid, "g-earlier");
    EXPECT_EQ(c.fbp, "fb.1.5.6");
    // Its own win when it has them.
    EXPECT_EQ(prepare(order(), d).conversion->gclid, "g-1");
}

TEST(Prepare, NothingIsSentWithoutTheDestinationsConsent) {
    const auto d = destination(Kind::meta);
    const auto denied = prepare(
        order(R"({"consent": {"categoryPreferences": {"marketing": false, "analytics": true}}})"),
        d);
    EXPECT_FALSE(denied.conversion);
    EXPECT_EQ(denied.skipped, "no consent: context.consent does not grant 'marketing'");
    EXPECT_FALSE(prepare(order("{}"), d).conversion);  // unstated is not consent
    EXPECT_TRUE(prepare(order(R"({"consent": true})"), d).conversion);
}

TEST(Prepare, MicroConversionsAreWorthTheirExpectedRevenueOrTheFixedValue) {
    auto d = destination(Kind::ga4);
    StoredEvent e = order();
    e.what = What::micro;
    e.event_name = "size_guide_read";
    e.properties = "{}";
    const auto unvalued = prepare(e, d);
    EXPECT_FALSE(unvalued.conversion);
    EXPECT_EQ(unvalued.skipped,
              "models.event_value: no expected revenue per occurrence for size_guide_read");
    e.expected_revenue = 3.2549;  // sent to the cent
    const auto observed = prepare(e, d);
    ASSERT_TRUE(observed.conversion);
    EXPECT_EQ(observed.conversion->event_name, "size_guide_read");
    EXPECT_DOUBLE_EQ(*observed.conversion->value, 3.25);
    EXPECT_EQ(observed.conversion->currency, "USD");
    d.micro_value = 4.0;
    d.micro_currency = "EUR";
    EXPECT_DOUBLE_EQ(*prepare(e, d).conversion->value, 4.0);
    EXPECT_EQ(prepare(e, d).conversion->currency, "EUR");
}

TEST(Prepare, AnOrderWithoutRevenueAndARefundWithoutAmountAreSkippedWithTheField) {
    const auto d = destination(Kind::ga4);
    auto e = order();
    e.properties = R"({"order_id": "o-1"})";
    EXPECT_EQ(prepare(e, d).skipped, "properties.revenue: missing, so the order has no value");
    e.what = What::refund;
    EXPECT_EQ(prepare(e, d).skipped, "properties.amount: missing, so the refund has no value");
    e.properties = R"({"order_id": "o-1", "amount": 20})";
    const auto refund = prepare(e, d);
    ASSERT_TRUE(refund.conversion);
    EXPECT_EQ(refund.conversion->event_name, "refund");
    EXPECT_DOUBLE_EQ(*refund.conversion->value, 20);
}

TEST(Requests, MetaGoesToThePixelsEventsWithItsTokenInChunksOfItsLimit) {
    const auto d = destination(Kind::meta);
    std::vector<Conversion> conversions;
    for (int i = 0; i < 3; ++i) {
        auto c = *prepare(order(), d).conversion;
        c.event_id = "ev-" + std::to_string(i);
        conversions.push_back(c);
    }
    conversions[1].occurred_at = kNow - std::chrono::hours(24 * 8);  // Meta refuses it
    const auto plan =
        plan_requests(d, conversions, {What::order, What::order, What::order}, 1, kNow);
    ASSERT_EQ(plan.requests.size(), 2u);
    EXPECT_EQ(plan.requests[0].post.url,
              "https://platform.example/v1/77/events?access_token=token");
    EXPECT_EQ(plan.requests[0].conversions, std::vector<std::size_t>{0});
    EXPECT_EQ(plan.requests[1].conversions, std::vector<std::size_t>{2});
    ASSERT_EQ(plan.left_out.size(), 1u);
    EXPECT_EQ(plan.left_out[0].index, 1u);
    const auto body = json::parse(plan.requests[1].post.body);
    EXPECT_EQ(body["data"][0]["event_id"], "ev-2");
    EXPECT_EQ(body["data"][0]["user_data"]["em"][0],
              "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976");
}

TEST(Requests, GoogleAdsCarriesItsTokensInHeaders) {
    const auto d = destination(Kind::google_ads);
    const auto plan =
        plan_requests(d, {*prepare(order(), d).conversion}, {What::order}, 1000, kNow);
    ASSERT_EQ(plan.requests.size(), 1u);
    const auto& post = plan.requests[0].post;
    EXPECT_EQ(post.url, "https://platform.example/v1/customers/123:uploadClickConversions");
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"authorization", "Bearer token"}, {"developer-token", "developer"}};
    EXPECT_EQ(post.headers, headers);
    EXPECT_EQ(json::parse(post.body)["conversions"][0]["orderId"], "o-1");
}

TEST(Requests, Ga4SendsOneRequestPerClientAndNamesThoseWithout) {
    const auto d = destination(Kind::ga4);
    auto a = *prepare(order(), d).conversion;
    auto b = a;
    b.event_id = "ev-2";
    b.ga_client_id = "33.44";
    auto c = a;
    c.event_id = "ev-3";
    c.ga_client_id.reset();
    const auto plan =
        plan_requests(d, {a, b, c}, {What::order, What::order, What::order}, 1000, kNow);
    ASSERT_EQ(plan.requests.size(), 2u);
    EXPECT_EQ(plan.requests[0].post.url,
              "https://platform.example/mp/collect?measurement_id=G-1&api_secret=secret");
    EXPECT_EQ(json::parse(plan.requests[0].post.body)["client_id"], "11.22");
    EXPECT_EQ(json::parse(plan.requests[1].post.body)["client_id"], "33.44");
    ASSERT_EQ(plan.left_out.size(), 1u);
    EXPECT_EQ(plan.left_out[0].index, 2u);
    EXPECT_NE(plan.left_out[0].reason.find("client_id"), std::string::npos);
}

TEST(Requests, AWebhookIsOneSignedRequestPerEventWithAStableId) {
    const auto d = destination(Kind::webhook);
    const auto c = *prepare(order(), d).conversion;
    const auto plan = plan_requests(d, {c}, {What::order}, 1000, kNow);
    ASSERT_EQ(plan.requests.size(), 1u);
    const auto& post = plan.requests[0].post;
    EXPECT_EQ(post.url, "https://crm.example/hook");
    ASSERT_EQ(post.headers.size(), 3u);
    EXPECT_EQ(post.headers[0].first, "webhook-id");
    EXPECT_EQ(post.headers[0].second, webhook_id("dest", "ev-1"));
    EXPECT_EQ(post.headers[1],
              (std::pair<std::string, std::string>{"webhook-timestamp", "1796644800"}));
    EXPECT_EQ(post.headers[2].second,
              webhook_signature("key", post.headers[0].second, 1796644800, post.body));
    const auto body = json::parse(post.body);
    EXPECT_EQ(body["type"], "conversion.order");
    EXPECT_EQ(body["data"]["event_id"], "ev-1");
    EXPECT_EQ(body["data"]["value"], 120.5);
    // The same on every try, and another for another destination.
    EXPECT_EQ(webhook_id("dest", "ev-1"), webhook_id("dest", "ev-1"));
    EXPECT_NE(webhook_id("other", "ev-1"), webhook_id("dest", "ev-1"));
}

TEST(Judge, ThrottlingServerErrorsAndSilenceAreRetriedOtherRefusalsFail) {
    EXPECT_EQ(judge(Kind::meta, {200, R"({"events_received": 2})", "", {}}).verdict, Verdict::sent);
    EXPECT_EQ(judge(Kind::webhook, {429, "", "", std::chrono::seconds(3)}).verdict, Verdict::retry);
    EXPECT_EQ(judge(Kind::webhook, {503, "busy", "", {}}).verdict, Verdict::retry);
    EXPECT_EQ(judge(Kind::webhook, {408, "", "", {}}).verdict, Verdict::retry);
    const auto silent = judge(Kind::ga4, {0, "", "connect: Connection refused", {}});
    EXPECT_EQ(silent.verdict, Verdict::retry);
    EXPECT_EQ(silent.message, "no answer: connect: Connection refused");
    const auto refused = judge(
        Kind::meta,
        {400,
         R"({"error": {"message": "Invalid parameter", "code": 100, "error_user_msg": "event_time is in the future"}})",
         "",
         {}});
    EXPECT_EQ(refused.verdict, Verdict::failed);
    EXPECT_EQ(refused.message,
              "HTTP 400: Invalid parameter: event_time is in the future (code 100)");
    // Meta's throttling comes as a 400 with a rate limit code.
    EXPECT_EQ(
        judge(Kind::meta, {400, R"({"error": {"message": "Too many calls", "code": 17}})", "", {}})
            .verdict,
        Verdict::retry);
    const auto google =
        judge(Kind::google_ads,
              {401,
               R"({"error": {"code": 401, "message": "bad token", "status": "UNAUTHENTICATED"}})",
               "",
               {}});
    EXPECT_EQ(google.verdict, Verdict::failed);
    EXPECT_EQ(google.message, "HTTP 401: UNAUTHENTICATED: bad token");
}

TEST(Judge, GoogleAdsPartialFailuresNameTheirConversions) {
    const auto body = R"({"results": [{}, {"gclid": "g-2"}, {}],
      "partialFailureError": {"code": 3, "message": "2 errors", "details": [
        {"@type": "type.googleapis.com/google.ads.googleads.v18.errors.GoogleAdsFailure",
         "errors": [
          {"message": "The click is too old.", "location": {"fieldPathElements": [
             {"fieldName": "conversions", "index": 0}, {"fieldName": "gclid"}]}},
          {"message": "Unparseable gclid.", "location": {"fieldPathElements": [
             {"fieldName": "conversions", "index": 2}]}}]}]}})";
    const auto judged = judge(Kind::google_ads, {200, body, "", {}});
    EXPECT_EQ(judged.verdict, Verdict::sent);
    const std::map<std::size_t, std::string> failed = {{0, "The click is too old."},
                                                       {2, "Unparseable gclid."}};
    EXPECT_EQ(judged.failed, failed);
}

TEST(RetryAfter, SecondsOrAnHttpDate) {
    EXPECT_EQ(parse_retry_after("120", kNow), std::chrono::seconds(120));
    EXPECT_EQ(parse_retry_after("999999999999", kNow), std::chrono::seconds(86'400));  // a day
    EXPECT_EQ(parse_retry_after("Mon, 07 Dec 2026 12:00:30 GMT", kNow), std::chrono::seconds(30));
    EXPECT_EQ(parse_retry_after("Mon, 07 Dec 2026 11:00:00 GMT", kNow), std::chrono::seconds(0));
    EXPECT_EQ(parse_retry_after("soon", kNow), std::nullopt);
    EXPECT_EQ(parse_retry_after("", kNow), std::nullopt);
}

TEST(RetryDelay, DoublesUpToTheLongestWithJitterAndRetryAfterOnlyLengthens) {
    std::mt19937_64 random(7);
    using std::chrono::milliseconds;
    for (int i = 0; i < 50; ++i) {
        const auto first = retry_delay(1, milliseconds(1000), milliseconds(60'000), {}, random);
        EXPECT_GE(first, milliseconds(500));
        EXPECT_LE(first, milliseconds(1000));
        const auto fourth = retry_delay(4, milliseconds(1000), milliseconds(60'000), {}, random);
        EXPECT_GE(fourth, milliseconds(4000));
        EXPECT_LE(fourth, milliseconds(8000));
        const auto capped = retry_delay(30, milliseconds(1000), milliseconds(60'000), {}, random);
        EXPECT_GE(capped, milliseconds(30'000));
        EXPECT_LE(capped, milliseconds(60'000));
        // Retry-After longer than the backoff wins; shorter changes nothing.
        EXPECT_EQ(retry_delay(1, milliseconds(1000), milliseconds(60'000), std::chrono::seconds(90),
                              random),
                  milliseconds(90'000));
        EXPECT_GE(retry_delay(4, milliseconds(1000), milliseconds(60'000), std::chrono::seconds(1),
                              random),
                  milliseconds(4000));
    }
}

TEST(Requests, AWebhookIsSignedAgainWhenItLeavesLater) {
    const auto d = destination(Kind::webhook);
    auto post = plan_requests(d, {*prepare(order(), d).conversion}, {What::order}, 1000, kNow)
                    .requests.at(0)
                    .post;
    const auto id = post.headers[0].second;
    sign_webhook(post, "key", kNow + std::chrono::minutes(10));
    ASSERT_EQ(post.headers.size(), 3u);
    EXPECT_EQ(post.headers[0], (std::pair<std::string, std::string>{"webhook-id", id}));
    EXPECT_EQ(post.headers[1].second, "1796645400");
    EXPECT_EQ(post.headers[2].second, webhook_signature("key", id, 1796645400, post.body));
}

TEST(Judge, APlatformsMessageIsStoredCutBetweenCharactersAndWithoutNuls) {
    std::string body = R"({"error": {"message": ")";
    for (int i = 0; i < 300; ++i) body += "é";  // two bytes each
    body += R"("}})";
    const auto judged = judge(Kind::webhook, {400, body, "", {}});
    const auto message = judged.message.substr(std::string("HTTP 400: ").size());
    ASSERT_EQ(message.substr(message.size() - 3), "...");
    EXPECT_EQ((message.size() - 3) % 2, 0u) << "cut inside a character";
    const auto raw = judge(Kind::webhook, {400, std::string("bad\0input", 9), "", {}});
    EXPECT_EQ(raw.message, "HTTP 400: badinput");
}
