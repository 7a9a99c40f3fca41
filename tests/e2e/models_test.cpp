// End-to-end: the models as files. A simulated shop refreshed by the
// definitions the migrations held (0005 to 0007, `SELECT models.refresh()`)
// and again, after 0008, by `funnelhouse refresh` from models/: every model
// and every dashboard function gives the same rows. `models list` and
// `models check` on the command line; serve refuses a broken model folder.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "funnelhouse/common/source.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "serve_env.hpp"
#include "temp_dir.hpp"
#include "test_contracts.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

using Snapshot = std::map<std::string, std::string>;  // query -> row count and md5 of the rows

// Every row as text, sorted: equal snapshots are equal rows, column for
// column, to the last digit of every numeric.
std::string rows_of(const test::TestSchema& schema, const std::string& from) {
    return schema.scalar(
        "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\\n' "
        "ORDER BY t::text), '')) FROM " +
        from + " t");
}

const std::vector<std::string> kDashboardFunctions = {
    "persons",  "volume", "tracking",    "rejections", "alerts",  "value",
    "segments", "funnel", "experiments", "filters",    "overview"};

Snapshot snapshot(const test::TestSchema& schema, const std::vector<std::string>& model_names) {
    Snapshot rows;
    for (const auto& model : model_names)
        // The columns they had then: person_events has since gained the
        // day of receipt, the sources and the contract version.
        rows["models." + model] = rows_of(
            schema, model == "person_events"
                        ? "(SELECT event_id, person_id, event_name, event_type, occurred_at, "
                          "session_number, has_touch, has_device FROM models.person_events)"
                        : "models." + model);
    // Each dashboard function unfiltered, by a segment, and over a range.
    const auto from =
        schema.scalar("SELECT (horizon - interval '100 days')::date FROM models.horizon");
    for (const auto& name : kDashboardFunctions)
        for (const auto& arguments : {std::string("NULL, NULL, 'all', NULL"),
                                      std::string("NULL, NULL, 'device_type', 'mobile'"),
                                      "'" + from + "', NULL, 'channel', 'google'"}) {
            const auto call = "models.dashboard_" + name + "(" + arguments + ")";
            // The columns they had then: the overview's refreshed_at is the
            // time of the refresh, and tracking has gained the funnel stage.
            const auto columns =
                name == "overview" ? "horizon, first_day, last_day, persons, "
                                     "persons_complete_90d, events, orders"
                : name == "tracking"
                    ? "event_name, events, browser_only, server_only, both_sources, rejected, "
                      "rejection_rate, schema_versions"
                    : "*";
            rows[call] = rows_of(schema, "(SELECT " + std::string(columns) + " FROM " + call + ")");
        }
    return rows;
}

test::Env server_env(const test::TestSchema& schema, const test::TempDir& dir,
                     const std::filesystem::path& migrations) {
    return test::serve_env(schema.url(), dir.path() / "keys.json", dir.path() / "spool",
                           {{"FUNNELHOUSE_MIGRATIONS_DIR", migrations.string()},
                            {"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "0"},
                            {"FUNNELHOUSE_REFRESH_INTERVAL", "0"},
                            {"FUNNELHOUSE_LOG_LEVEL", "warn"}});
}

void write_keys(const test::TempDir& dir) {
    dir.write(
        "keys.json",
        R"([{"name":"web","key":"shop-browser","source":"browser","origins":["https://shop.example"]},
                  {"name":"backend","key":"shop-server","source":"server"}])");
}

}  // namespace

TEST(ModelFilesEndToEnd, MovingTheModelsIntoFilesKeepsEveryRow) {
    test::TestSchema schema;
    test::TempDir dir;
    write_keys(dir);
    // The migrations as they were before the move.
    const auto before = dir.path() / "migrations-before";
    std::filesystem::create_directories(before);
    for (const auto& entry : std::filesystem::directory_iterator(test::source_dir() / "migrations"))
        if (entry.path().filename().string() < "0008")
            std::filesystem::copy_file(entry.path(), before / entry.path().filename());
    auto env = server_env(schema, dir, before);
    const auto migrated = test::run_funnelhouse({"migrate"}, env);
    ASSERT_EQ(migrated.exit_code, 0) << migrated.err;

    {
        test::ServerProcess server;
        server.start(env);
        auto simulate_env = env;
        simulate_env["FUNNELHOUSE_SIMULATE_URL"] =
            "http://127.0.0.1:" + std::to_string(server.port());
        const auto simulated = test::run_funnelhouse(
            {"simulate", "--persons", "1500", "--days", "200", "--seed", "11"}, simulate_env, "",
            std::chrono::seconds(300));
        ASSERT_EQ(simulated.exit_code, 0) << simulated.err;
        ASSERT_TRUE(test::wait_until_loaded(server.port(), std::chrono::seconds(120)));
        server.stop();
    }
    // A refresh as it was: the contracts' declarations written, then the
    // definitions of models.definitions built.
    {
        auto connection = schema.connect();
        pqxx::work txn(*connection);
        for (const auto* contract : test::repository_contracts().all()) {
            std::string sources;
            for (const auto source : contract->meta.sources)
                sources += (sources.empty() ? "" : ",") + std::string(common::to_string(source));
            txn.exec_params(
                "INSERT INTO models.contracts (event_name, version, value_class, frequency, "
                "sources) VALUES ($1, $2, $3, $4, $5::text[])",
                contract->name, contract->version.to_string(), contract->meta.value_class,
                contract->meta.frequency, "{" + sources + "}");
        }
        txn.exec("SELECT models.refresh()");
        txn.commit();
    }
    std::vector<std::string> model_names;
    std::stringstream list(
        schema.scalar("SELECT string_agg(model, ' ' ORDER BY position) FROM models.definitions"));
    for (std::string name; list >> name;) model_names.push_back(name);
    model_names.push_back("channel_quality");
    model_names.push_back("landing_page_quality");
    ASSERT_EQ(model_names.size(), 21u);
    const auto old_rows = snapshot(schema, model_names);
    // The comparison means something only if the shop fills the models.
    for (const auto& model : {"person_value", "event_value", "experiment_guardrails", "funnel",
                              "tracking_health", "cohort_ltv"})
        EXPECT_NE(old_rows.at(std::string("models.") + model).substr(0, 2), "0 ") << model;
    EXPECT_NE(
        old_rows.at("models.dashboard_value(NULL, NULL, 'device_type', 'mobile')").substr(0, 2),
        "0 ");

    env["FUNNELHOUSE_MIGRATIONS_DIR"] = (test::source_dir() / "migrations").string();
    const auto upgraded = test::run_funnelhouse({"migrate"}, env);
    ASSERT_EQ(upgraded.exit_code, 0) << upgraded.err;
    EXPECT_EQ(schema.scalar("SELECT to_regclass('models.definitions') IS NULL"), "t");
    const auto refreshed = test::run_funnelhouse({"refresh"}, env, "", std::chrono::seconds(300));
    ASSERT_EQ(refreshed.exit_code, 0) << refreshed.err;
    EXPECT_NE(refreshed.out.find("40 models refreshed"), std::string::npos) << refreshed.out;

    const auto new_rows = snapshot(schema, model_names);
    for (const auto& [query, rows] : old_rows) EXPECT_EQ(new_rows.at(query), rows) << query;
    // Both buffers now hold what the files build: a second refresh agrees.
    ASSERT_EQ(test::run_funnelhouse({"refresh"}, env, "", std::chrono::seconds(300)).exit_code, 0);
    EXPECT_EQ(snapshot(schema, model_names), new_rows);
}

