// The model files as a catalog: references found outside comments and
// literals, headers read, the order of refresh derived from the reads, and
// each broken folder refused with the file (and line) to fix.
#include <gtest/gtest.h>

#include "funnelhouse/models/catalog.hpp"
#include "temp_dir.hpp"

using namespace funnelhouse;
using models::CatalogError;
using models::Kind;

namespace {

std::vector<std::string> names_of(const std::vector<models::Reference>& references) {
    std::vector<std::string> names;
    for (const auto& reference : references) names.push_back(reference.name);
    return names;
}

models::ModelFile table(const std::string& name, const std::string& reads, const std::string& sql) {
    return models::parse_model_file(
        "-- " + name + ".\n--\n-- grain: one row\n-- kind: table\n-- reads: " + reads + "\n" + sql,
        "models/" + name + ".sql");
}

models::ModelFile function(const std::string& name, const std::string& reads,
                           const std::string& body) {
    return models::parse_model_file(
        "-- kind: function\n-- reads: " + reads + "\nCREATE OR REPLACE FUNCTION models." + name +
            "() RETURNS bigint LANGUAGE sql STABLE AS $$ " + body + " $$;\n",
        "models/functions/" + name + ".sql");
}

std::vector<std::string> order_of(std::vector<models::ModelFile> files) {
    std::vector<std::string> names;
    for (const auto& file : models::order_files(std::move(files)).files) names.push_back(file.name);
    return names;
}

std::string error_of(std::vector<models::ModelFile> files) {
    try {
        models::order_files(std::move(files));
    } catch (const CatalogError& error) {
        return error.what();
    }
    return "(no error)";
}

}  // namespace

TEST(ModelReferences, AreFoundInSqlButNotInCommentsOrLiterals) {
    const auto found = models::find_references(
        "SELECT * FROM models.orders o\n"
        "-- models.refunds in a comment\n"
        "JOIN MODELS.Sessions s ON s.x = 'models.horizon' /* models.funnel /* nested */ "
        "models.funnel */\n"
        "JOIN \"models.quoted\" q ON E'it\\'s models.early' = x.models.column\n"
        "WHERE models.url_host($1) = $tag$ models.person_firsts $tag$",
        10);
    EXPECT_EQ(names_of(found),
              (std::vector<std::string>{"orders", "sessions", "url_host", "person_firsts"}));
    EXPECT_EQ(found[0].line, 10);
    EXPECT_EQ(found[1].line, 12);
    EXPECT_EQ(found[3].line, 14);
}

TEST(ModelReferences, QuotedAndSpacedNamesCountAndLiteralsInsideABodyDoNot) {
    const auto found = models::find_references(
        "SELECT * FROM \"models\".\"Orders\", models . sessions, s.models.column\n"
        "WHERE x LIKE'a\\' AND models.person_firsts IS NOT NULL",
        1, false);
    EXPECT_EQ(names_of(found), (std::vector<std::string>{"Orders", "sessions", "person_firsts"}));
    EXPECT_EQ(found[0].length, 8u);  // "models", quoted
    // A function's body is read as SQL; a literal quoted by another tag in it
    // is not, and neither is a dollar-quoted literal in a model's SELECT.
    EXPECT_EQ(names_of(models::find_references(
                  "CREATE OR REPLACE FUNCTION models.f() RETURNS text LANGUAGE sql AS $body$ "
                  "SELECT $q$it's models.gone -- $q$ || x FROM models.orders $body$")),
              (std::vector<std::string>{"f", "orders"}));
    EXPECT_TRUE(models::find_references("SELECT $$models.orders$$", 1, false).empty());
}

