// Cross-source deduplication against the real PostgreSQL: one event, a
// browser copy and a server copy sharing its id.
#include <gtest/gtest.h>

#include <thread>

#include "funnelhouse/loader/writer.hpp"
#include "sample_events.hpp"
#include "writer_fixture.hpp"

using namespace funnelhouse;
using loader::Fate;

namespace {

common::Event copy_of(const std::string& id, common::Source source, const std::string& properties,
                      const std::string& received_at) {
    auto event = test::sample_event(id, properties);
    event.event_name = "order_completed";
    event.source = source;
    event.write_key_name = source == common::Source::browser ? "web" : "backend";
    event.anonymous_id =
        source == common::Source::browser ? std::optional<std::string>("anon-1") : std::nullopt;
    event.user_id =
        source == common::Source::server ? std::optional<std::string>("user-1") : std::nullopt;
    event.received_at = *common::parse_timestamp(received_at);
    return event;
}

class DedupTest : public test::WriterFixture {
  protected:
    std::vector<Fate> write(const std::vector<common::Event>& events) {
        return loader::write_batch(*connection_, test::pointers(events), {});
    }
};

}  // namespace

TEST_F(DedupTest, BrowserFirstThenServerMergesAndServerPropertiesWin) {
    EXPECT_EQ(write({copy_of("o-1", common::Source::browser, R"({"revenue":90})",
                             "2024-05-01T12:00:00Z")}),
              std::vector<Fate>{Fate::inserted});
    EXPECT_EQ(write({copy_of("o-1", common::Source::server, R"({"revenue":100,"cost":60})",
                             "2024-05-01T12:00:02Z")}),
              std::vector<Fate>{Fate::duplicate});
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "1");
    EXPECT_EQ(schema_.scalar(
                  "SELECT sources || ' ' || source || ' ' || (properties->>'revenue') || ' ' || "
                  "user_id || ' ' || anonymous_id FROM events"),
              "both browser 100 user-1 anon-1");
    EXPECT_EQ(schema_.scalar(
                  "SELECT to_char(browser_received_at AT TIME ZONE 'UTC', 'HH24:MI:SS') || ' ' || "
                  "to_char(server_received_at AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM events"),
              "12:00:00 12:00:02");
}

TEST_F(DedupTest, ServerFirstKeepsItsPropertiesWhenTheBrowserCopyArrives) {
    write({copy_of("o-2", common::Source::server, R"({"revenue":100})", "2024-05-01T12:00:00Z")});
    EXPECT_EQ(write({copy_of("o-2", common::Source::browser, R"({"revenue":1})",
                             "2024-05-01T12:00:05Z")}),
              std::vector<Fate>{Fate::duplicate});
    EXPECT_EQ(schema_.scalar("SELECT sources || ' ' || (properties->>'revenue') FROM events"),
              "both 100");
}

TEST_F(DedupTest, BothCopiesInOneBatchAndRetriesChangeNothing) {
    const std::vector<common::Event> batch{
        copy_of("o-3", common::Source::browser, R"({"revenue":90})", "2024-05-01T12:00:00Z"),
        copy_of("o-3", common::Source::server, R"({"revenue":100})", "2024-05-01T12:00:01Z")};
    EXPECT_EQ(write(batch), (std::vector<Fate>{Fate::inserted, Fate::duplicate}));
    EXPECT_EQ(write(batch), (std::vector<Fate>{Fate::duplicate, Fate::duplicate}));
    EXPECT_EQ(schema_.scalar("SELECT count(*) || ' ' || min(sources) || ' ' || "
                             "min(properties->>'revenue') FROM events"),
              "1 both 100");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM bad_events"), "0");
}

TEST_F(DedupTest, SameIdForAnotherEventOrPersonIsACollisionKeptInBadEvents) {
    write({copy_of("o-4", common::Source::server, R"({"revenue":100})", "2024-05-01T12:00:00Z")});
    auto other_name = copy_of("o-4", common::Source::browser, "{}", "2024-05-01T12:00:01Z");
    other_name.event_name = "add_to_cart";
    auto other_user =
        copy_of("o-4", common::Source::server, R"({"revenue":5})", "2024-05-01T12:00:02Z");
    other_user.user_id = "user-2";
    EXPECT_EQ(write({other_name, other_user}),
              (std::vector<Fate>{Fate::collision, Fate::collision}));
    // Sent again: the same two rows, not four.
    EXPECT_EQ(write({other_name, other_user}),
              (std::vector<Fate>{Fate::collision, Fate::collision}));

    EXPECT_EQ(schema_.scalar("SELECT event_name || ' ' || user_id || ' ' || sources || ' ' || "
                             "(properties->>'revenue') FROM events"),
              "order_completed user-1 server 100");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM bad_events WHERE reason = 'event_id_collision' "
                             "AND event_id = 'o-4'"),
              "2");
    EXPECT_EQ(schema_.scalar("SELECT raw_event::jsonb->>'userId' FROM bad_events WHERE event_name "
                             "= 'order_completed'"),
              "user-2");
    EXPECT_EQ(schema_.scalar(
                  "SELECT errors->0->>'message' FROM bad_events WHERE event_name = 'add_to_cart'"),
              "event id o-4 is already stored for order_completed (user user-1, anonymous -)");
}

