#include "funnelhouse/ingest/message.hpp"

#include <gtest/gtest.h>

#include "temp_dir.hpp"

using namespace funnelhouse;
using nlohmann::json;

namespace {

class MessageTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        registry_ = new schema::SchemaRegistry(
            schema::SchemaRegistry::load(test::source_dir() / "schemas"));
    }
    static void TearDownTestSuite() { delete registry_; }

    ingest::MappedMessage map(const std::string& text, std::string_view route = "/v1/batch") {
        ingest::MessageContext context;
        context.route = route;
        context.write_key_name = "web";
        context.source = source_;
        context.received_at = *common::parse_timestamp("2024-05-01T12:00:10Z");
        context.batch_sent_at = batch_sent_at_;
        return ingest::map_message(text, context, *registry_);
    }

    static schema::SchemaRegistry* registry_;
    std::optional<common::timestamp> batch_sent_at_;
    common::Source source_ = common::Source::browser;
};

schema::SchemaRegistry* MessageTest::registry_ = nullptr;

}  // namespace

TEST(SkewCorrection, UsesTheSendersClockDifference) {
    const auto received = *common::parse_timestamp("2024-05-01T12:00:10Z");
    // The device clock is 1 hour behind: it says it sent at 11:00:05 an event of 11:00:00.
    const auto original = common::parse_timestamp("2024-05-01T11:00:00Z");
    const auto sent = common::parse_timestamp("2024-05-01T11:00:05Z");
    EXPECT_EQ(common::format_timestamp(ingest::corrected_timestamp(original, sent, received)),
              "2024-05-01T12:00:05.000000Z");
    EXPECT_EQ(
        common::format_timestamp(ingest::corrected_timestamp(original, std::nullopt, received)),
        "2024-05-01T11:00:00.000000Z");
    EXPECT_EQ(common::format_timestamp(ingest::corrected_timestamp(std::nullopt, sent, received)),
              "2024-05-01T12:00:10.000000Z");
}

TEST_F(MessageTest, MapsAValidTrackMessage) {
    const auto mapped = map(R"({"type":"track","messageId":"m-1","event":"add_to_cart",
        "anonymousId":"anon-1","userId":"user-1","timestamp":"2024-05-01T11:00:00Z",
        "sentAt":"2024-05-01T11:00:05Z","context":{"page":{"path":"/p"}},
        "properties":{"product_id":"sku-1","price":19.9,"quantity":2}})");
    ASSERT_TRUE(mapped.event.has_value()) << mapped.rejection->errors[0].message;
    const auto& event = *mapped.event;
    EXPECT_EQ(event.event_id, "m-1");
    EXPECT_FALSE(mapped.event_id_assigned);
    EXPECT_EQ(event.event_name, "add_to_cart");
    EXPECT_EQ(event.event_type, "track");
    EXPECT_EQ(event.schema_version, "1-0-0");
    EXPECT_EQ(event.anonymous_id, "anon-1");
    EXPECT_EQ(event.user_id, "user-1");
    EXPECT_EQ(common::format_timestamp(event.occurred_at), "2024-05-01T12:00:05.000000Z");
    EXPECT_EQ(common::format_timestamp(*event.original_timestamp), "2024-05-01T11:00:00.000000Z");
    EXPECT_EQ(json::parse(event.properties),
              json::parse(R"({"product_id":"sku-1","price":19.9,"quantity":2})"));
    EXPECT_EQ(json::parse(event.context), json::parse(R"({"page":{"path":"/p"}})"));
    EXPECT_EQ(event.write_key_name, "web");
    EXPECT_EQ(event.source, common::Source::browser);
}

TEST_F(MessageTest, OriginalTimestampWinsOverTimestampAndBatchSentAtApplies) {
    batch_sent_at_ = common::parse_timestamp("2024-05-01T10:00:00Z");
    const auto mapped = map(R"({"type":"track","event":"add_to_cart","anonymousId":"a",
        "originalTimestamp":"2024-05-01T09:59:00Z","timestamp":"2020-01-01T00:00:00Z",
        "properties":{"product_id":"p"}})");
    ASSERT_TRUE(mapped.event.has_value());
    EXPECT_EQ(common::format_timestamp(mapped.event->occurred_at), "2024-05-01T11:59:10.000000Z");
    EXPECT_EQ(common::format_timestamp(*mapped.event->sent_at), "2024-05-01T10:00:00.000000Z");
}

