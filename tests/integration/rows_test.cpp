// Today's rows, pinned. Every seed of the fuzz corpora (through three routes
// and both kinds of write key) and a simulated shop go through
// process_request and the loader into a fresh schema; the rows of events,
// bad_events and identity_map, as PostgreSQL stores them, must hash to what
// they hashed to when this test was written. Parsing, mapping or loading
// done another way must keep every row. To see what changed, run the test
// with FUNNELHOUSE_PRINT_ROWS=<file> on both commits and compare the files.
// A change of the rows on purpose (a new contract version, a new column, a
// simulated shop that behaves otherwise) records the new digests, saying
// why in its commit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "corpus.hpp"
#include "funnelhouse/common/file.hpp"
#include "funnelhouse/simulate/shop.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

const auto kReceivedAt = *common::parse_timestamp("2026-03-01T12:00:00Z");

// A table's rows as text (without loaded_at, which is the clock's), one a
// line, in order; and their MD5.
std::string rows_sql(const std::string& table) {
    return "SELECT coalesce(string_agg(r, E'\\n' ORDER BY r), '') FROM (SELECT (to_jsonb(t) - "
           "'loaded_at')::text AS r FROM " +
           table + " t) rows";
}

}  // namespace

TEST(Rows, AreWhatTheyWereForTheFuzzCorporaAndASimulatedShop) {
    test::Corpus rows(kReceivedAt);
    const auto corpora = test::source_dir() / "tests" / "fuzz" / "corpus";
    std::vector<std::filesystem::path> seeds;
    for (const char* corpus : {"request", "message"})
        for (const auto& entry : std::filesystem::directory_iterator(corpora / corpus))
            seeds.push_back(entry.path());
    std::sort(seeds.begin(), seeds.end());
    for (const auto& seed : seeds) {
        const auto body = common::read_file(seed);
        ASSERT_TRUE(body) << seed;
        for (const auto source : {common::Source::browser, common::Source::server})
            for (std::string_view route : {"/v1/batch", "/v1/track", "/v1/identify"})
                rows.post(route, *body, source);
    }
    simulate::ShopSettings shop;
    shop.persons = 300;
    shop.days = 30;
    shop.seed = 3;
    shop.end = kReceivedAt;
    const auto messages = simulate::generate_shop(shop);
    for (const auto& batch : simulate::batch_messages(messages, 20))
        rows.post("/v1/batch", batch.body, batch.sender);
    ASSERT_GT(rows.events(), 1000u) << rows.bad_events();
    ASSERT_GT(rows.bad_events(), 10u);

    test::TestSchema schema;
    schema.migrate();
    rows.load(schema);
    std::map<std::string, std::string> found;
    std::string printed;
    for (const std::string table : {"events", "bad_events", "identity_map"}) {
        printed += "-- " + table + "\n" + schema.scalar(rows_sql(table)) + "\n";
        found[table] = schema.scalar("SELECT md5((" + rows_sql(table) + "))");
    }
    if (const char* path = std::getenv("FUNNELHOUSE_PRINT_ROWS")) std::ofstream(path) << printed;
    // Recorded when the simulated shop gained its planted path (some compare
    // products after adding to the cart), with the pipeline as at 6a5a0ab:
    // 1,663 events, 105 rejections, 405 ids.
    EXPECT_EQ(found["events"], "4e6079329698c8e0bda88afcd60859d2") << rows.events();
    EXPECT_EQ(found["bad_events"], "898f11d0c14415b8bc9402c5aa6c3a0b") << rows.bad_events();
    EXPECT_EQ(found["identity_map"], "df030f5327e7db6cc085032450c8ee87");
}
