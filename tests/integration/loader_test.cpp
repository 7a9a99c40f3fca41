// The loader between a real spool (in a temp folder) and the real PostgreSQL.
#include "funnelhouse/loader/loader.hpp"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "funnelhouse/loader/error.hpp"
#include "sample_events.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

using clock = std::chrono::steady_clock;

spool::SpoolSettings spool_settings(const std::filesystem::path& dir) {
    spool::SpoolSettings settings;
    settings.dir = dir;
    settings.min_free_bytes = 0;
    return settings;
}

spool::SpooledRequest request_of(const std::vector<std::string>& ids, std::uint64_t ticket = 0) {
    spool::SpooledRequest request;
    request.ticket = ticket;
    request.spooled_at = common::now();
    for (const auto& id : ids) request.events.push_back(test::sample_event(id));
    return request;
}

void spool_durably(spool::Spool& spool, const spool::SpooledRequest& request) {
    std::promise<std::error_code> durable;
    auto future = durable.get_future();
    ASSERT_FALSE(spool.append(spool::encode_request(request),
                              [&](std::error_code ec) { durable.set_value(ec); }));
    ASSERT_FALSE(future.get());
}

// Waits (bounded) until the loader has committed everything spooled.
bool drained(const spool::Spool& spool, std::chrono::seconds limit = std::chrono::seconds(30)) {
    const auto until = clock::now() + limit;
    while (clock::now() < until) {
        if (spool.status().unloaded_records == 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

// Collects the outcomes of requests waiting in the loaded mode.
struct Outcomes {
    std::mutex mutex;
    std::vector<loader::LoadOutcome> list;
    std::promise<void> all_done;
    std::size_t expected = 0;

    std::function<void(loader::LoadOutcome)> callback() {
        return [this](loader::LoadOutcome outcome) {
            std::lock_guard lock(mutex);
            list.push_back(outcome);
            if (list.size() == expected) all_done.set_value();
        };
    }
};

}  // namespace

TEST(Loader, GroupsSpooledRequestsIntoOneTransaction) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    config::Config config;
    config.database_url = schema.url();
    config.batch_max_events = 1000;
    spool::Spool spool(spool_settings(dir.path()));
    for (int r = 0; r < 10; ++r) {
        std::vector<std::string> ids;
        for (int i = 0; i < 10; ++i)
            ids.push_back("r" + std::to_string(r) + "-" + std::to_string(i));
        spool_durably(spool, request_of(ids));
    }
    EXPECT_EQ(spool.status().unloaded_records, 10u);
    loader::Loader loader(config, spool);
    loader.start();
    ASSERT_TRUE(drained(spool));
    loader.stop(clock::now());
    EXPECT_EQ(loader.batches_committed(), 1u);
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events"), "100");
}

TEST(Loader, WaitingRequestsLearnTheirDuplicatesAcrossConcurrentWriters) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    config::Config config;
    config.database_url = schema.url();
    config.batch_max_events = 64;
    spool::Spool spool(spool_settings(dir.path()));
    loader::Loader loader(config, spool);
    loader.start();

    // 4 threads x 25 requests x 8 events; every event id is sent twice in total.
    Outcomes outcomes;
    outcomes.expected = 100;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int j = 0; j < 25; ++j) {
                std::vector<std::string> ids;
                for (int i = 0; i < 8; ++i)
                    ids.push_back("id-" + std::to_string((t % 2) * 1000 + j * 8 + i));
                const auto ticket = loader.new_ticket();
                loader.expect(ticket, outcomes.callback());
                ASSERT_FALSE(spool.append(spool::encode_request(request_of(ids, ticket)),
                                          [](std::error_code) {}));
            }
        });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_EQ(outcomes.all_done.get_future().wait_for(std::chrono::seconds(60)),
              std::future_status::ready);
    loader.stop(clock::now());
    std::size_t duplicates = 0;
    for (const auto& outcome : outcomes.list) {
        EXPECT_FALSE(outcome.error) << outcome.error.message();
        duplicates += outcome.duplicates;
    }
    EXPECT_EQ(duplicates, 400u);
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events"), "400");
}