TEST_F(MessageTest, PageBecomesPageViewAndIdentifyValidatesTraits) {
    const auto page =
        map(R"({"anonymousId":"a","name":"Home","properties":{"path":"/"}})", "/v1/page");
    ASSERT_TRUE(page.event.has_value());
    EXPECT_EQ(page.event->event_name, "page_view");
    EXPECT_EQ(page.event->event_type, "page");
    EXPECT_EQ(json::parse(page.event->properties), json::parse(R"({"path":"/","name":"Home"})"));

    const auto identify = map(R"({"type":"identify","userId":42,"traits":{"plan":5}})");
    ASSERT_TRUE(identify.rejection.has_value());
    EXPECT_EQ(identify.rejection->errors.at(0).path, "/traits/plan");
    const auto good = map(R"({"type":"identify","userId":42,"traits":{"plan":"pro"}})");
    ASSERT_TRUE(good.event.has_value());
    EXPECT_EQ(good.event->event_name, "identify");
    EXPECT_EQ(good.event->user_id, "42");
    EXPECT_EQ(json::parse(good.event->properties), json::parse(R"({"plan":"pro"})"));
}

TEST_F(MessageTest, AssignsAnIdWhenMessageIdIsAbsent) {
    const auto mapped = map(
        R"({"type":"track","event":"wishlist_added","anonymousId":"a","properties":{"product_id":"p"}})");
    ASSERT_TRUE(mapped.event.has_value());
    EXPECT_TRUE(mapped.event_id_assigned);
    EXPECT_EQ(mapped.event->event_id.size(), 36u);
}

TEST_F(MessageTest, RejectsOverlongMessageIdAndBadTimestamps) {
    const auto mapped =
        map(R"({"type":"track","messageId":")" + std::string(101, 'x') +
            R"(","event":"add_to_cart","timestamp":"yesterday","properties":{"product_id":"p"}})");
    ASSERT_TRUE(mapped.rejection.has_value());
    EXPECT_EQ(mapped.rejection->reason, "invalid_message");
    ASSERT_EQ(mapped.rejection->errors.size(), 2u);
    EXPECT_EQ(mapped.rejection->errors[0].path, "/messageId");
    EXPECT_EQ(mapped.rejection->errors[1].path, "/timestamp");
}

TEST_F(MessageTest, RejectsUnknownEventsAndUnsupportedTypes) {
    const auto unknown =
        map(R"({"type":"track","messageId":"x","event":"Order Completed","anonymousId":"a"})");
    ASSERT_TRUE(unknown.rejection.has_value());
    EXPECT_EQ(unknown.rejection->reason, "unknown_event");
    EXPECT_EQ(unknown.rejection->errors[0].path, "/event");
    EXPECT_EQ(unknown.event_id, "x");

    const auto unknown_type = map(R"({"type":"page_leave","anonymousId":"a"})");
    ASSERT_TRUE(unknown_type.rejection.has_value());
    EXPECT_EQ(unknown_type.rejection->reason, "unsupported_type");

    const auto not_object = map(R"([1,2])");
    EXPECT_EQ(not_object.rejection->reason, "invalid_message");
}

TEST_F(MessageTest, PinnedVersionsAreHonoured) {
    const auto pinned = map(
        R"({"type":"track","event":"add_to_cart","anonymousId":"a","context":{"schema":"add_to_cart/1-0-0"},"properties":{"product_id":"p"}})");
    ASSERT_TRUE(pinned.event.has_value());
    EXPECT_EQ(pinned.event->schema_version, "1-0-0");

    const auto missing = map(
        R"({"type":"track","event":"add_to_cart","anonymousId":"a","context":{"schema":"add_to_cart/1-0-7"},"properties":{"product_id":"p"}})");
    ASSERT_TRUE(missing.rejection.has_value());
    EXPECT_EQ(missing.rejection->reason, "unknown_schema_version");
    EXPECT_EQ(missing.rejection->errors[0].path, "/context/schema");

    const auto other = map(
        R"({"type":"track","event":"add_to_cart","anonymousId":"a","context":{"schema":"wishlist_added/1-0-0"},"properties":{"product_id":"p"}})");
    EXPECT_EQ(other.rejection->reason, "invalid_message");
}

