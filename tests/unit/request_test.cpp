#include "funnelhouse/ingest/request.hpp"

#include <gtest/gtest.h>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/common/gzip.hpp"
#include "funnelhouse/ingest/error.hpp"
#include "funnelhouse/ingest/json_spans.hpp"
#include "test_contracts.hpp"

using namespace funnelhouse;
using nlohmann::json;

namespace {

class RequestTest : public ::testing::Test {
  protected:
    ingest::RequestOutcome run(std::string_view route, const std::string& body,
                               const std::string& authorization = "") {
        ingest::RequestInput input{route, body, authorization,
                                   *common::parse_timestamp("2024-05-01T12:00:00Z")};
        return ingest::process_request(input, *keys_, *registry_, settings_);
    }

    static std::string basic(const std::string& key) {
        return "Basic " + common::base64_encode(key + ":");
    }

    const schema::SchemaRegistry* registry_ = &test::repository_contracts();
    const ingest::WriteKeyRing* keys_ = &test::browser_and_server_keys();
    ingest::IngestSettings settings_;
};

}  // namespace

TEST(JsonSpans, ReturnsEachElementsExactBytes) {
    const std::string text =
        R"( { "sentAt":"x", "batch" : [ {"a":"]\"}"} ,  7,"s",[1,[2]] , null ] } )";
    const auto spans = ingest::batch_message_spans(text);
    ASSERT_TRUE(spans.has_value());
    ASSERT_EQ(spans->size(), 5u);
    EXPECT_EQ((*spans)[0].text, R"({"a":"]\"}"})");
    EXPECT_EQ((*spans)[1].text, "7");
    EXPECT_EQ((*spans)[2].text, R"("s")");
    EXPECT_EQ((*spans)[3].text, "[1,[2]]");
    EXPECT_EQ((*spans)[4].text, "null");
    ASSERT_TRUE((*spans)[0].members.has_value());
    ASSERT_EQ((*spans)[0].members->size(), 1u);
    EXPECT_EQ((*(*spans)[0].members)[0].value, R"("]\"}")");
    EXPECT_FALSE((*spans)[1].members.has_value());
    EXPECT_FALSE(ingest::batch_message_spans(R"({"batch":{}})").has_value());
    EXPECT_FALSE(ingest::batch_message_spans(R"({"other":[1]})").has_value());
    EXPECT_EQ(ingest::batch_message_spans(R"({"b\u0061tch":[1]})")->size(), 1u);
}

TEST(JsonSpans, SurvivesDeepNesting) {
    const std::string deep =
        R"({"batch":[)" + std::string(100000, '[') + std::string(100000, ']') + "]}";
    const auto spans = ingest::batch_message_spans(deep);
    ASSERT_TRUE(spans.has_value());
    EXPECT_EQ(spans->size(), 1u);
}

TEST(WriteKeys, ReadsBasicAuthorization) {
    EXPECT_EQ(ingest::write_key_from_authorization("Basic " + common::base64_encode("abc:")),
              "abc");
    EXPECT_EQ(ingest::write_key_from_authorization("basic " + common::base64_encode("abc")), "abc");
    EXPECT_FALSE(ingest::write_key_from_authorization("Bearer abc").has_value());
    EXPECT_FALSE(ingest::write_key_from_authorization("Basic !!!").has_value());
}

TEST(WriteKeys, RefusesBadKeyFiles) {
    EXPECT_THROW(ingest::WriteKeyRing::from_json_text(R"({"name":"x"})", "k"), std::runtime_error);
    EXPECT_THROW(
        ingest::WriteKeyRing::from_json_text(R"([{"name":"x","key":"k","source":"mobile"}])", "k"),
        std::runtime_error);
    EXPECT_THROW(
        ingest::WriteKeyRing::from_json_text(
            R"([{"name":"x","key":"k","source":"server"},{"name":"y","key":"k","source":"server"}])",
            "k"),
        std::runtime_error);
}