// Each record its own batch, two stored at once: the browser copy of an
// event in one batch, its server copy in the next, and the first copy of the
// next event beside it, so that neighbouring batches always share an id.
TEST(Loader, TwoLanesMergeTheCopiesOfNeighbouringBatches) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    config::Config config;
    config.database_url = schema.url();
    config.batch_max_events = 1;  // about 300 bytes: one or two records a batch
    config.loader_connections = 2;
    // Longer than the drain may take: should a batch wait for the one ahead
    // while that one waits for its rows, it would let go only after this.
    config.load_timeout = std::chrono::seconds(60);
    spool::Spool spool(spool_settings(dir.path()));
    const auto copy = [](int n, common::Source source) {
        auto event = test::sample_event("e-" + std::to_string(n));
        event.source = source;
        event.write_key_name = source == common::Source::browser ? "web" : "backend";
        event.anonymous_id = "anon-" + std::to_string(n % 7);
        event.user_id = source == common::Source::server
                            ? std::optional<std::string>("user-" + std::to_string(n % 7))
                            : std::nullopt;
        return event;
    };
    constexpr int kRecords = 120;
    for (int r = 0; r < kRecords; ++r) {
        spool::SpooledRequest request;
        request.spooled_at = common::now();
        request.events.push_back(copy(r, common::Source::browser));
        if (r > 0) request.events.push_back(copy(r - 1, common::Source::server));
        spool_durably(spool, request);
    }
    loader::Loader loader(config, spool);
    loader.start();
    ASSERT_TRUE(drained(spool));
    loader.stop(clock::now());
    EXPECT_GE(loader.batches_committed(), std::uint64_t{kRecords / 2});
    EXPECT_EQ(schema.scalar("SELECT count(*) || ' ' || count(*) FILTER (WHERE sources = 'both')"
                            " || ' ' || count(user_id) FROM events"),
              std::to_string(kRecords) + " " + std::to_string(kRecords - 1) + " " +
                  std::to_string(kRecords - 1));
    // Every anonymous id stitched to its user by the merged copies.
    EXPECT_EQ(schema.scalar("SELECT count(DISTINCT person_id) || ' ' || min(person_id) "
                            "FROM identity_map WHERE id_type = 'anonymous'"),
              "7 user:user-0");
}

TEST(Loader, StopDrainsTheSpoolBeforeItsDeadline) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    config::Config config;
    config.database_url = schema.url();
    config.batch_max_events = 7;
    spool::Spool spool(spool_settings(dir.path()));
    for (int j = 0; j < 30; ++j) spool_durably(spool, request_of({"s-" + std::to_string(j)}));
    loader::Loader loader(config, spool);
    loader.start();
    loader.stop(clock::now() + std::chrono::seconds(30));
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events"), "30");
    EXPECT_EQ(spool.status().unloaded_records, 0u);
}

TEST(Loader, WhatIsNotLoadedByTheStopDeadlineLoadsAtTheNextStart) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    config::Config config;
    config.load_timeout = std::chrono::milliseconds(300);
    {
        // PostgreSQL unreachable: port 1 on loopback refuses at once.
        config.database_url = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2";
        spool::Spool spool(spool_settings(dir.path()));
        for (int j = 0; j < 3; ++j) spool_durably(spool, request_of({"n-" + std::to_string(j)}));
        loader::Loader loader(config, spool);
        loader.start();
        const auto started = clock::now();
        loader.stop(clock::now() + std::chrono::milliseconds(500));
        EXPECT_LT(clock::now() - started, std::chrono::seconds(10));
        EXPECT_EQ(spool.status().unloaded_records, 3u);
    }
    config.database_url = schema.url();
    spool::Spool spool(spool_settings(dir.path()));
    EXPECT_EQ(spool.status().recovery.records, 3u);
    loader::Loader loader(config, spool);
    loader.start();
    ASSERT_TRUE(drained(spool));
    loader.stop(clock::now());
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "n-0,n-1,n-2");
}

TEST(Loader, AWaitingRequestIsToldTheDatabaseIsAwayAfterTheLoadTimeout) {
    test::TempDir dir;
    config::Config config;
    config.database_url = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2";
    config.load_timeout = std::chrono::milliseconds(300);
    spool::Spool spool(spool_settings(dir.path()));
    loader::Loader loader(config, spool);
    loader.start();
    std::promise<loader::LoadOutcome> result;
    const auto ticket = loader.new_ticket();
    loader.expect(ticket, [&](loader::LoadOutcome outcome) { result.set_value(outcome); });
    spool_durably(spool, request_of({"x"}, ticket));
    auto future = result.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    EXPECT_EQ(future.get().error, loader::errc::database_unavailable);
    EXPECT_FALSE(loader.database_connected());
    // The events are not lost: they wait in the spool.
    EXPECT_EQ(spool.status().unloaded_records, 1u);
    const auto age = loader.oldest_unloaded_age_seconds();
    ASSERT_TRUE(age.has_value());
    EXPECT_GE(*age, 0.0);
    loader.stop(clock::now());
}

