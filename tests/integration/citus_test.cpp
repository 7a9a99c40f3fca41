// The distributed layout (migrations/citus). Its checks run in the scale
// tier, where each test's database lives on a Citus cluster (a coordinator
// and two workers); on one PostgreSQL, only the refusal of a layout that
// needs Citus applies.
#include <gtest/gtest.h>

#include <sstream>

#include <algorithm>
#include <iostream>

#include "corpus.hpp"
#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/db/migrate.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "funnelhouse/models/refresh.hpp"
#include "funnelhouse/simulate/shop.hpp"
#include "model_files.hpp"
#include "sample_events.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

bool on_citus(const test::TestSchema& schema) { return db::is_citus(*schema.connect()); }

// A model's rows as text, one a line, in order. (OFFSET 0 gathers the rows
// first: Citus names the fields of a whole row read through a view over a
// distributed table f1, f2, ... when it pushes to_jsonb down to the shards.)
std::string model_rows(const test::TestSchema& schema, const std::string& model) {
    return schema.scalar("SELECT coalesce(string_agg(r, E'\\n' ORDER BY r), '') FROM ("
                         "SELECT to_jsonb(t)::text AS r FROM (SELECT * FROM models." + model +
                         " OFFSET 0) t) rows");
}

// Where two models' rows part: the line counts and the first line that
// differs on each side ("" when they are equal).
std::string difference(const std::string& left, const std::string& right) {
    if (left == right) return "";
    std::istringstream a(left), b(right);
    std::string line_a, line_b;
    for (int line = 1;; ++line) {
        const bool more_a = static_cast<bool>(std::getline(a, line_a));
        const bool more_b = static_cast<bool>(std::getline(b, line_b));
        if (!more_a && !more_b) return "";
        if (more_a != more_b || line_a != line_b)
            return "lines " + std::to_string(std::count(left.begin(), left.end(), '\n') + 1) +
                   " and " + std::to_string(std::count(right.begin(), right.end(), '\n') + 1) +
                   "; first difference at line " + std::to_string(line) + ":\n  " +
                   (more_a ? line_a : "(none)") + "\n  " + (more_b ? line_b : "(none)");
    }
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

// A loader connection keeps FUNNELHOUSE_LOADER_WORKER_CONNECTIONS
// connections to each worker between batches (Citus keeps one by default and
// would open the others again for every batch). Citus names each of them
// after the coordinator's backend (its global pid).
TEST(CitusLayout, ALoaderKeepsItsConnectionsToEachWorkerBetweenBatches) {
    test::TestSchema schema;
    if (!on_citus(schema)) GTEST_SKIP() << "runs in the scale tier, on a Citus cluster";
    schema.migrate();
    auto connection = schema.connect();
    loader::prepare_staging(*connection, 2);
    const auto kept = [&] {
        pqxx::nontransaction txn(*connection);
        return txn.exec("SELECT string_agg(result, ' ' ORDER BY nodeport) FROM"
                        " run_command_on_workers(format('SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name = %L', 'citus_internal gpid=' ||"
                        " citus_backend_gpid()))")[0][0]
            .as<std::string>();
    };
    for (int batch = 0; batch < 3; ++batch) {
        std::vector<common::Event> events;
        for (int i = 0; i < 40; ++i)
            events.push_back(test::sample_event("b" + std::to_string(batch) + "-" + std::to_string(i)));
        const auto fates = loader::write_batch(*connection, test::pointers(events), {});
        EXPECT_EQ(std::count(fates.begin(), fates.end(), loader::Fate::inserted), 40);
        // Two shards on each worker (4 a table), two connections kept to each.
        EXPECT_EQ(kept(), "2 2") << "after batch " << batch;
    }
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events"), "120");
}

TEST(CitusLayout, AskingForItWithoutCitusIsRefusedAndChangesNothing) {
    test::TestSchema schema;
    if (on_citus(schema)) GTEST_SKIP() << "runs on one PostgreSQL, without Citus";
    auto connection = schema.connect();
    try {
        db::migrate(*connection, test::source_dir() / "migrations", config::DatabaseLayout::citus);
        FAIL() << "migrated";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("has no citus extension"), std::string::npos)
            << error.what();
    }
    EXPECT_EQ(schema.scalar("SELECT to_regclass('schema_migrations') IS NULL"), "t");
}

TEST(CitusLayout, TheSimulatedShopsModelsEqualThoseOnOnePostgreSQLRowForRow) {
    test::TestSchema distributed;
    if (!on_citus(distributed)) GTEST_SKIP() << "runs in the scale tier, on a Citus cluster";
    test::TestSchema single(test::Placement::single);
    ASSERT_FALSE(on_citus(single));

    const auto end = *common::parse_timestamp("2026-03-01T12:00:00Z");
    test::Corpus shop(end);
    simulate::ShopSettings settings;
    settings.persons = 600;
    settings.days = 120;
    settings.seed = 26;
    settings.end = end;
    for (const auto& batch : simulate::batch_messages(simulate::generate_shop(settings), 20))
        shop.post("/v1/batch", batch.body, batch.sender);
    ASSERT_GT(shop.events(), 3000u);

    for (const auto* schema : {&distributed, &single}) {
        schema->migrate();
        // The silence rule words how long ago the last event came, by the
        // clock: not the same a minute later.
        schema->scalar("UPDATE models.settings SET alert_silence = interval '100 years'");
        shop.load(*schema);
        auto connection = schema->connect();
        const auto report =
            models::refresh(*connection, test::repository_contracts(), test::model_catalog());
        EXPECT_EQ(report.steps.size(), 40u);
    }
    // The models whose files name a distribution column are spread by it
    // over the workers, co-located with the events; the rest stay on the
    // coordinator.
    EXPECT_EQ(distributed.scalar(
                  "SELECT string_agg(split_part(logicalrelid::text, '.', 2) || ' ' ||"
                  " column_to_column_name(logicalrelid, partkey), ', ' ORDER BY 1)"
                  " FROM pg_dist_partition WHERE logicalrelid::text LIKE 'models\\_%'"),
              "person_events person_id, sessions person_id");
    EXPECT_EQ(distributed.scalar("SELECT count(DISTINCT colocationid) FROM pg_dist_partition"
                                 " WHERE logicalrelid::text LIKE 'models\\_%'"
                                 " OR logicalrelid = 'events'::regclass"),
              "1");
    for (const std::string table : {"events", "bad_events", "identity_map", "identity_links"})
        EXPECT_EQ(distributed.scalar("SELECT count(*) FROM " + table),
                  single.scalar("SELECT count(*) FROM " + table)) << table;
    std::size_t with_rows = 0;
    std::size_t lines = 0;
    std::string empty;
    for (const auto& file : test::model_catalog().files) {
        if (file.kind == models::Kind::function) continue;
        const auto rows = model_rows(single, file.name);
        EXPECT_EQ(difference(model_rows(distributed, file.name), rows), "") << file.name;
        with_rows += rows.empty() ? 0 : 1;
        lines += rows.empty() ? 0 : std::count(rows.begin(), rows.end(), '\n') + 1;
        if (rows.empty()) empty += " " + file.name;
    }
    std::cout << with_rows << " models with rows, " << lines << " rows compared; empty:" << empty
              << "\n";
    // Empty here: alert_candidates (the shop plants no problem, and
    // silence is off), rate_segments (only days whose rate moved) and
    // experiment_priorities (no candidates are listed).
    EXPECT_GE(with_rows, 35u);
}
