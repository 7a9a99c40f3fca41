// The models as files against the real PostgreSQL: an analyst's own model in
// a second folder, refreshed with the built-in ones and readable by
// analysts; a model whose columns change; a file that does not compile stops
// the refresh before it changes anything.
#include "model_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "model_shop.hpp"

using namespace funnelhouse;

namespace {

using test::at;
using test::Shop;

class ModelFilesTest : public ::testing::Test {
  protected:
    void SetUp() override {
        schema_.migrate();
        Shop shop;
        shop.order("ann", at(0), "o-1", 20, 5);
        shop.order("ann", at(3), "o-2", 30, 10);
        shop.order("bob", at(1), "o-3", 15, std::nullopt);
        shop.load_and_refresh(schema_);
    }
    std::string q(const std::string& sql) { return schema_.scalar(sql); }
    // Refreshes from the repository's models and the custom folder.
    models::RefreshReport refresh() {
        auto connection = schema_.connect();
        const auto catalog = models::load_catalog({test::source_dir() / "models", custom_.path()});
        return models::refresh(*connection, test::repository_contracts(), catalog);
    }
    void write_custom(const std::string& select) {
        custom_.write("repeat_buyers.sql",
                      "-- Persons with more than one order.\n--\n"
                      "-- grain: one row per person\n-- kind: table\n"
                      "-- index: unique (person_id)\n-- reads: orders\n" +
                          select);
    }
    test::TestSchema schema_;
    test::TempDir custom_;
};

}  // namespace

TEST_F(ModelFilesTest, ACustomModelReadsTheBuiltInOnesAndAnalystsReadIt) {
    write_custom(
        "SELECT person_id, count(*) AS orders\nFROM models.orders\n"
        "GROUP BY person_id HAVING count(*) > 1\n");
    const auto report = refresh();
    EXPECT_EQ(report.steps.size(), 41u);
    EXPECT_EQ(q("SELECT string_agg(person_id || ' ' || orders, ',') FROM models.repeat_buyers"),
              "user:ann 2");
    // Both buffers get it in turn; the view shows the one just built.
    EXPECT_EQ(q("SELECT count(*) FROM " + q("SELECT current FROM models.state") + ".repeat_buyers"),
              "1");
    auto connection = schema_.connect();
    pqxx::work analyst(*connection);
    analyst.exec("SET LOCAL ROLE funnelhouse_analyst");
    EXPECT_EQ(analyst.exec("SELECT count(*) FROM models.repeat_buyers")[0][0].as<int>(), 1);
}

TEST_F(ModelFilesTest, AModelWhoseColumnsChangeIsShownWithTheNewColumns) {
    write_custom(
        "SELECT person_id, count(*) AS orders\nFROM models.orders\n"
        "GROUP BY person_id HAVING count(*) > 1\n");
    refresh();
    write_custom(
        "SELECT person_id, sum(revenue) AS revenue, count(*) AS orders\n"
        "FROM models.orders\nGROUP BY person_id HAVING count(*) > 1\n");
    refresh();
    EXPECT_EQ(q("SELECT string_agg(person_id || ' ' || revenue || ' ' || orders, ',') "
                "FROM models.repeat_buyers"),
              "user:ann 50.000000 2");
}

// One file, one statement: a second one after a semicolon is refused, not
// run (whatever rights the refreshing login has beyond funnelhouse_models).
TEST_F(ModelFilesTest, ASecondStatementInAFileIsRefusedNotRun) {
    write_custom(
        "SELECT person_id, count(*) AS orders FROM models.orders GROUP BY person_id;\n"
        "RESET ROLE; DELETE FROM events;\n");
    EXPECT_THROW(refresh(), models::CatalogError);
    EXPECT_EQ(q("SELECT count(*) FROM events"), "3");
    // A final semicolon, even with a comment after it, is fine.
    write_custom(
        "SELECT person_id, count(*) AS orders FROM models.orders GROUP BY person_id;\n"
        "-- the end\n");
    refresh();
    EXPECT_EQ(q("SELECT count(*) FROM models.repeat_buyers"), "2");
}