TEST(WriteKeys, ReadAKeysOwnRateLimits) {
    const auto ring = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"web","key":"b","source":"browser","address_rate_limit":{"per_second":20}},
            {"name":"backend","key":"s","source":"server",
             "rate_limit":{"per_second":20000,"burst":50000}},
            {"name":"plain","key":"p","source":"server"}])",
        "k");
    const auto* web = ring.find("b");
    ASSERT_TRUE(web && web->address_rate_limit);
    EXPECT_EQ(web->address_rate_limit->per_second, 20);
    EXPECT_EQ(web->address_rate_limit->burst, 40);  // twice the rate unless given
    EXPECT_FALSE(web->rate_limit);
    const auto* backend = ring.find("s");
    ASSERT_TRUE(backend && backend->rate_limit);
    EXPECT_EQ(backend->rate_limit->burst, 50000);
    EXPECT_FALSE(ring.find("p")->rate_limit);
    // Each mistake named.
    const auto refusal = [](const std::string& entry) -> std::string {
        try {
            ingest::WriteKeyRing::from_json_text("[" + entry + "]", "keys.json");
        } catch (const std::runtime_error& error) {
            return error.what();
        }
        return "accepted";
    };
    EXPECT_EQ(
        refusal(
            R"({"name":"s","key":"s","source":"server","address_rate_limit":{"per_second":5}})"),
        "keys file 'keys.json' entry 0: 'address_rate_limit' only applies to browser keys (a "
        "backend speaks for many people from one address)");
    EXPECT_EQ(refusal(R"({"name":"s","key":"s","source":"server","rate_limit":{"per_second":-1}})"),
              "keys file 'keys.json' entry 0: 'rate_limit'.per_second must be a number from 0 to "
              "1e9, got -1");
    EXPECT_EQ(refusal(R"({"name":"s","key":"s","source":"server","rate_limit":{"burst":5}})"),
              "keys file 'keys.json' entry 0: 'rate_limit' needs per_second (requests per second; "
              "0 turns it off)");
    EXPECT_EQ(
        refusal(
            R"({"name":"s","key":"s","source":"server","rate_limit":{"per_second":5,"rps":1}})"),
        "keys file 'keys.json' entry 0: 'rate_limit' has an unknown field 'rps': use "
        "per_second and burst");
    EXPECT_EQ(refusal(R"({"name":"s","key":"s","source":"server","rate_limit":100})"),
              "keys file 'keys.json' entry 0: 'rate_limit' must be an object such as "
              "{\"per_second\": 1000, \"burst\": 2000}");
    EXPECT_EQ(
        refusal(
            R"({"name":"s","key":"s","source":"server","rate_limit":{"per_second":5,"burst":0.5}})"),
        "keys file 'keys.json' entry 0: 'rate_limit'.burst must be at least 1");
}

TEST_F(RequestTest, SplitsABatchIntoEventsAndRejections) {
    const std::string bad_message =
        R"({"type":"track","messageId":"m2","event":"add_to_cart","anonymousId":"a","properties":{"product_id":"p","price":"cheap"}})";
    const std::string body = R"({"sentAt":"2024-05-01T11:59:59Z","batch":[
        {"type":"track","messageId":"m1","event":"add_to_cart","anonymousId":"a","properties":{"product_id":"p"}},
        )" + bad_message + R"(,
        {"type":"page","anonymousId":"a","properties":{"path":"/"}}]})";
    const auto outcome = run("/v1/batch", body, basic("browser-key"));
    ASSERT_FALSE(outcome.error) << outcome.error_message;
    ASSERT_EQ(outcome.events.size(), 2u);
    EXPECT_EQ(outcome.events[0].event_id, "m1");
    EXPECT_EQ(outcome.events[1].event_name, "page_view");
    EXPECT_EQ(common::format_timestamp(*outcome.events[0].sent_at), "2024-05-01T11:59:59.000000Z");
    ASSERT_EQ(outcome.bad_events.size(), 1u);
    const auto& bad = outcome.bad_events[0];
    EXPECT_EQ(bad.raw_event, bad_message);
    EXPECT_EQ(bad.reason, "schema_violation");
    EXPECT_EQ(bad.event_id, "m2");
    EXPECT_EQ(bad.write_key_name, "web");
    EXPECT_EQ(bad.route, "/v1/batch");
    EXPECT_EQ(json::parse(bad.errors)[0]["path"], "/properties/price");

    const auto response = json::parse(ingest::accepted_body(2, 0, 0, outcome));
    EXPECT_EQ(response["accepted"], 2);
    EXPECT_EQ(response["duplicates"], 0);
    ASSERT_EQ(response["rejected"].size(), 1u);
    EXPECT_EQ(response["rejected"][0]["index"], 1);
    EXPECT_EQ(response["rejected"][0]["event_id"], "m2");
    EXPECT_EQ(response["rejected"][0]["errors"][0]["path"], "/properties/price");
    ASSERT_EQ(response["assigned_ids"].size(), 1u);
    EXPECT_EQ(response["assigned_ids"][0]["index"], 2);
    EXPECT_EQ(response["assigned_ids"][0]["event_id"], outcome.events[1].event_id);
}