TEST_F(MessageTest, SchemaViolationsNameThePropertyPath) {
    source_ = common::Source::server;
    const auto mapped =
        map(R"({"type":"track","messageId":"o1","event":"order_completed","userId":"u",
        "properties":{"order_id":"A-1","revenue":-5,"currency":"EUR"}})");
    ASSERT_TRUE(mapped.rejection.has_value());
    EXPECT_EQ(mapped.rejection->reason, "schema_violation");
    ASSERT_EQ(mapped.rejection->errors.size(), 1u);
    EXPECT_EQ(mapped.rejection->errors[0].path, "/properties/revenue");
}

TEST_F(MessageTest, NulCharactersAreRejectedNotStored) {
    const auto mapped = map(
        R"({"type":"track","event":"add_to_cart","anonymousId":"a","properties":{"product_id":"p","note":"a\u0000b"}})");
    ASSERT_TRUE(mapped.rejection.has_value());
    EXPECT_EQ(mapped.rejection->reason, "invalid_message");
    EXPECT_EQ(mapped.rejection->errors[0].path, "/properties");
}

TEST_F(MessageTest, BrowserKeysCannotSendServerOnlyEvents) {
    const std::string order =
        R"({"type":"track","messageId":"o2","event":"order_completed","userId":"u",
        "properties":{"order_id":"A-2","revenue":99,"currency":"EUR"}})";
    const auto forged = map(order);
    ASSERT_TRUE(forged.rejection.has_value());
    EXPECT_EQ(forged.rejection->reason, "source_not_allowed");
    EXPECT_EQ(forged.rejection->errors.at(0).message,
              "'order_completed' may not be sent with a browser write key");
    source_ = common::Source::server;
    EXPECT_TRUE(map(order).event.has_value());
}

TEST_F(MessageTest, ImplausibleTimesAreRejectedNotStored) {
    // Year 0 after applying the offset: PostgreSQL could not take it.
    const auto year_zero = map(
        R"({"type":"track","event":"add_to_cart","anonymousId":"a","timestamp":"0001-01-01T00:30:00+01:00","properties":{"product_id":"p"}})");
    ASSERT_TRUE(year_zero.rejection.has_value());
    EXPECT_EQ(year_zero.rejection->errors.at(0).path, "/timestamp");

    // A sentAt far ahead of the event pushes the corrected time before 1970.
    const auto skewed = map(
        R"({"type":"track","event":"add_to_cart","anonymousId":"a","timestamp":"2024-05-01T12:00:00Z","sentAt":"9999-01-01T00:00:00Z","properties":{"product_id":"p"}})");
    ASSERT_TRUE(skewed.rejection.has_value());
    EXPECT_EQ(skewed.rejection->reason, "invalid_message");
    EXPECT_EQ(skewed.rejection->errors.at(0).path, "/timestamp");

    // An explicit time a week ahead of receipt, with nothing to correct it.
    const auto future = map(
        R"({"type":"track","event":"add_to_cart","anonymousId":"a","timestamp":"2024-05-08T12:00:00Z","properties":{"product_id":"p"}})");
    ASSERT_TRUE(future.rejection.has_value());
    EXPECT_EQ(future.rejection->errors.at(0).path, "/timestamp");
}

TEST_F(MessageTest, FormatsAreCheckedWithoutRegularExpressions) {
    const auto email = map(R"({"type":"identify","userId":"u","traits":{"email":"not-an-email"}})");
    ASSERT_TRUE(email.rejection.has_value());
    EXPECT_EQ(email.rejection->errors.at(0).path, "/traits/email");
    EXPECT_TRUE(map(R"({"type":"identify","userId":"u","traits":{"email":"ann@shop.example"}})")
                    .event.has_value());

    const auto url =
        map(R"({"type":"page","anonymousId":"a","properties":{"url":"/relative/path"}})");
    ASSERT_TRUE(url.rejection.has_value());
    EXPECT_EQ(url.rejection->errors.at(0).path, "/properties/url");
    EXPECT_TRUE(
        map(R"({"type":"page","anonymousId":"a","properties":{"url":"https://shop.example/p?x=1"}})")
            .event.has_value());

    // A 32 KB run of digits in a date-time field: answered, not a crash.
    const auto long_date = map(R"({"type":"identify","userId":"u","traits":{"created_at":")" +
                               std::string(32000, '7') + R"("}})");
    ASSERT_TRUE(long_date.rejection.has_value());
    EXPECT_EQ(long_date.rejection->errors.at(0).path, "/traits/created_at");
    EXPECT_TRUE(
        map(R"({"type":"identify","userId":"u","traits":{"created_at":"2023-01-02T03:04:05Z"}})")
            .event.has_value());
}