TEST_F(ModelFilesTest, AModelWhoseFileIsRemovedIsDroppedUnlessAViewOfOnesOwnReadsIt) {
    write_custom("SELECT person_id, count(*) AS orders FROM models.orders GROUP BY person_id\n");
    refresh();
    refresh();  // both buffers hold it
    std::filesystem::remove(custom_.path() / "repeat_buyers.sql");
    schema_.scalar("CREATE VIEW public.my_buyers AS SELECT * FROM models.repeat_buyers");
    auto report = refresh();
    EXPECT_TRUE(report.dropped.empty());
    EXPECT_EQ(q("SELECT count(*) FROM public.my_buyers"), "2");

    schema_.scalar("DROP VIEW public.my_buyers");
    report = refresh();
    EXPECT_EQ(report.dropped, std::vector<std::string>{"repeat_buyers"});
    EXPECT_EQ(q("SELECT to_regclass('models.repeat_buyers') IS NULL AND "
                "to_regclass('models_a.repeat_buyers') IS NULL AND "
                "to_regclass('models_b.repeat_buyers') IS NULL"),
              "t");
    // The built-in models are all still there.
    EXPECT_EQ(q("SELECT count(*) FROM models.orders"), "3");
    EXPECT_EQ(refresh().dropped.size(), 0u);
}

// A function that reads models can define a model (and serve the
// dashboard's filtered panels): the model reads the rows this refresh
// builds, not those of the last one.
TEST_F(ModelFilesTest, AModelMayBeDefinedByAFunctionThatReadsModels) {
    custom_.write("buyers_among.sql",
                  "-- Persons with at least p_min orders.\n--\n-- kind: function\n"
                  "-- reads: orders\n"
                  "CREATE OR REPLACE FUNCTION models.buyers_among(p_min integer)\n"
                  "RETURNS TABLE (person_id text, orders bigint) LANGUAGE sql STABLE AS $$\n"
                  "SELECT o.person_id, count(*) FROM models.orders o GROUP BY o.person_id\n"
                  "HAVING count(*) >= p_min\n$$;\n");
    write_custom("SELECT * FROM models.buyers_among(2)\n");
    // The header must say what it reads through the function.
    EXPECT_THROW(refresh(), models::CatalogError);
    custom_.write("repeat_buyers.sql",
                  "-- Persons with more than one order.\n--\n-- grain: one row per person\n"
                  "-- kind: table\n-- reads: buyers_among\n"
                  "SELECT * FROM models.buyers_among(2)\n");
    refresh();
    EXPECT_EQ(q("SELECT string_agg(person_id || ' ' || orders, ',') FROM models.repeat_buyers"),
              "user:ann 2");
    EXPECT_EQ(q("SELECT count(*) FROM models.buyers_among(1)"), "2");

    Shop more("later");
    more.order("bob", at(5), "o-4", 12, 3);
    more.load(schema_);
    refresh();
    EXPECT_EQ(q("SELECT string_agg(person_id || ' ' || orders, ',' ORDER BY person_id) "
                "FROM models.repeat_buyers"),
              "user:ann 2,user:bob 2");

    // Gone with its files: from `models` and from both buffers.
    std::filesystem::remove(custom_.path() / "repeat_buyers.sql");
    std::filesystem::remove(custom_.path() / "buyers_among.sql");
    const auto report = refresh();
    EXPECT_EQ(report.dropped.size(), 4u);  // the model, and the function three times
    EXPECT_EQ(q("SELECT count(*) FROM pg_proc WHERE proname = 'buyers_among'"), "0");
}

TEST_F(ModelFilesTest, AFileThatDoesNotCompileStopsTheRefreshBeforeAnyChange) {
    const auto state = q("SELECT current || ' ' || refreshed_at FROM models.state");
    write_custom(
        "SELECT person_id,\n       count(*) FILTER (WHERE revenu > 0) AS orders\n"
        "FROM models.orders\nGROUP BY person_id\n");
    try {
        refresh();
        FAIL() << "the refresh ran";
    } catch (const models::CatalogError& error) {
        EXPECT_EQ(std::string(error.what()), (custom_.path() / "repeat_buyers.sql").string() +
                                                 ":8: column \"revenu\" does not exist");
    }
    EXPECT_EQ(q("SELECT current || ' ' || refreshed_at FROM models.state"), state);
    EXPECT_EQ(q("SELECT to_regclass('models.repeat_buyers') IS NULL"), "t");
    EXPECT_EQ(q("SELECT count(*) FROM models.orders"), "3");
}
