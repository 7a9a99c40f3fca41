// Messages are parsed once (simdjson) and read as nlohmann::json reads JSON:
// these tests hold the two readings equal where they could differ.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/ingest/error.hpp"
#include "funnelhouse/ingest/json_spans.hpp"
#include "funnelhouse/ingest/request.hpp"
#include "test_contracts.hpp"

using namespace funnelhouse;
using nlohmann::json;

namespace {

std::string printed(std::string_view number) { return json::parse(number).dump(); }

ingest::RequestOutcome post(std::string_view route, const std::string& body,
                            const ingest::IngestSettings& settings = {}) {
    const auto authorization = "Basic " + common::base64_encode(std::string{"server-key:"});
    ingest::RequestInput input;
    input.route = route;
    input.body = body;
    input.authorization = authorization;
    input.received_at = *common::parse_timestamp("2024-05-01T12:00:00Z");
    return ingest::process_request(input, test::browser_and_server_keys(),
                                   test::repository_contracts(), settings);
}

std::string track(const std::string& properties, const std::string& id = "m1") {
    return R"({"type":"track","messageId":")" + id +
           R"(","event":"add_to_cart","userId":"u1","properties":)" + properties + "}";
}

}  // namespace

TEST(PrintsAsSent, AgreesWithWhatNlohmannPrints) {
    for (const char* same : {"0", "3", "-7", "19.5", "0.1", "-0.0", "0.0", "100.0", "0.001",
                             "18446744073709551615", "-9223372036854775808", "1e-05"})
        EXPECT_TRUE(ingest::prints_as_sent(same)) << same << " prints as " << printed(same);
    for (const char* other : {"-0", "1.50", "1e2", "1E2", "100.00", "0.00001", "2.0e0",
                              "0.30000000000000001", "18446744073709551616"})
        EXPECT_FALSE(ingest::prints_as_sent(other)) << other << " prints as " << printed(other);
}

TEST(PrintsAsSent, NeverClaimsAFormThatPrintsOtherwise) {
    // Numbers as senders write them: short decimals, long ones, exponents.
    std::mt19937_64 random(7);
    std::uniform_int_distribution<int> digits(1, 19);
    std::uniform_int_distribution<int> exponent(-30, 30);
    char text[64];
    for (int i = 0; i < 20000; ++i) {
        const double value = std::ldexp(static_cast<double>(random() >> 11), exponent(random)) /
                             std::pow(10.0, digits(random) % 8);
        const char* format = i % 3 == 0 ? "%.*f" : i % 3 == 1 ? "%.*g" : "%.*e";
        std::snprintf(text, sizeof text, format, digits(random), value);
        if (!json::accept(text)) continue;
        if (ingest::prints_as_sent(text)) {
            EXPECT_EQ(printed(text), text);
        }
        EXPECT_TRUE(ingest::prints_as_sent(printed(text))) << text;
    }
}

TEST(MemberSpans, GiveEachMembersBytesAndWhetherItsNumbersPrintAsSent) {
    const auto members =
        ingest::object_member_spans(R"({ "a" : { "x": [1, 2.50] } , "b\u0061":"s", "c":19.5 })");
    ASSERT_TRUE(members);
    ASSERT_EQ(members->size(), 3u);
    EXPECT_EQ((*members)[0].value, R"({ "x": [1, 2.50] })");
    EXPECT_FALSE((*members)[0].numbers_as_printed);
    EXPECT_EQ((*members)[1].key, R"("b\u0061")");  // as written
    EXPECT_EQ((*members)[1].value, R"("s")");
    EXPECT_TRUE((*members)[2].numbers_as_printed);
    EXPECT_FALSE(ingest::object_member_spans("[1]"));
}

TEST(ParseOnce, PropertiesNeedingNoChangeAreStoredAsSent) {
    const std::string properties = R"({ "product_id": "p\u00e9",  "price": 19.5 })";
    const auto outcome = post("/v1/batch", R"({"batch":[)" + track(properties) + "]}");
    ASSERT_EQ(outcome.events.size(), 1u) << outcome.rejected_json;
    EXPECT_EQ(outcome.events[0].properties, properties);
}