TEST_F(RequestTest, AuthenticatesByHeaderOrBody) {
    const auto by_body = run(
        "/v1/track",
        R"({"writeKey":"server-key","event":"add_to_cart","userId":"u","properties":{"product_id":"p"}})");
    ASSERT_FALSE(by_body.error) << by_body.error_message;
    EXPECT_EQ(by_body.events.at(0).write_key_name, "backend");
    EXPECT_EQ(by_body.events.at(0).source, common::Source::server);

    const auto unknown = run("/v1/batch", R"({"batch":[]})", basic("nope"));
    EXPECT_EQ(unknown.error, ingest::errc::unknown_write_key);
    const auto missing = run("/v1/batch", R"({"batch":[]})");
    EXPECT_EQ(missing.error, ingest::errc::missing_write_key);
}

TEST_F(RequestTest, MalformedBodiesSayWhatIsWrong) {
    const auto broken = run("/v1/batch", R"({"batch":[{"type":"track",}]})", basic("browser-key"));
    EXPECT_EQ(broken.error, ingest::errc::malformed_json);
    EXPECT_NE(broken.error_message.find("line 1, column 27"), std::string::npos)
        << broken.error_message;

    const auto not_list = run("/v1/batch", R"({"batch":{"type":"track"}})", basic("browser-key"));
    EXPECT_EQ(not_list.error, ingest::errc::wrong_shape);
    EXPECT_EQ(not_list.error_message, "'batch' must be a list of messages");

    const auto array_body = run("/v1/track", "[]", basic("browser-key"));
    EXPECT_EQ(array_body.error, ingest::errc::wrong_shape);

    const auto bad_sent_at =
        run("/v1/batch", R"({"sentAt":"soon","batch":[]})", basic("browser-key"));
    EXPECT_EQ(bad_sent_at.error, ingest::errc::wrong_shape);
}

TEST_F(RequestTest, EnforcesSizeLimitsNamingThem) {
    const std::string big(33 * 1024, 'x');
    const auto big_event = run(
        "/v1/batch",
        R"({"batch":[{"type":"track","event":"add_to_cart"},{"type":"track","event":"add_to_cart","properties":{"product_id":"p","note":")" +
            big + R"("}}]})",
        basic("browser-key"));
    EXPECT_EQ(big_event.error, ingest::errc::event_too_large);
    EXPECT_NE(big_event.error_message.find("message at index 1"), std::string::npos)
        << big_event.error_message;
    EXPECT_NE(big_event.error_message.find("32768"), std::string::npos);

    settings_.max_request_bytes = 1000;
    const auto big_request =
        run("/v1/batch", R"({"batch":[],"pad":")" + std::string(1000, 'x') + "\"}",
            basic("browser-key"));
    EXPECT_EQ(big_request.error, ingest::errc::request_too_large);
}

TEST_F(RequestTest, UnknownRouteIsNotFound) {
    EXPECT_EQ(run("/v1/screenshot", "{}").error, ingest::errc::not_found);
}

TEST(JsonSpans, WithoutMemberRemovesOnlyThatMember) {
    EXPECT_EQ(ingest::without_member(R"({"writeKey":"s3cret", "event":"x"})", "writeKey"),
              R"({"event":"x"})");
    EXPECT_EQ(ingest::without_member(R"({"event":"x" ,"writeKey":"s3cret"})", "writeKey"),
              R"({"event":"x"})");
    EXPECT_EQ(ingest::without_member(
                  R"({"a":1,"writeKey":"k","writeKey":"k2","b":{"writeKey":"inner"}})", "writeKey"),
              R"({"a":1,"b":{"writeKey":"inner"}})");
    EXPECT_EQ(ingest::without_member(R"({ "writeKey" : "k" })", "writeKey"), "{  }");
    EXPECT_EQ(ingest::without_member("[1,2]", "writeKey"), "[1,2]");
}

TEST_F(RequestTest, StoredRejectionsNeverHoldTheWriteKey) {
    const std::string body =
        R"({"writeKey":"server-key","event":"add_to_cart","userId":"u","properties":{"price":"x"}})";
    const auto outcome = run("/v1/track", body);
    ASSERT_FALSE(outcome.error) << outcome.error_message;
    ASSERT_EQ(outcome.bad_events.size(), 1u);
    EXPECT_EQ(outcome.bad_events[0].raw_event,
              R"({"event":"add_to_cart","userId":"u","properties":{"price":"x"}})");
}

TEST_F(RequestTest, ARetriedRejectionMapsToTheSameRow) {
    const std::string body =
        R"({"batch":[{"type":"track","event":"mystery"},{"type":"track","event":"mystery"}]})";
    const auto first = run("/v1/batch", body, basic("browser-key"));
    const auto retry = run("/v1/batch", body, basic("browser-key"));
    ASSERT_EQ(first.bad_events.size(), 2u);
    ASSERT_EQ(retry.bad_events.size(), 2u);
    EXPECT_EQ(first.bad_events[0].bad_event_id, retry.bad_events[0].bad_event_id);
    EXPECT_EQ(first.bad_events[1].bad_event_id, retry.bad_events[1].bad_event_id);
    // Two identical messages in one batch are still two rows.
    EXPECT_NE(first.bad_events[0].bad_event_id, first.bad_events[1].bad_event_id);
}