TEST(ModelFiles, HeaderGivesKindGrainIndexesAndReads) {
    const auto file = models::parse_model_file(
        "-- Orders, once each.\n"
        "--\n"
        "-- grain: one row per order_id\n"
        "-- kind: table\n"
        "-- index: unique (order_id)\n"
        "-- index: (person_id, occurred_at)\n"
        "-- reads: person_events, sessions\n"
        "SELECT 1 FROM models.person_events JOIN models.sessions USING (person_id)\n",
        "models/orders.sql");
    EXPECT_EQ(file.name, "orders");
    EXPECT_EQ(file.kind, Kind::table);
    EXPECT_EQ(file.grain, "one row per order_id");
    ASSERT_EQ(file.indexes.size(), 2u);
    EXPECT_TRUE(file.indexes[0].unique);
    EXPECT_EQ(file.indexes[0].columns, "(order_id)");
    EXPECT_FALSE(file.indexes[1].unique);
    EXPECT_EQ(file.reads, (std::vector<std::string>{"person_events", "sessions"}));
    EXPECT_EQ(file.sql_line, 8);
    EXPECT_EQ(file.references[0].line, 8);
}

TEST(ModelFiles, AHeaderWithoutKindReadsOrGrainIsRefused) {
    auto message = [](const std::string& text, const std::string& path) {
        try {
            models::parse_model_file(text, path);
        } catch (const CatalogError& error) {
            return std::string(error.what());
        }
        return std::string("(no error)");
    };
    EXPECT_EQ(message("-- grain: x\n-- reads: (no model)\nSELECT 1", "m/a.sql"),
              "m/a.sql: the header needs a 'kind:' line (table, view or function)");
    EXPECT_EQ(message("-- kind: table\n-- grain: x\nSELECT 1", "m/a.sql"),
              "m/a.sql: the header needs a 'reads:' line (the models it reads)");
    EXPECT_EQ(message("-- kind: table\n-- reads: (no model)\nSELECT 1", "m/a.sql"),
              "m/a.sql: the header needs a 'grain:' line (what one row is)");
    EXPECT_EQ(message("-- kind: tabel\n-- reads: (no model)\nSELECT 1", "m/a.sql"),
              "m/a.sql:1: kind must be table, view or function, not 'tabel'");
    EXPECT_EQ(message("-- kind: table\n-- grain: x\n-- index: person_id\n-- reads: (no model)\n"
                      "SELECT 1",
                      "m/a.sql"),
              "m/a.sql:3: index must be a column list such as (person_id) or unique (order_id)");
    EXPECT_EQ(message("-- kind: function\n-- reads: (no model)\nCREATE FUNCTION models.b() ...",
                      "m/b.sql"),
              "m/b.sql:3: a function file starts with 'CREATE OR REPLACE FUNCTION models.b('");
    EXPECT_EQ(message("-- kind: table\n-- reads: (no model)\nSELECT 1", "m/Big-Name.sql"),
              "m/Big-Name.sql: a model file is named <name>.sql, lower case letters, digits and "
              "'_'");
}

TEST(ModelFiles, ATableNamesTheColumnItIsDistributedBy) {
    const auto file = models::parse_model_file(
        "-- kind: table\n-- grain: one row per session\n-- distribute: person_id\n"
        "-- index: unique (person_id, session_number)\n-- index: (session_id)\n"
        "-- reads: person_events\nSELECT 1 FROM models.person_events\n",
        "models/sessions.sql");
    EXPECT_EQ(file.distribute, "person_id");
    EXPECT_EQ(models::parse_model_file("-- kind: table\n-- grain: x\n-- reads: (no model)\nSELECT 1",
                                       "m/a.sql")
                  .distribute,
              "");
}