TEST(ParseOnce, ANumberWrittenOtherwiseIsStoredAsItWasAlwaysPrinted) {
    const auto outcome = post("/v1/track", track(R"({"product_id":"p","price":1.50})"));
    ASSERT_EQ(outcome.events.size(), 1u) << outcome.rejected_json;
    EXPECT_EQ(outcome.events[0].properties, R"({"price":1.5,"product_id":"p"})");
}

TEST(ParseOnce, IntegersPastSixtyFourBitsAreReadAsDoublesNotRefused) {
    const std::string message =
        track(R"({"product_id":"p","quantity":1,"price":184467440737095516160})");
    const std::string rejected =
        track(R"({"product_id":"p","price":-1,"n":99999999999999999999})", "m2");
    const auto outcome = post("/v1/batch", R"({"batch":[)" + message + "," + rejected + "]}");
    ASSERT_FALSE(outcome.error) << outcome.error_message;
    ASSERT_EQ(outcome.events.size(), 1u) << outcome.rejected_json;
    EXPECT_EQ(json::parse(outcome.events[0].properties)["price"], 1.8446744073709552e+20);
    ASSERT_EQ(outcome.bad_events.size(), 1u);
    EXPECT_EQ(outcome.bad_events[0].raw_event, rejected);  // the bytes received
}

TEST(ParseOnce, OfRepeatedKeysTheLastCountsEverywhere) {
    // Valid only as its last "price"; the stored jsonb keeps the last too.
    const auto kept = post("/v1/track", track(R"({"product_id":"p","price":"x","price":2})"));
    ASSERT_EQ(kept.events.size(), 1u) << kept.rejected_json;
    const auto refused = post("/v1/track", track(R"({"product_id":"p","price":2,"price":"x"})"));
    ASSERT_EQ(refused.bad_events.size(), 1u);
    EXPECT_EQ(json::parse(refused.bad_events[0].errors)[0]["path"], "/properties/price");
    // The event's own fields too: the last messageId names it.
    const auto named = post(
        "/v1/track", R"({"messageId":"first","type":"track","event":"add_to_cart","userId":"u1",)"
                     R"("properties":{"product_id":"p"},"messageId":"last"})");
    ASSERT_EQ(named.events.size(), 1u);
    EXPECT_EQ(named.events[0].event_id, "last");
}

TEST(ParseOnce, ErrorsComeInTheOrderOfTheKeys) {
    const auto outcome =
        post("/v1/track", track(R"({"quantity":"two","product_id":"","price":"free"})"));
    ASSERT_EQ(outcome.bad_events.size(), 1u);
    const auto errors = json::parse(outcome.bad_events[0].errors);
    ASSERT_GE(errors.size(), 3u);
    std::vector<std::string> paths;
    for (const auto& error : errors) paths.push_back(error["path"]);
    EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end())) << errors.dump();
}

TEST(ParseOnce, TheNestingLimitHoldsToTheLevel) {
    ingest::IngestSettings settings;
    settings.max_json_depth = 6;
    // body, batch, message, properties: four levels; then the extra ones.
    const auto nested = [](int levels, const char* innermost) {
        std::string value = innermost;
        for (int i = 0; i < levels; ++i) value = "[" + value + "]";
        return R"({"batch":[)" + track(R"({"product_id":"p","tags":)" + value + "}") + "]}";
    };
    for (const char* innermost : {"", "1"}) {
        EXPECT_FALSE(post("/v1/batch", nested(2, innermost), settings).error) << innermost;
        const auto deep = post("/v1/batch", nested(3, innermost), settings);
        EXPECT_EQ(deep.error, make_error_code(ingest::errc::nesting_too_deep)) << innermost;
    }
}

TEST(ParseOnce, PageNameAndCategoryJoinThePropertiesOnce) {
    const auto outcome =
        post("/v1/page",
             R"({"userId":"u1","name":"Home","category":"landing","properties":{ "path":"/" }})");
    ASSERT_EQ(outcome.events.size(), 1u) << outcome.rejected_json;
    EXPECT_EQ(json::parse(outcome.events[0].properties),
              json::parse(R"({"path":"/","name":"Home","category":"landing"})"));
    const auto own =
        post("/v1/page", R"({"userId":"u1","name":"Home","properties":{"name":"Own"}})");
    ASSERT_EQ(own.events.size(), 1u) << own.rejected_json;
    EXPECT_EQ(json::parse(own.events[0].properties), json::parse(R"({"name":"Own"})"));
}
