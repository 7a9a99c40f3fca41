#include "funnelhouse/db/migrate.hpp"
#include "funnelhouse/db/locks.hpp"

#include <gtest/gtest.h>

#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

TEST(Migrate, AppliesInOrderOnceAndRecordsEach) {
    test::TestSchema schema;
    test::TempDir dir;
    dir.write("0002_second.sql", "ALTER TABLE things ADD COLUMN label text;");
    dir.write("0001_first.sql", "CREATE TABLE things (id int PRIMARY KEY);");
    dir.write("README.md", "not a migration");
    auto connection = schema.connect();

    const auto first = db::migrate(*connection, dir.path());
    EXPECT_EQ(first.applied, (std::vector<std::string>{"0001_first.sql", "0002_second.sql"}));
    EXPECT_EQ(first.already_applied, 0u);
    EXPECT_EQ(schema.scalar("SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM "
                            "schema_migrations"),
              "0001:first,0002:second");
    EXPECT_EQ(
        schema.scalar("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'things'"),
        "2");

    const auto second = db::migrate(*connection, dir.path());
    EXPECT_TRUE(second.applied.empty());
    EXPECT_EQ(second.already_applied, 2u);
}

TEST(Migrate, RefusesAnAppliedFileThatChanged) {
    test::TestSchema schema;
    test::TempDir dir;
    dir.write("0001_first.sql", "CREATE TABLE things (id int PRIMARY KEY);");
    auto connection = schema.connect();
    db::migrate(*connection, dir.path());
    dir.write("0001_first.sql", "CREATE TABLE things (id bigint PRIMARY KEY);");
    dir.write("0002_second.sql", "CREATE TABLE more (id int);");
    try {
        db::migrate(*connection, dir.path());
        FAIL() << "expected a refusal";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("0001_first.sql was changed after it was applied"),
                  std::string::npos)
            << error.what();
    }
    // Nothing after the changed file ran.
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM schema_migrations"), "1");
}

TEST(Migrate, AFailingMigrationLeavesNoTrace) {
    test::TestSchema schema;
    test::TempDir dir;
    dir.write("0001_first.sql", "CREATE TABLE things (id int); SELECT no_such_function();");
    auto connection = schema.connect();
    EXPECT_THROW(db::migrate(*connection, dir.path()), std::runtime_error);
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM schema_migrations"), "0");
    EXPECT_EQ(schema.scalar("SELECT to_regclass('public.things') IS NULL"), "t");
}

TEST(Migrate, RefusesBadlyNamedFiles) {
    test::TempDir dir;
    dir.write("1_first.sql", "SELECT 1;");
    EXPECT_THROW(db::read_migrations(dir.path()), std::runtime_error);
}

TEST(Migrate, RepositoryMigrationsCreateTheAnalystTables) {
    test::TestSchema schema;
    schema.migrate();
    const auto columns = schema.scalar(
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
        "information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = 'events'");
    EXPECT_EQ(columns,
              "event_id,event_name,event_type,schema_version,anonymous_id,user_id,occurred_at,"
              "original_timestamp,sent_at,received_at,loaded_at,properties,context,write_key_name,"
              "source,group_id,previous_id,browser_received_at,server_received_at,sources");
    const auto bad_columns = schema.scalar(
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
        "information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = 'bad_events'");
    EXPECT_EQ(
        bad_columns,
        "bad_event_id,event_id,event_name,raw_event,errors,reason,route,write_key_name,source,"
        "received_at,batch_sent_at,loaded_at,reprocessed_at");
}

// The erasure's lock is written as a number in its migration: it must be
// the key the loader takes shared, or erasure and loading would not wait
// for each other.
TEST(Migrate, LockKeysInTheMigrationsAreTheseOnes) {
    test::TestSchema schema;
    schema.migrate();
    const auto body = schema.scalar(
        "SELECT prosrc FROM pg_proc WHERE proname = 'funnelhouse_forget_unguarded'");
    EXPECT_NE(body.find("pg_advisory_xact_lock(" + std::to_string(db::kErasureLock) + ")"),
              std::string::npos)
        << body;
}
