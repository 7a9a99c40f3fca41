#include "funnelhouse/loader/writer.hpp"

#include <gtest/gtest.h>

#include "sample_events.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

using test::pointers;

namespace {

common::Event make_event(const std::string& id,
                         const std::string& properties = R"({"product_id":"p"})") {
    return test::sample_event(id, properties);
}

}  // namespace

TEST(Writer, CopiesEventsWithExactValues) {
    test::TestSchema schema;
    schema.migrate();
    auto connection = schema.connect();
    loader::prepare_staging(*connection);

    auto tricky = make_event(
        "e-1", R"({"product_id":"tab\there","note":"line\nbreak \\ back","emoji":"🙂"})");
    tricky.user_id = std::nullopt;
    tricky.original_timestamp = common::parse_timestamp("2024-05-01T11:00:00Z");
    std::vector<common::Event> events{tricky, make_event("e-2")};
    const auto fates = loader::write_batch(*connection, pointers(events), {});
    EXPECT_EQ(fates, (std::vector<loader::Fate>{loader::Fate::inserted, loader::Fate::inserted}));

    EXPECT_EQ(schema.scalar("SELECT properties->>'note' FROM events WHERE event_id = 'e-1'"),
              "line\nbreak \\ back");
    EXPECT_EQ(schema.scalar("SELECT properties->>'product_id' FROM events WHERE event_id = 'e-1'"),
              "tab\there");
    EXPECT_EQ(schema.scalar("SELECT properties->>'emoji' FROM events WHERE event_id = 'e-1'"),
              "🙂");
    EXPECT_EQ(schema.scalar(
                  "SELECT user_id IS NULL AND sent_at IS NULL FROM events WHERE event_id = 'e-1'"),
              "t");
    EXPECT_EQ(schema.scalar("SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD "
                            "HH24:MI:SS.US') FROM events WHERE event_id = 'e-1'"),
              "2024-05-01 12:00:00.123456");
    EXPECT_EQ(schema.scalar("SELECT to_char(original_timestamp AT TIME ZONE 'UTC', 'HH24:MI') FROM "
                            "events WHERE event_id = 'e-1'"),
              "11:00");
    EXPECT_EQ(schema.scalar("SELECT source || '/' || write_key_name || '/' || schema_version FROM "
                            "events WHERE event_id = 'e-2'"),
              "browser/web/1-0-0");
}

TEST(Writer, SecondCopyOfAnIdAddsNoRowAndDoesNotFailTheBatch) {
    test::TestSchema schema;
    schema.migrate();
    auto connection = schema.connect();
    loader::prepare_staging(*connection);

    std::vector<common::Event> first{make_event("dup", R"({"product_id":"first"})"),
                                     make_event("dup", R"({"product_id":"second"})"),
                                     make_event("solo")};
    const auto fates = loader::write_batch(*connection, pointers(first), {});
    EXPECT_EQ(fates, (std::vector<loader::Fate>{loader::Fate::inserted, loader::Fate::duplicate,
                                                loader::Fate::inserted}));
    EXPECT_EQ(schema.scalar("SELECT properties->>'product_id' FROM events WHERE event_id = 'dup'"),
              "first");

    std::vector<common::Event> again{make_event("dup"), make_event("new")};
    const auto second = loader::write_batch(*connection, pointers(again), {});
    EXPECT_EQ(second, (std::vector<loader::Fate>{loader::Fate::duplicate, loader::Fate::inserted}));
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events"), "3");
}

TEST(Writer, StoresBadEventsExactlyAsReceivedAndIdempotently) {
    test::TestSchema schema;
    schema.migrate();
    auto connection = schema.connect();
    loader::prepare_staging(*connection);

    common::BadEvent bad;
    bad.bad_event_id = "3b241101-e2bb-4255-8caf-4136c566a962";
    bad.event_id = "m-9";
    bad.event_name = "add_to_cart";
    bad.raw_event = "{ \"type\" : \"track\",\n\t\"event\":\"add_to_cart\", \"x\":\"a\\\\b\" }";
    bad.errors = R"([{"path":"/properties/price","message":"bad"}])";
    bad.reason = "schema_violation";
    bad.route = "/v1/batch";
    bad.write_key_name = "web";
    bad.received_at = *common::parse_timestamp("2024-05-01T12:00:00Z");
    loader::write_batch(*connection, {}, {&bad});
    loader::write_batch(*connection, {}, {&bad});  // a retry after an unknown commit outcome

    EXPECT_EQ(schema.scalar("SELECT count(*) FROM bad_events"), "1");
    EXPECT_EQ(schema.scalar("SELECT raw_event FROM bad_events"), bad.raw_event);
    EXPECT_EQ(schema.scalar("SELECT errors->0->>'path' FROM bad_events"), "/properties/price");
    EXPECT_EQ(
        schema.scalar(
            "SELECT reason || ' ' || event_id || ' ' || (reprocessed_at IS NULL) FROM bad_events"),
        "schema_violation m-9 true");
}