TEST(ModelFiles, ADistributionThatCitusCouldNotKeepIsRefused) {
    auto message = [](const std::string& header) {
        try {
            models::parse_model_file(header + "-- reads: (no model)\nSELECT 1", "m/a.sql");
        } catch (const CatalogError& error) {
            return std::string(error.what());
        }
        return std::string("(no error)");
    };
    EXPECT_EQ(message("-- kind: table\n-- grain: x\n-- distribute: person id\n"),
              "m/a.sql:3: distribute names one column, such as person_id");
    EXPECT_EQ(message("-- kind: view\n-- grain: x\n-- distribute: person_id\n"),
              "m/a.sql:5: only tables are distributed");
    EXPECT_EQ(message("-- kind: table\n-- grain: x\n-- distribute: person_id\n"
                      "-- index: unique (order_id)\n"),
              "m/a.sql:6: unique index (order_id) must include the distribution column person_id");
    EXPECT_EQ(message("-- kind: table\n-- grain: x\n-- distribute: person_id\n"
                      "-- index: unique (order_id, person_id)\n-- index: (order_id)\n"),
              "(no error)");
}

TEST(ModelOrder, FollowsTheReadsWithFunctionsThatReadNoModelFirst) {
    const auto order = order_of({
        table("value", "orders, sessions",
              "SELECT models.share() FROM models.orders, models.sessions"),
        function("panel", "value", "SELECT count(*) FROM models.value"),
        table("sessions", "events_base", "SELECT * FROM models.events_base"),
        table("orders", "events_base", "SELECT * FROM models.events_base"),
        function("share", "(no model)", "SELECT 1"),
        table("events_base", "(no model)", "SELECT * FROM events WHERE models.share() > 0"),
        function("summary", "panel", "SELECT * FROM models.panel()"),
    });
    EXPECT_EQ(order, (std::vector<std::string>{"share", "events_base", "orders", "sessions",
                                               "value", "panel", "summary"}));
}

TEST(ModelOrder, ACycleNamesTheFilesInIt) {
    EXPECT_EQ(
        error_of({table("a", "b", "SELECT * FROM models.b"),
                  table("b", "c", "SELECT * FROM models.c"),
                  table("c", "a", "SELECT * FROM models.a"), table("d", "(no model)", "SELECT 1")}),
        "the model files read each other in a cycle: models/a.sql -> models/b.sql -> "
        "models/c.sql -> models/a.sql");
}

TEST(ModelOrder, AMissingOrUnlistedReadNamesTheFile) {
    EXPECT_EQ(error_of({table("a", "gone", "SELECT 1")}),
              "models/a.sql: reads 'gone', which is no model file (nor a function reading one) in "
              "models");
    EXPECT_EQ(error_of({table("a", "(no model)", "SELECT 1"),
                        table("b", "(no model)", "SELECT 1\nFROM models.a")}),
              "models/b.sql:7: reads models.a, which its header's 'reads:' line does not list");
    EXPECT_EQ(error_of({table("a", "(no model)", "SELECT 1"), table("b", "a", "SELECT 2")}),
              "models/b.sql: its header lists 'a' in 'reads:', but the statement never reads "
              "models.a");
}

TEST(ModelOrder, TwoFilesOfOneNameAreRefused) {
    auto custom = table("a", "(no model)", "SELECT 2");
    custom.path = "custom/a.sql";
    EXPECT_EQ(error_of({table("a", "(no model)", "SELECT 1"), custom}),
              "two files define models.a: models/a.sql and custom/a.sql");
}