TEST_F(RequestTest, GzipBodiesAreInflatedWithinTheLimit) {
    const std::string body =
        R"({"batch":[{"type":"track","event":"add_to_cart","anonymousId":"a","properties":{"product_id":"p"}}]})";
    const auto compressed = common::gzip_compress(body);
    const auto authorization = basic("browser-key");
    ingest::RequestInput input{"/v1/batch", compressed, authorization,
                               *common::parse_timestamp("2024-05-01T12:00:00Z"), "gzip"};
    const auto outcome = ingest::process_request(input, *keys_, *registry_, settings_);
    ASSERT_FALSE(outcome.error) << outcome.error_message;
    EXPECT_EQ(outcome.events.size(), 1u);

    const auto bomb =
        common::gzip_compress(R"({"batch":[],"pad":")" + std::string(600 * 1024, ' ') + "\"}");
    input.body = bomb;
    const auto refused = ingest::process_request(input, *keys_, *registry_, settings_);
    EXPECT_EQ(refused.error, ingest::errc::request_too_large);
    EXPECT_NE(refused.error_message.find("inflates past 512000 bytes"), std::string::npos);

    input.body = "garbage";
    EXPECT_EQ(ingest::process_request(input, *keys_, *registry_, settings_).error,
              ingest::errc::wrong_shape);
    input.content_encoding = "br";
    EXPECT_EQ(ingest::process_request(input, *keys_, *registry_, settings_).error,
              ingest::errc::unsupported_encoding);
}

TEST_F(RequestTest, OriginsDecideWhichPagesMaySend) {
    const auto keys = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"shop","key":"bk","source":"browser","origins":["https://shop.example"]},
            {"name":"backend","key":"sk","source":"server"}])",
        "test");
    const std::string body =
        R"({"event":"add_to_cart","anonymousId":"a","properties":{"product_id":"p"}})";
    auto run_with = [&](const std::string& key, std::string_view origin) {
        const auto authorization = basic(key);
        ingest::RequestInput input{
            "/v1/track", body,  authorization, *common::parse_timestamp("2024-05-01T12:00:00Z"),
            "",          origin};
        return ingest::process_request(input, keys, *registry_, settings_);
    };
    EXPECT_FALSE(run_with("bk", "https://shop.example").error);
    EXPECT_FALSE(run_with("bk", "").error);  // not a browser: no Origin
    const auto elsewhere = run_with("bk", "https://evil.example");
    EXPECT_EQ(elsewhere.error, ingest::errc::origin_not_allowed);
    EXPECT_EQ(elsewhere.error_message,
              "origin 'https://evil.example' is not in the origins of write key 'shop'");
    EXPECT_EQ(run_with("sk", "https://shop.example").error, ingest::errc::origin_not_allowed);
    EXPECT_TRUE(keys.any_browser_key_allows("https://shop.example"));
    EXPECT_FALSE(keys.any_browser_key_allows("https://evil.example"));

    EXPECT_THROW(
        ingest::WriteKeyRing::from_json_text(
            R"([{"name":"x","key":"k","source":"browser","origins":["https://shop.example/path"]}])",
            "t"),
        std::runtime_error);
    EXPECT_THROW(ingest::WriteKeyRing::from_json_text(
                     R"([{"name":"x","key":"k","source":"server","origins":["*"]}])", "t"),
                 std::runtime_error);
}

TEST_F(RequestTest, BrowserLibraryShortPathsMapToTheirTypes) {
    const auto track = run(
        "/v1/t",
        R"({"writeKey":"browser-key","type":"track","event":"add_to_cart","anonymousId":"a","properties":{"product_id":"p"}})");
    ASSERT_FALSE(track.error) << track.error_message;
    EXPECT_EQ(track.events.at(0).event_name, "add_to_cart");
    const auto page =
        run("/v1/p", R"({"writeKey":"browser-key","anonymousId":"a","properties":{"path":"/"}})");
    ASSERT_FALSE(page.error);
    EXPECT_EQ(page.events.at(0).event_name, "page_view");
    const auto batch = run(
        "/v1/b",
        R"({"writeKey":"browser-key","batch":[{"type":"identify","anonymousId":"a","userId":"u"}]})");
    ASSERT_FALSE(batch.error);
    EXPECT_EQ(batch.events.at(0).event_name, "identify");
}
