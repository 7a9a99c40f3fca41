#include "funnelhouse/cli/reprocess.hpp"

#include <gtest/gtest.h>

#include "funnelhouse/ingest/request.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

const std::string kQuizV1 =
    R"({"type":"object","properties":{"quiz_id":{"type":"string"},"score":{"type":"integer"}},"required":["quiz_id"]})";

}  // namespace

TEST(Reprocess, LoadsRowsThatNowPassExactlyOnce) {
    test::TestSchema schema;
    schema.migrate();
    auto connection = schema.connect();
    loader::prepare_staging(*connection);

    // Today the contracts know no `style_quiz`: both messages are rejected.
    test::TempDir before;
    before.write("add_to_cart/1-0-0.json",
                 test::contract_text("add_to_cart", "1-0-0", R"({"type":"object"})"));
    const auto keys = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"backend","key":"k","source":"server"}])", "test");
    const std::string body = R"({"sentAt":"2024-05-01T12:00:05Z","batch":[
        {"type":"track","messageId":"q-1","event":"style_quiz","userId":"u1","timestamp":"2024-05-01T12:00:00Z","properties":{"quiz_id":"fit"}},
        {"type":"track","messageId":"q-2","event":"style_quiz","userId":"u2","properties":{"score":3}}]})";
    ingest::RequestInput input{"/v1/batch", body,
                               "Basic aw==", *common::parse_timestamp("2024-05-01T12:00:10Z")};
    const auto outcome =
        ingest::process_request(input, keys, schema::SchemaRegistry::load(before.path()), {});
    ASSERT_FALSE(outcome.error) << outcome.error_message;
    ASSERT_EQ(outcome.bad_events.size(), 2u);
    std::vector<const common::BadEvent*> bad;
    for (const auto& b : outcome.bad_events) bad.push_back(&b);
    loader::write_batch(*connection, {}, bad);
    EXPECT_EQ(schema.scalar("SELECT string_agg(reason, ',') FROM bad_events"),
              "unknown_event,unknown_event");

    // The contract is added; q-1 now passes, q-2 still lacks quiz_id.
    test::TempDir after;
    after.write("style_quiz/1-0-0.json", test::contract_text("style_quiz", "1-0-0", kQuizV1));
    const auto registry = schema::SchemaRegistry::load(after.path());
    const auto report = cli::reprocess(*connection, registry, {}, ingest::PrivacySettings{});
    EXPECT_EQ(report.examined, 2u);
    EXPECT_EQ(report.loaded, 1u);
    EXPECT_EQ(report.still_bad, 1u);
    EXPECT_EQ(schema.scalar("SELECT event_id || ' ' || user_id || ' ' || write_key_name || ' ' || "
                            "source FROM events"),
              "q-1 u1 backend server");
    // Skew correction uses the recorded receive time and batch sentAt.
    EXPECT_EQ(
        schema.scalar("SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM events"),
        "12:00:05");
    EXPECT_EQ(schema.scalar("SELECT event_id FROM bad_events WHERE reprocessed_at IS NOT NULL"),
              "q-1");

    const auto again = cli::reprocess(*connection, registry, {}, ingest::PrivacySettings{});
    EXPECT_EQ(again.examined, 1u);
    EXPECT_EQ(again.loaded, 0u);
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events"), "1");
}