TEST_F(MessageTest, MessageIdLimitCountsCharactersNotBytes) {
    std::string id;
    for (int i = 0; i < 100; ++i) id += "é";
    const auto mapped =
        map(R"({"type":"track","messageId":")" + id +
            R"(","event":"add_to_cart","anonymousId":"a","properties":{"product_id":"p"}})");
    ASSERT_TRUE(mapped.event.has_value());
    EXPECT_EQ(mapped.event->event_id, id);
}

TEST_F(MessageTest, ScreenGroupAndAliasMapToTheirEvents) {
    const auto screen =
        map(R"({"anonymousId":"a","name":"Basket","properties":{"items":2}})", "/v1/screen");
    ASSERT_TRUE(screen.event.has_value());
    EXPECT_EQ(screen.event->event_name, "screen_view");
    EXPECT_EQ(json::parse(screen.event->properties), json::parse(R"({"items":2,"name":"Basket"})"));

    const auto group = map(
        R"({"type":"group","userId":"u1","groupId":"acme","traits":{"name":"Acme","employees":40}})");
    ASSERT_TRUE(group.event.has_value());
    EXPECT_EQ(group.event->event_name, "group");
    EXPECT_EQ(group.event->group_id, "acme");
    EXPECT_EQ(json::parse(group.event->properties)["employees"], 40);

    const auto alias = map(R"({"type":"alias","previousId":"anon-7","userId":"u1"})");
    ASSERT_TRUE(alias.event.has_value());
    EXPECT_EQ(alias.event->event_name, "alias");
    EXPECT_EQ(alias.event->previous_id, "anon-7");
    EXPECT_EQ(alias.event->user_id, "u1");

    const auto no_previous = map(R"({"type":"alias","userId":"u1","previousId":"undefined"})");
    ASSERT_TRUE(no_previous.rejection.has_value());
    EXPECT_EQ(no_previous.rejection->errors.at(0).path, "/previousId");
    const auto no_group = map(R"({"type":"group","userId":"u1"})");
    ASSERT_TRUE(no_group.rejection.has_value());
    EXPECT_EQ(no_group.rejection->errors.at(0).path, "/groupId");
}

TEST_F(MessageTest, MessagesNeedSomebodyAndPlaceholdersAreNobody) {
    const auto nobody =
        map(R"({"type":"track","event":"add_to_cart","properties":{"product_id":"p"}})");
    ASSERT_TRUE(nobody.rejection.has_value());
    EXPECT_EQ(nobody.rejection->reason, "invalid_message");
    EXPECT_EQ(nobody.rejection->errors.at(0).path, "/userId");

    for (const char* junk : {"", "null", "undefined", "Anonymous", "0", "GUEST", " none "}) {
        const auto placeholder =
            map(std::string(R"({"type":"track","event":"add_to_cart","userId":")") + junk +
                R"(","anonymousId":"real-anon","properties":{"product_id":"p"}})");
        ASSERT_TRUE(placeholder.event.has_value()) << junk;
        EXPECT_FALSE(placeholder.event->user_id.has_value()) << junk;
        EXPECT_EQ(placeholder.event->anonymous_id, "real-anon");
    }
    const auto only_junk = map(
        R"({"type":"track","event":"add_to_cart","userId":"null","anonymousId":"undefined","properties":{"product_id":"p"}})");
    EXPECT_TRUE(only_junk.rejection.has_value());
}

TEST(JunkIdentity, ConfiguredValuesAreAddedToTheBuiltInOnes) {
    const std::vector<std::string> extra{"visitor", "n/a"};
    EXPECT_TRUE(ingest::is_junk_identity("Visitor", &extra));
    EXPECT_TRUE(ingest::is_junk_identity("N/A", &extra));
    EXPECT_TRUE(ingest::is_junk_identity("undefined", &extra));
    EXPECT_FALSE(ingest::is_junk_identity("visitor-42", &extra));
    EXPECT_FALSE(ingest::is_junk_identity("visitor", nullptr));
}
