#include "funnelhouse/loader/loader.hpp"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "funnelhouse/loader/error.hpp"
#include "sample_events.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

common::Event make_event(const std::string& id) { return test::sample_event(id); }

// Collects the outcomes of submitted jobs.
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

TEST(Loader, GroupsQueuedRequestsIntoOneTransaction) {
    test::TestSchema schema;
    schema.migrate();
    config::Config config;
    config.database_url = schema.url();
    config.batch_max_events = 1000;
    loader::Loader loader(config);

    Outcomes outcomes;
    outcomes.expected = 10;
    for (int job_index = 0; job_index < 10; ++job_index) {
        loader::LoadJob job;
        for (int i = 0; i < 10; ++i)
            job.events.push_back(
                make_event("j" + std::to_string(job_index) + "-" + std::to_string(i)));
        job.done = outcomes.callback();
        ASSERT_FALSE(loader.submit(std::move(job)));
    }
    EXPECT_EQ(loader.queued_events(), 100u);
    loader.start();
    ASSERT_EQ(outcomes.all_done.get_future().wait_for(std::chrono::seconds(30)),
              std::future_status::ready);
    loader.stop();
    for (const auto& outcome : outcomes.list)
        EXPECT_FALSE(outcome.error) << outcome.error.message();
    EXPECT_EQ(loader.batches_committed(), 1u);
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events"), "100");
}

TEST(Loader, CountsDuplicatesPerRequestAcrossConcurrentSubmitters) {
    test::TestSchema schema;
    schema.migrate();
    config::Config config;
    config.database_url = schema.url();
    config.batch_max_events = 64;
    loader::Loader loader(config);
    loader.start();

    // 4 threads x 25 jobs x 8 events; every event id is sent twice in total.
    Outcomes outcomes;
    outcomes.expected = 100;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int j = 0; j < 25; ++j) {
                loader::LoadJob job;
                for (int i = 0; i < 8; ++i)
                    job.events.push_back(
                        make_event("id-" + std::to_string((t % 2) * 1000 + j * 8 + i)));
                job.done = outcomes.callback();
                while (loader.submit(std::move(job)) == loader::errc::overloaded)
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_EQ(outcomes.all_done.get_future().wait_for(std::chrono::seconds(60)),
              std::future_status::ready);
    loader.stop();
    std::size_t duplicates = 0;
    for (const auto& outcome : outcomes.list) {
        EXPECT_FALSE(outcome.error) << outcome.error.message();
        duplicates += outcome.duplicates;
    }
    EXPECT_EQ(duplicates, 400u);
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events"), "400");
}

TEST(Loader, StopDrainsWhatWasAccepted) {
    test::TestSchema schema;
    schema.migrate();
    config::Config config;
    config.database_url = schema.url();
    config.batch_max_events = 7;
    loader::Loader loader(config);
    loader.start();
    Outcomes outcomes;
    outcomes.expected = 30;
    for (int j = 0; j < 30; ++j) {
        loader::LoadJob job;
        job.events.push_back(make_event("s-" + std::to_string(j)));
        job.done = outcomes.callback();
        ASSERT_FALSE(loader.submit(std::move(job)));
    }
    loader.stop();
    EXPECT_EQ(outcomes.list.size(), 30u);
    for (const auto& outcome : outcomes.list) EXPECT_FALSE(outcome.error);
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events"), "30");

    loader::LoadJob late;
    late.events.push_back(make_event("late"));
    late.done = [](loader::LoadOutcome) {};
    EXPECT_EQ(loader.submit(std::move(late)), loader::errc::shutting_down);
}

TEST(Loader, FullQueueRefusesInsteadOfDropping) {
    config::Config config;
    config.database_url = test::base_database_url();
    config.queue_max_events = 5;
    loader::Loader loader(config);  // not started: nothing drains
    auto job_of = [](int n) {
        loader::LoadJob job;
        for (int i = 0; i < n; ++i) job.events.push_back(make_event("q" + std::to_string(i)));
        job.done = [](loader::LoadOutcome) {};
        return job;
    };
    EXPECT_FALSE(loader.submit(job_of(4)));
    EXPECT_EQ(loader.submit(job_of(2)), loader::errc::overloaded);
    EXPECT_FALSE(loader.submit(job_of(1)));
    EXPECT_EQ(loader.queued_events(), 5u);
}

TEST(Loader, UnreachableDatabaseAnswersUnavailableAfterTheLoadTimeout) {
    config::Config config;
    // Port 1 on loopback: nothing listens there, connections are refused at once.
    config.database_url = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2";
    config.load_timeout = std::chrono::milliseconds(300);
    loader::Loader loader(config);
    loader.start();
    std::promise<loader::LoadOutcome> result;
    loader::LoadJob job;
    job.events.push_back(make_event("x"));
    job.done = [&](loader::LoadOutcome outcome) { result.set_value(outcome); };
    ASSERT_FALSE(loader.submit(std::move(job)));
    auto future = result.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    EXPECT_EQ(future.get().error, loader::errc::database_unavailable);
    EXPECT_FALSE(loader.database_connected());
    loader.stop();
}

TEST(Loader, APermanentFailureIsIsolatedToItsOwnRequest) {
    test::TestSchema schema;
    schema.migrate();
    // Stands in for any row PostgreSQL refuses for good (SQLSTATE 23514).
    schema.scalar("ALTER TABLE events ADD CONSTRAINT no_poison CHECK (event_id <> 'poison')");
    config::Config config;
    config.database_url = schema.url();
    config.batch_max_events = 1000;
    loader::Loader loader(config);

    std::vector<std::promise<loader::LoadOutcome>> results(3);
    const std::vector<std::vector<std::string>> jobs{{"a-1", "a-2"}, {"b-1", "poison"}, {"c-1"}};
    for (std::size_t j = 0; j < jobs.size(); ++j) {
        loader::LoadJob job;
        for (const auto& id : jobs[j]) job.events.push_back(make_event(id));
        job.done = [&results, j](loader::LoadOutcome outcome) { results[j].set_value(outcome); };
        ASSERT_FALSE(loader.submit(std::move(job)));
    }
    loader.start();  // all three in one batch
    std::vector<loader::LoadOutcome> outcomes;
    for (auto& result : results) {
        auto future = result.get_future();
        ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
        outcomes.push_back(future.get());
    }
    loader.stop();
    EXPECT_FALSE(outcomes[0].error);
    EXPECT_EQ(outcomes[1].error, loader::errc::load_failed);
    EXPECT_FALSE(outcomes[2].error);
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "a-1,a-2,c-1");
}
