// Request bodies in each ad platform's documented format. The hashes in the
// expected bodies were computed independently (Python's hashlib).
#include "funnelhouse/activation/platforms.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace funnelhouse;
using namespace funnelhouse::activation;
using nlohmann::json;

namespace {

const auto kNow = *common::parse_timestamp("2024-05-08T00:00:00Z");

Conversion order(const std::string& id, const std::string& at) {
    Conversion c;
    c.event_id = id;
    c.event_name = "Purchase";
    c.occurred_at = *common::parse_timestamp(at);
    c.value = 12.5;
    c.currency = "EUR";
    c.order_id = "order-" + id;
    c.user_agent = "Mozilla/5.0";
    c.page_url = "https://shop.example/checkout";
    return c;
}

std::vector<std::size_t> indexes(const std::vector<LeftOut>& left_out) {
    std::vector<std::size_t> out;
    for (const auto& item : left_out) out.push_back(item.index);
    return out;
}

}  // namespace

TEST(Meta, SendsEachEventWithItsIdHashedPersonAndValue) {
    auto full = order("e-1", "2024-05-01T12:00:00.250Z");
    full.email = " Ann@Example.COM";
    full.phone = "0151 12345678";
    full.person_id = "user:ann";
    full.client_address = "203.0.113.7";
    full.fbp = "fb.1.1714560000000.123";
    full.fbc = "fb.1.1714560000000.abc";
    const auto old = order("e-2", "2024-04-30T23:59:59Z");  // 8 days before kNow
    auto no_agent = order("e-3", "2024-05-07T00:00:00Z");
    no_agent.user_agent.reset();
    const auto body = meta_events({full, old, no_agent}, kNow, "TEST123", "49");

    EXPECT_EQ(body.sent, std::vector<std::size_t>{0});
    EXPECT_EQ(indexes(body.left_out), (std::vector<std::size_t>{1, 2}));
    EXPECT_EQ(body.left_out[0].reason,
              "event_time: more than 7 days ago, which Meta refuses (and with it the request)");
    EXPECT_EQ(body.left_out[1].reason, "client_user_agent: Meta requires it for website events");
    EXPECT_EQ(json::parse(body.json), json::parse(R"({
      "data": [{
        "event_name": "Purchase", "event_time": 1714564800, "event_id": "e-1",
        "action_source": "website", "event_source_url": "https://shop.example/checkout",
        "user_data": {
          "em": ["71d4f55f72fa128dfb468a1a3901507c804b74316488744d769d7f4b16696476"],
          "ph": ["8efb96404be52f6109b9db0f687274a81e9e3cc23fabd6f0da5d38baa3d2facd"],
          "external_id": ["b7b15a392649eaf59c97b8faa340708235b8b867f5687599db78003ec12ca43d"],
          "client_ip_address": "203.0.113.7", "client_user_agent": "Mozilla/5.0",
          "fbp": "fb.1.1714560000000.123", "fbc": "fb.1.1714560000000.abc"},
        "custom_data": {"value": 12.5, "currency": "EUR"}}],
      "test_event_code": "TEST123"})"));
}

TEST(Meta, NothingToSendMeansNoBody) {
    const auto body = meta_events({order("e-1", "2024-04-01T00:00:00Z")}, kNow, std::nullopt, "");
    EXPECT_TRUE(body.json.empty());
    EXPECT_TRUE(body.sent.empty());
    EXPECT_EQ(body.left_out.size(), 1u);
}