TEST(ModelFilesEndToEnd, ListAndCheckShowTheOrderAndChangeNothing) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    write_keys(dir);
    const auto env = server_env(schema, dir, test::source_dir() / "migrations");

    const auto listed = test::run_funnelhouse({"models", "list"}, env);
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_NE(listed.out.find("table\tmodels.person_events\t" +
                              (test::source_dir() / "models" / "person_events.sql").string() +
                              "\treads: (no model)\n"),
              std::string::npos)
        << listed.out;
    EXPECT_LT(listed.out.find("models.person_events\t"), listed.out.find("models.sessions\t"));
    EXPECT_NE(listed.out.find("40 models and 46 functions\n"), std::string::npos) << listed.out;

    const auto checked = test::run_funnelhouse({"models", "check"}, env);
    ASSERT_EQ(checked.exit_code, 0) << checked.err;
    EXPECT_NE(checked.out.find("86 files compile; nothing was changed"), std::string::npos)
        << checked.out;
    EXPECT_EQ(schema.scalar("SELECT current || ' ' || (refreshed_at IS NULL) FROM models.state"),
              "models_a true");

    // A custom model that does not compile: file and line, exit 1.
    const auto custom = dir.path() / "custom";
    std::filesystem::create_directories(custom);
    std::ofstream(custom / "broken.sql") << "-- Broken on purpose.\n--\n-- grain: one row\n"
                                            "-- kind: table\n-- reads: orders\n"
                                            "SELECT order_id,\n       no_such_column\n"
                                            "FROM models.orders\n";
    auto with_custom = env;
    with_custom["FUNNELHOUSE_CUSTOM_MODELS_DIR"] = custom.string();
    const auto broken = test::run_funnelhouse({"models", "check"}, with_custom);
    EXPECT_EQ(broken.exit_code, 1);
    EXPECT_NE(broken.err.find((custom / "broken.sql").string() +
                              ":7: column \"no_such_column\" does not exist"),
              std::string::npos)
        << broken.err;
    const auto refused = test::run_funnelhouse({"refresh"}, with_custom);
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("broken.sql:7:"), std::string::npos) << refused.err;
    EXPECT_EQ(schema.scalar("SELECT current || ' ' || (refreshed_at IS NULL) FROM models.state"),
              "models_a true");
}

TEST(ModelFilesEndToEnd, ServeRefusesAModelFolderThatDoesNotLoad) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    write_keys(dir);
    auto env = server_env(schema, dir, test::source_dir() / "migrations");
    env["FUNNELHOUSE_REFRESH_INTERVAL"] = "5m";
    const auto custom = dir.path() / "custom";
    std::filesystem::create_directories(custom);
    std::ofstream(custom / "loop_a.sql")
        << "-- grain: one row\n-- kind: view\n-- reads: loop_b\nSELECT * FROM models.loop_b\n";
    std::ofstream(custom / "loop_b.sql")
        << "-- grain: one row\n-- kind: view\n-- reads: loop_a\nSELECT * FROM models.loop_a\n";
    env["FUNNELHOUSE_CUSTOM_MODELS_DIR"] = custom.string();
    const auto served = test::run_funnelhouse({"serve"}, env, "", std::chrono::seconds(30));
    EXPECT_EQ(served.exit_code, 1);
    EXPECT_NE(
        served.err.find(
            "the model files read each other in a cycle: " + (custom / "loop_a.sql").string() +
            " -> " + (custom / "loop_b.sql").string() + " -> " + (custom / "loop_a.sql").string()),
        std::string::npos)
        << served.err;
}