// A function that reads models and that a model uses is made in the buffer
// too, before that model, reading the buffer: one definition for the model
// and for the dashboard's filtered panels.
TEST(ModelOrder, AFunctionReadingModelsThatAModelUsesIsBuffered) {
    const auto catalog = models::order_files({
        table("b", "count_a", "SELECT * FROM models.count_a()"),
        function("count_a", "a, rows_of_a", "SELECT count(*) FROM models.a, models.rows_of_a()"),
        function("rows_of_a", "a", "SELECT 1 FROM models.a"),
        function("panel", "b, count_a", "SELECT * FROM models.b, models.count_a()"),
        table("a", "(no model)", "SELECT 1"),
    });
    std::vector<std::string> order;
    for (const auto& file : catalog.files) order.push_back(file.name);
    EXPECT_EQ(order, (std::vector<std::string>{"a", "rows_of_a", "count_a", "b", "panel"}));
    EXPECT_TRUE(catalog.find("count_a")->buffered);
    EXPECT_TRUE(catalog.find("rows_of_a")->buffered);  // through count_a
    EXPECT_FALSE(catalog.find("panel")->buffered);
    EXPECT_TRUE(catalog.find("panel")->reads_models);
    EXPECT_EQ(models::in_buffer(*catalog.find("count_a"), catalog, "models_b"),
              "CREATE OR REPLACE FUNCTION models_b.count_a() RETURNS bigint LANGUAGE sql STABLE "
              "AS $$ SELECT count(*) FROM models_b.a, models_b.rows_of_a() $$;\n");
    EXPECT_EQ(models::in_buffer(*catalog.find("b"), catalog, "models_a"),
              "SELECT * FROM models_a.count_a()");
    // A `reads:` line names what the statement reads through such a function.
    EXPECT_EQ(error_of({table("a", "(no model)", "SELECT 1"),
                        function("count_a", "a", "SELECT count(*) FROM models.a"),
                        table("b", "(no model)", "SELECT models.count_a()")}),
              "models/b.sql:6: reads models.count_a, which its header's 'reads:' line does not "
              "list");
}

TEST(ModelOrder, ANameTheMigrationsOwnIsRefused) {
    EXPECT_EQ(error_of({table("settings", "(no model)", "SELECT 1")}),
              "models/settings.sql: models.settings is a table of the migrations; choose another "
              "name");
}

TEST(ModelBuffer, ReferencesToModelsPointAtTheBufferAndFunctionsStay) {
    const auto catalog = models::order_files({
        table("base", "(no model)", "SELECT 1 AS one"),
        function("twice", "(no model)", "SELECT 2"),
        table("top", "base", "SELECT models.twice(), b.one -- models.base\nFROM models.base b"),
    });
    EXPECT_EQ(models::in_buffer(*catalog.find("top"), catalog, "models_b"),
              "SELECT models.twice(), b.one -- models.base\nFROM models_b.base b");
    const auto quoted = models::order_files({
        table("base", "(no model)", "SELECT 1 AS one"),
        table("top", "base", "SELECT * FROM \"models\" . base"),
    });
    EXPECT_EQ(models::in_buffer(*quoted.find("top"), quoted, "models_a"),
              "SELECT * FROM models_a . base");
}

TEST(ModelCatalog, TheRepositoryModelsLoadInOrder) {
    const auto catalog = models::load_catalog({test::source_dir() / "models"});
    EXPECT_EQ(catalog.model_count(), 40u);
    auto position = [&](const std::string& name) {
        for (std::size_t i = 0; i < catalog.files.size(); ++i)
            if (catalog.files[i].name == name) return i;
        ADD_FAILURE() << name << " is not in the catalog";
        return std::size_t{0};
    };
    EXPECT_LT(position("person_events"), position("sessions"));
    EXPECT_LT(position("value_class_of"), position("event_value"));
    EXPECT_LT(position("occurrence_outcomes"), position("event_value"));
    EXPECT_LT(position("event_value"), position("traffic_quality"));
    EXPECT_LT(position("tracking_health"), position("dashboard_volume"));
    EXPECT_LT(position("micro_rates"), position("rate_changes"));
    EXPECT_LT(position("rate_segments"), position("alert_candidates"));
    EXPECT_LT(position("stage_coverage"), position("alert_candidates"));
    EXPECT_LT(position("dashboard_volume"), position("dashboard_tracking"));
    EXPECT_TRUE(catalog.find("dashboard_value")->reads_models);
    EXPECT_FALSE(catalog.find("welch_margin")->reads_models);
}

TEST(ModelCatalog, AFolderThatDoesNotExistIsNamed) {
    try {
        models::load_catalog({"/nonexistent/models"});
        FAIL() << "no error";
    } catch (const CatalogError& error) {
        EXPECT_STREQ(error.what(), "model folder '/nonexistent/models' does not exist");
    }
}