TEST(GoogleAds, ClickConversionsCarryOneClickIdAndTheHashedEmail) {
    auto by_gclid = order("e-1", "2024-05-01T12:00:00.9Z");
    by_gclid.gclid = "Cj0KCQ";
    by_gclid.wbraid = "ignored-when-a-gclid-is-there";
    by_gclid.email = "Ann.Smith@gmail.com";
    auto by_wbraid = order("e-2", "2024-05-02T08:30:00Z");
    by_wbraid.wbraid = "WB1";
    by_wbraid.value.reset();
    const auto no_click = order("e-3", "2024-05-02T09:00:00Z");
    const auto body = google_ads_click_conversions({by_gclid, by_wbraid, no_click},
                                                   "customers/123/conversionActions/456");
    EXPECT_EQ(body.sent, (std::vector<std::size_t>{0, 1}));
    ASSERT_EQ(body.left_out.size(), 1u);
    EXPECT_EQ(body.left_out[0].index, 2u);
    EXPECT_EQ(json::parse(body.json), json::parse(R"({
      "conversions": [
        {"conversionAction": "customers/123/conversionActions/456",
         "conversionDateTime": "2024-05-01 12:00:00+00:00", "gclid": "Cj0KCQ",
         "conversionValue": 12.5, "currencyCode": "EUR", "orderId": "order-e-1",
         "userIdentifiers": [
           {"hashedEmail": "c1a222ae1fca88014d03eef4e45c3dd3785f2be3f454078836a3557761df0746"}]},
        {"conversionAction": "customers/123/conversionActions/456",
         "conversionDateTime": "2024-05-02 08:30:00+00:00", "wbraid": "WB1",
         "currencyCode": "EUR", "orderId": "order-e-2"}],
      "partialFailure": true})"));
}

TEST(GoogleAds, TheCsvForManualUploadListsConversionsWithAClickId) {
    auto first = order("e-1", "2024-05-01T12:00:00Z");
    first.gclid = "Cj0KCQ";
    auto second = order("e-2", "2024-05-02T08:30:00Z");
    second.gclid = "Ab,\"c";
    second.value.reset();
    const auto no_click = order("e-3", "2024-05-02T09:00:00Z");
    EXPECT_EQ(
        google_ads_csv({first, second, no_click}, "Purchase, online"),
        "Parameters:TimeZone=+0000\n"
        "Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency\n"
        "Cj0KCQ,\"Purchase, online\",2024-05-01 12:00:00,12.5,EUR\n"
        "\"Ab,\"\"c\",\"Purchase, online\",2024-05-02 08:30:00,,EUR\n");
}

TEST(Ga4, NamesFollowGa4sRules) {
    EXPECT_EQ(ga4_name_error("purchase", true), std::nullopt);
    EXPECT_EQ(ga4_name_error("size_guide_read2", true), std::nullopt);
    EXPECT_EQ(ga4_name_error("", true), "empty");
    EXPECT_EQ(ga4_name_error(std::string(41, 'a'), true), "longer than 40 characters");
    EXPECT_EQ(ga4_name_error(std::string(40, 'a'), true), std::nullopt);
    EXPECT_EQ(ga4_name_error("1st_order", true), "must start with a letter");
    EXPECT_EQ(ga4_name_error("add-to-cart", true), "only letters, digits and underscores");
    EXPECT_EQ(ga4_name_error("ga_order", true), "the prefix ga_ is reserved");
    EXPECT_EQ(ga4_name_error("firebase_x", false), "the prefix firebase_ is reserved");
    EXPECT_EQ(ga4_name_error("session_start", true), "session_start is a reserved event name");
    EXPECT_EQ(ga4_name_error("session_start", false), std::nullopt);
}

TEST(Ga4, OneRequestPerClientIdWithEachEventsTime) {
    auto first = order("e-1", "2024-05-07T12:00:00.000001Z");
    first.event_name = "purchase";
    first.ga_client_id = "123.456";
    first.user_id = "ann";
    auto other_client = first;
    other_client.ga_client_id = "789.1";
    auto reserved = first;
    reserved.event_name = "first_visit";
    auto late = first;
    late.occurred_at = *common::parse_timestamp("2024-05-04T23:59:59Z");
    const auto body = ga4_events({first, other_client, reserved, late}, kNow);
    EXPECT_EQ(body.sent, std::vector<std::size_t>{0});
    ASSERT_EQ(body.left_out.size(), 3u);
    EXPECT_EQ(body.left_out[0].reason,
              "client_id: not this request's (one request per GA4 client id)");
    EXPECT_EQ(body.left_out[1].reason, "event name: first_visit is a reserved event name");
    EXPECT_EQ(body.left_out[2].reason, "timestamp_micros: more than 72 hours ago, which GA4 drops");
    EXPECT_EQ(json::parse(body.json), json::parse(R"({
      "client_id": "123.456", "user_id": "ann",
      "events": [{"name": "purchase", "timestamp_micros": 1715083200000001,
                  "params": {"value": 12.5, "currency": "EUR", "transaction_id": "order-e-1"}}]})"));
}