TEST(Loader, ARecordRefusedForGoodIsQuarantinedAndLoadingGoesOn) {
    test::TestSchema schema;
    schema.migrate();
    // Stands in for any row PostgreSQL refuses for good (SQLSTATE 23514).
    schema.scalar("ALTER TABLE events ADD CONSTRAINT no_poison CHECK (event_id <> 'poison')");
    test::TempDir dir;
    config::Config config;
    config.database_url = schema.url();
    config.batch_max_events = 1000;
    spool::Spool spool(spool_settings(dir.path()));
    loader::Loader loader(config, spool);

    std::vector<std::promise<loader::LoadOutcome>> results(3);
    const std::vector<std::vector<std::string>> requests{
        {"a-1", "a-2"}, {"b-1", "poison"}, {"c-1"}};
    for (std::size_t j = 0; j < requests.size(); ++j) {
        const auto ticket = loader.new_ticket();
        loader.expect(
            ticket, [&results, j](loader::LoadOutcome outcome) { results[j].set_value(outcome); });
        spool_durably(spool, request_of(requests[j], ticket));
    }
    loader.start();  // all three in one batch
    std::vector<loader::LoadOutcome> outcomes;
    for (auto& result : results) {
        auto future = result.get_future();
        ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
        outcomes.push_back(future.get());
    }
    ASSERT_TRUE(drained(spool));
    loader.stop(clock::now());
    EXPECT_FALSE(outcomes[0].error);
    EXPECT_EQ(outcomes[1].error, loader::errc::load_failed);
    EXPECT_FALSE(outcomes[2].error);
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "a-1,a-2,c-1");
    EXPECT_EQ(spool.status().quarantined_records, 1u);
    // The quarantined record is kept whole: b-1 and poison are in it.
    const auto quarantine = dir.path() / "quarantine" / "records.fhq";
    ASSERT_TRUE(std::filesystem::exists(quarantine));
    std::ifstream in(quarantine, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), {}};
    const auto scan = spool::scan_records(bytes, 0);
    ASSERT_EQ(scan.records.size(), 1u);
    const auto kept = spool::decode_request(
        spool::record_payload(bytes, scan.records[0].offset, scan.records[0].size));
    ASSERT_TRUE(kept);
    ASSERT_EQ(kept->events.size(), 2u);
    EXPECT_EQ(kept->events[1].event_id, "poison");
}

TEST(Loader, ReconnectsWhenItsConnectionIsKilled) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    config::Config config;
    // A name of its own, so that only this test's connection is terminated.
    config.database_url = schema.url() + "&application_name=" + schema.name();
    spool::Spool spool(spool_settings(dir.path()));
    loader::Loader loader(config, spool);
    loader.start();
    spool_durably(spool, request_of({"before"}));
    ASSERT_TRUE(drained(spool));
    // Every connection of the loader (one per lane that stored a batch).
    EXPECT_EQ(schema.scalar("SELECT count(pg_terminate_backend(pid)) > 0 FROM pg_stat_activity "
                            "WHERE application_name = '" +
                            schema.name() + "'"),
              "t");
    spool_durably(spool, request_of({"after"}));
    ASSERT_TRUE(drained(spool));
    loader.stop(clock::now());
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "after,before");
}

TEST(Loader, ALockWaitIsRetriedNeverQuarantined) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    config::Config config;
    // A lock timeout shorter than the statement timeout: the loader meets
    // SQLSTATE 55P03 while the table is locked.
    config.database_url = schema.url() + "%20-clock_timeout%3D100";
    config.load_timeout = std::chrono::milliseconds(2000);
    spool::Spool spool(spool_settings(dir.path()));
    loader::Loader loader(config, spool);

    pqxx::connection analyst(schema.url());
    pqxx::work lock(analyst);
    lock.exec("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
    spool_durably(spool, request_of({"waited"}));
    loader.start();
    // Several lock timeouts pass; the record waits.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(spool.status().unloaded_records, 1u);
    EXPECT_EQ(spool.status().quarantined_records, 0u);
    lock.abort();
    ASSERT_TRUE(drained(spool));
    loader.stop(clock::now());
    EXPECT_EQ(spool.status().quarantined_records, 0u);
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_id, ',') FROM events"), "waited");
}