TEST_F(DedupTest, TheSameCopyOnTwoConnectionsAtOnceMakesOneRow) {
    // Two server instances receive the same retry at the same moment.
    const auto event =
        copy_of("o-5", common::Source::server, R"({"revenue":100})", "2024-05-01T12:00:00Z");
    std::vector<std::vector<Fate>> fates(2);
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
        writers.emplace_back([&, w] {
            auto connection = schema_.connect();
            loader::prepare_staging(*connection);
            for (int round = 0; round < 20; ++round) {
                auto copy = event;
                copy.event_id = "o-5-" + std::to_string(round);
                fates[w].push_back(loader::write_batch(*connection, {&copy}, {}).at(0));
            }
        });
    }
    for (auto& writer : writers) writer.join();
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "20");
    for (int round = 0; round < 20; ++round) {
        // Exactly one of the two inserted each id; the other saw a duplicate.
        EXPECT_NE(fates[0][round], fates[1][round]) << round;
        EXPECT_NE(fates[0][round], Fate::collision);
    }
}

TEST_F(DedupTest, AnIdAnotherLoaderStoresDuringTheBatchIsMergedAsACopy) {
    // The other loader's transaction holds the browser copy, uncommitted:
    // this batch's look-up does not see it, its COPY of the new row waits for
    // the other transaction and then fails on the primary key. The batch must
    // then go through the stage and merge its server copy into that row.
    auto other = schema_.connect();
    loader::prepare_staging(*other);
    pqxx::work held(*other);
    const auto browser =
        copy_of("o-9", common::Source::browser, R"({"revenue":90})", "2024-05-01T12:00:00Z");
    loader::write_rows(held, {&browser}, {});

    const auto server =
        copy_of("o-9", common::Source::server, R"({"revenue":100})", "2024-05-01T12:00:01Z");
    const auto fresh =
        copy_of("o-10", common::Source::server, R"({"revenue":50})", "2024-05-01T12:00:01Z");
    const auto pid = std::to_string(connection_->backendpid());
    std::vector<Fate> fates;
    std::thread batch([&] { fates = write({server, fresh}); });
    // Commit the other copy only once this batch waits on its row lock.
    auto watcher = schema_.connect();
    bool waited = false;
    for (int i = 0; i < 1000 && !waited; ++i) {
        pqxx::nontransaction look(*watcher);
        waited = look.exec("SELECT 1 FROM pg_stat_activity WHERE pid = " + pid +
                           " AND wait_event_type = 'Lock'")
                     .size() == 1;
        if (!waited) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    held.commit();
    batch.join();
    ASSERT_TRUE(waited);
    EXPECT_EQ(fates, (std::vector<Fate>{Fate::duplicate, Fate::inserted}));
    EXPECT_EQ(schema_.scalar("SELECT string_agg(event_id || ' ' || sources || ' ' || "
                             "(properties->>'revenue'), ', ' ORDER BY event_id) FROM events"),
              "o-10 server 50, o-9 both 100");
}

TEST_F(DedupTest, IdsWithQuotesAndBackslashesAreFoundAgain) {
    std::vector<common::Event> first;
    for (const std::string id : {R"(a"b)", R"(c\d)", "{e,f}", "NULL", " g "})
        first.push_back(copy_of(id, common::Source::browser, "{}", "2024-05-01T12:00:00Z"));
    EXPECT_EQ(write(first), std::vector<Fate>(5, Fate::inserted));
    auto again = first;
    for (auto& event : again) event.source = common::Source::server;
    EXPECT_EQ(write(again), std::vector<Fate>(5, Fate::duplicate));
    EXPECT_EQ(schema_.scalar("SELECT count(*) FILTER (WHERE sources = 'both') || '/' || count(*) "
                             "FROM events"),
              "5/5");
}

TEST_F(DedupTest, CoverageViewCountsEachSourceMix) {
    write({copy_of("c-1", common::Source::browser, "{}", "2024-05-01T12:00:00Z"),
           copy_of("c-1", common::Source::server, "{}", "2024-05-01T12:00:01Z"),
           copy_of("c-2", common::Source::server, "{}", "2024-05-01T12:00:00Z"),
           copy_of("c-3", common::Source::server, "{}", "2024-05-01T12:00:00Z"),
           copy_of("c-4", common::Source::browser, "{}", "2024-05-01T12:00:00Z")});
    EXPECT_EQ(schema_.scalar("SELECT day || ' ' || events || ' ' || both_sources || ' ' || "
                             "browser_only || ' ' || server_only "
                             "FROM dedup_coverage WHERE event_name = 'order_completed'"),
              "2024-05-01 4 1 1 2");
}

TEST_F(DedupTest, SameUserWithAnotherAnonymousIdIsTheSameEvent) {
    auto browser =
        copy_of("o-6", common::Source::browser, R"({"revenue":90})", "2024-05-01T12:00:00Z");
    browser.user_id = "user-1";
    auto server =
        copy_of("o-6", common::Source::server, R"({"revenue":100})", "2024-05-01T12:00:01Z");
    server.anonymous_id = "backend-session-7";
    write({browser});
    EXPECT_EQ(write({server}), std::vector<Fate>{Fate::duplicate});
    EXPECT_EQ(schema_.scalar("SELECT sources || ' ' || (properties->>'revenue') FROM events"),
              "both 100");
}

TEST_F(DedupTest, ARefusedBrowserCopyOfAServerOnlyEventStillCountsAsSeen) {
    write({copy_of("o-7", common::Source::server, R"({"revenue":100})", "2024-05-01T12:00:00Z")});
    // The page's copy of the order, refused at ingest as source_not_allowed.
    const auto refused = test::refused_browser_copy("7b1e0b36-7e62-4d53-9a52-2d7f1b0e4c11", "o-7",
                                                    "2024-05-01T12:00:03Z");
    loader::write_batch(*connection_, {}, {&refused});
    EXPECT_EQ(
        schema_.scalar("SELECT sources || ' ' || (properties->>'revenue') || ' ' || "
                       "to_char(browser_received_at AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM events"),
        "both 100 12:00:03");
}
