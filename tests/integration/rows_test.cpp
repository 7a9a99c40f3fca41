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
#include <set>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/common/file.hpp"
#include "funnelhouse/common/uuid.hpp"
#include "funnelhouse/ingest/request.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "funnelhouse/simulate/shop.hpp"
#include "sample_events.hpp"
#include "test_contracts.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

const auto kReceivedAt = *common::parse_timestamp("2026-03-01T12:00:00Z");

struct Sender {
    std::string authorization;
    common::Source source;
};

class Rows {
  public:
    Rows()
        : keys_(ingest::WriteKeyRing::from_json_text(
              R"([{"name":"web","key":"kb","source":"browser"},
                  {"name":"backend","key":"ks","source":"server"}])",
              "rows test")) {}

    // One request; ids the server made are replaced by ones made from a
    // counter, so that the rows are the same on every run.
    void post(std::string_view route, std::string_view body, common::Source source) {
        const std::string authorization =
            "Basic " + common::base64_encode(source == common::Source::server ? "ks:" : "kb:");
        ingest::RequestInput input;
        input.route = route;
        input.body = body;
        input.authorization = authorization;
        input.received_at = kReceivedAt;
        auto outcome = ingest::process_request(input, keys_, test::repository_contracts(), {});
        if (outcome.error) return;
        std::set<std::string> assigned;
        for (const auto& entry : nlohmann::json::parse(outcome.assigned_json))
            assigned.insert(entry["event_id"].get<std::string>());
        for (auto& event : outcome.events) {
            if (assigned.count(event.event_id))
                event.event_id = common::uuid_from_name("assigned " + std::to_string(++made_));
            events_.push_back(std::move(event));
        }
        // A rejected message without an id of its own is given one too: it
        // is not in its raw text.
        for (auto& bad : outcome.bad_events) {
            if (bad.event_id && bad.raw_event.find(*bad.event_id) == std::string::npos)
                bad.event_id = common::uuid_from_name("assigned " + std::to_string(++made_));
            bad_events_.push_back(std::move(bad));
        }
    }

    void load(const test::TestSchema& schema) {
        auto connection = schema.connect();
        loader::prepare_staging(*connection);
        // In batches of 50, as a loader would meet them.
        for (std::size_t at = 0; at < std::max(events_.size(), bad_events_.size()); at += 50) {
            std::vector<const common::Event*> events;
            std::vector<const common::BadEvent*> bad;
            for (std::size_t i = at; i < std::min(at + 50, events_.size()); ++i)
                events.push_back(&events_[i]);
            for (std::size_t i = at; i < std::min(at + 50, bad_events_.size()); ++i)
                bad.push_back(&bad_events_[i]);
            loader::write_batch(*connection, events, bad);
        }
    }

    std::size_t events() const { return events_.size(); }
    std::size_t bad_events() const { return bad_events_.size(); }

  private:
    ingest::WriteKeyRing keys_;
    std::vector<common::Event> events_;
    std::vector<common::BadEvent> bad_events_;
    int made_ = 0;
};

// A table's rows as text (without loaded_at, which is the clock's), one a
// line, in order; and their MD5.
std::string rows_sql(const std::string& table) {
    return "SELECT coalesce(string_agg(r, E'\\n' ORDER BY r), '') FROM (SELECT (to_jsonb(t) - "
           "'loaded_at')::text AS r FROM " +
           table + " t) rows";
}

}  // namespace

TEST(Rows, AreWhatTheyWereForTheFuzzCorporaAndASimulatedShop) {
    Rows rows;
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
