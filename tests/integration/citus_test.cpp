// The distributed layout (migrations/citus). Its checks run in the scale
// tier, where each test's database lives on a Citus cluster (a coordinator
// and two workers); on one PostgreSQL, only the refusal of a layout that
// needs Citus applies.
#include <gtest/gtest.h>

#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/db/migrate.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

bool on_citus(const test::TestSchema& schema) {
    return schema.scalar("SELECT count(*) FROM pg_extension WHERE extname = 'citus'") == "1";
}

}  // namespace

TEST(CitusLayout, EventsAreSpreadByTheirIdsAndIdentityIsOnEveryNode) {
    test::TestSchema schema;
    if (!on_citus(schema)) GTEST_SKIP() << "runs in the scale tier, on a Citus cluster";
    schema.migrate();
    // h: hash-distributed by the column named; n: a reference table.
    EXPECT_EQ(schema.scalar("SELECT string_agg(logicalrelid::text || ' ' || partmethod::text || ' ' ||"
                            " coalesce(column_to_column_name(logicalrelid, partkey), '-'), ', '"
                            " ORDER BY logicalrelid::text) FROM pg_dist_partition"),
              "bad_events h bad_event_id, events h event_id, funnelhouse_events_stage h event_id, "
              "identity_conflicts n -, identity_links n -, identity_map n -");
    EXPECT_EQ(schema.scalar("SELECT count(DISTINCT colocationid) FROM pg_dist_partition"
                            " WHERE logicalrelid IN ('events'::regclass,"
                            " 'funnelhouse_events_stage'::regclass)"),
              "1");
    // The events' shards are on both workers.
    EXPECT_EQ(schema.scalar("SELECT count(DISTINCT p.nodeport) FROM pg_dist_shard_placement p"
                            " JOIN pg_dist_shard s USING (shardid)"
                            " WHERE s.logicalrelid = 'events'::regclass"),
              "2");
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM schema_migrations WHERE version LIKE 'citus/%'"),
              "1");
    // Migrating again changes nothing.
    auto connection = schema.connect();
    const auto again = db::migrate(*connection, test::source_dir() / "migrations");
    EXPECT_TRUE(again.applied.empty());
    EXPECT_EQ(again.already_applied, 13u);
}

TEST(CitusLayout, AskingForItWithoutCitusIsRefusedAndChangesNothing) {
    test::TestSchema schema;
    if (on_citus(schema)) GTEST_SKIP() << "runs on one PostgreSQL, without Citus";
    auto connection = schema.connect();
    try {
        db::migrate(*connection, test::source_dir() / "migrations", db::Layout::distributed);
        FAIL() << "migrated";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("has no citus extension"), std::string::npos)
            << error.what();
    }
    EXPECT_EQ(schema.scalar("SELECT to_regclass('schema_migrations') IS NULL"), "t");
}
