// End-to-end with a real tracking library from the npm registry: Segment's
// analytics-node, configured with nothing but Funnelhouse's host and a write
// key, sends a journey through the real server into the real PostgreSQL.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "process.hpp"
#include "serve_env.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;
using nlohmann::json;

TEST(Sdk, SegmentNodeLibraryWorksUnchangedButForTheHost) {
    const auto sdk_dir = test::source_dir() / "tests/e2e/sdk";
    ASSERT_TRUE(std::filesystem::exists(sdk_dir / "node_modules/@segment/analytics-node"))
        << "the SDK is not installed: run scripts/test, which runs npm ci in " << sdk_dir;

    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    const auto keys =
        dir.write("keys.json", R"([{"name":"backend","key":"sdk-secret","source":"server"}])");
    test::ServerProcess server;
    server.start(test::serve_env(schema.url(), keys, dir.path() / "spool"));

    const auto run = test::run_program(
        "node", {(sdk_dir / "send.mjs").string()},
        {{"FUNNELHOUSE_HOST", "http://127.0.0.1:" + std::to_string(server.port())},
         {"FUNNELHOUSE_WRITE_KEY", "sdk-secret"}});
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    const auto report = json::parse(run.out.substr(run.out.find('{')));
    ASSERT_EQ(report["failures"].size(), 0u) << report.dump();
    ASSERT_EQ(report["sent"].size(), 7u) << report.dump();
    // Answers came once the events were durable in the spool; the loader
    // commits them moments later.
    ASSERT_TRUE(test::wait_until_loaded(server.port()));

    // Every message the library delivered is stored once: valid ones in
    // events, the order with a negative revenue in bad_events.
    for (const auto& message : report["sent"]) {
        const std::string id = message["messageId"];
        const auto stored = schema.scalar(
            "SELECT (SELECT count(*) FROM events WHERE event_id = '" + id +
            "') || '/' || (SELECT count(*) FROM bad_events WHERE event_id = '" + id + "')");
        EXPECT_TRUE(stored == "1/0" || stored == "0/1") << id << " " << stored;
    }
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_name, ',' ORDER BY event_name) FROM events"),
              "add_to_cart,alias,identify,order_completed,page_view,product_viewed");
    EXPECT_EQ(schema.scalar("SELECT reason || ' ' || (errors->0->>'path') FROM bad_events"),
              "schema_violation /properties/revenue");
    EXPECT_EQ(schema.scalar(
                  "SELECT previous_id || ' ' || user_id FROM events WHERE event_name = 'alias'"),
              "sdk-anon-1 sdk-user-1");
    EXPECT_EQ(
        schema.scalar(
            "SELECT (properties->>'revenue') || ' ' || source || ' ' || write_key_name || ' ' || "
            "(context->'library'->>'name') FROM events WHERE event_name = 'order_completed'"),
        "49.5 server backend @segment/analytics-node");
    EXPECT_EQ(server.stop(), 0);
}
