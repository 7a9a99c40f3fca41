// End-to-end delivery guarantees of the default acknowledgement mode
// (durable): the real binary is killed, stopped and starved of its database
// and disk while a real HTTP client records every acknowledged event; every
// acknowledged event must end up in PostgreSQL exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "funnelhouse/spool/format.hpp"
#include "http_client.hpp"
#include "postgres_cluster.hpp"
#include "process.hpp"
#include "serve_env.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;
using nlohmann::json;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* kServerKey = "delivery-server-key";

std::string track(const std::string& id, const std::string& price = "9.5") {
    return R"({"type":"track","messageId":")" + id +
           R"(","event":"add_to_cart","anonymousId":"anon-)" + id +
           R"(","properties":{"product_id":"sku","price":)" + price + "}}";
}

// A batch of `good` valid events and one invalid one (a string price), ids
// prefixed with `prefix`.
std::string batch_body(const std::string& prefix, int good) {
    std::string body = R"({"batch":[)";
    for (int i = 0; i < good; ++i) body += track(prefix + "-" + std::to_string(i)) + ",";
    body += track(prefix + "-bad", R"("cheap")") + "]}";
    return body;
}

test::Env server_env(const fs::path& dir, const std::string& database_url,
                     const test::Env& extra = {}) {
    const auto keys = dir / "keys.json";
    if (!fs::exists(keys))
        std::ofstream(keys) << R"([{"name":"backend","key":")" << kServerKey
                            << R"(","source":"server"}])";
    auto env = test::serve_env(database_url, keys, dir / "spool",
                               {{"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "0"},
                                {"FUNNELHOUSE_LOG_LEVEL", "warn"}});
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
}

json readyz(unsigned short port) {
    test::HttpClient client(port);
    return json::parse(client.request("GET", "/readyz").body);
}

// Clients that post batches without pause and remember what was
// acknowledged. They follow the server to its new port after a restart.
class Traffic {
  public:
    explicit Traffic(int clients, int good_per_batch = 10) : good_(good_per_batch) {
        for (int c = 0; c < clients; ++c) threads_.emplace_back([this, c] { run(c); });
    }
    ~Traffic() { finish(); }

    void point_at(unsigned short port) { port_ = port; }
    void finish() {
        stop_ = true;
        for (auto& thread : threads_)
            if (thread.joinable()) thread.join();
    }
    int acknowledged() const { return acknowledged_.load(); }
    // Waits until `more` further requests are acknowledged (bounded).
    bool wait_for_more(int more, std::chrono::seconds limit = std::chrono::seconds(30)) const {
        const int target = acknowledged() + more;
        const auto until = clock_type::now() + limit;
        while (acknowledged() < target && clock_type::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return acknowledged() >= target;
    }
    std::set<std::string> good_ids() {
        std::lock_guard lock(mutex_);
        return good_ids_;
    }
    std::set<std::string> bad_ids() {
        std::lock_guard lock(mutex_);
        return bad_ids_;
    }
    std::map<int, int> statuses() {
        std::lock_guard lock(mutex_);
        return statuses_;
    }

  private:
    void run(int client) {
        int sequence = 0;
        while (!stop_) {
            const auto port = port_.load();
            if (port == 0) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                continue;
            }
            try {
                test::HttpClient http(port);
                while (!stop_ && port_.load() == port) {
                    const auto prefix =
                        "c" + std::to_string(client) + "-" + std::to_string(sequence++);
                    const auto response =
                        http.post("/v1/batch", batch_body(prefix, good_), kServerKey);
                    std::lock_guard lock(mutex_);
                    ++statuses_[response.status];
                    if (response.status != 200) continue;
                    for (int i = 0; i < good_; ++i)
                        good_ids_.insert(prefix + "-" + std::to_string(i));
                    bad_ids_.insert(prefix + "-bad");
                    ++acknowledged_;
                }
            } catch (const std::exception&) {
                // Killed or restarting: not acknowledged; try again shortly.
                std::lock_guard lock(mutex_);
                ++statuses_[0];
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    const int good_;
    std::atomic<unsigned short> port_{0};
    std::atomic<bool> stop_{false};
    std::atomic<int> acknowledged_{0};
    std::mutex mutex_;
    std::set<std::string> good_ids_;
    std::set<std::string> bad_ids_;
    std::map<int, int> statuses_;
    std::vector<std::thread> threads_;
};

std::set<std::string> split(const std::string& text) {
    std::set<std::string> out;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) out.insert(item);
    return out;
}

// Every acknowledged id is stored exactly once: valid events in events,
// the invalid ones in bad_events.
template <typename Database>
void expect_exactly_once(const Database& db, const std::set<std::string>& good,
                         const std::set<std::string>& bad) {
    const auto stored = split(db.scalar("SELECT string_agg(event_id, ',') FROM events"));
    EXPECT_EQ(db.scalar("SELECT count(*) - count(DISTINCT event_id) FROM events"), "0");
    std::size_t missing = 0;
    for (const auto& id : good)
        if (!stored.count(id)) ++missing;
    EXPECT_EQ(missing, 0u) << "of " << good.size() << " acknowledged events";
    const auto stored_bad = split(db.scalar("SELECT string_agg(event_id, ',') FROM bad_events"));
    EXPECT_EQ(db.scalar("SELECT count(*) - count(DISTINCT event_id) FROM bad_events"), "0")
        << "a rejected event was stored twice";
    std::size_t missing_bad = 0;
    for (const auto& id : bad)
        if (!stored_bad.count(id)) ++missing_bad;
    EXPECT_EQ(missing_bad, 0u) << "of " << bad.size() << " acknowledged rejections";
}

std::vector<fs::path> segments_in(const fs::path& dir) {
    std::vector<fs::path> list;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".seg") list.push_back(entry.path());
    std::sort(list.begin(), list.end());
    return list;
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// After a fault: `more` further requests are acknowledged, the traffic
// stops, and the server loads everything acknowledged (bounded).
::testing::AssertionResult drained(Traffic& traffic, unsigned short port, int more = 20) {
    if (!traffic.wait_for_more(more))
        return ::testing::AssertionFailure() << "no further requests were acknowledged";
    traffic.finish();
    if (!test::wait_until_loaded(port, std::chrono::seconds(90)))
        return ::testing::AssertionFailure() << "not loaded: " << readyz(port).dump();
    return ::testing::AssertionSuccess();
}

// SIGTERM; the server exits 0 (else the end of its log is shown).
void expect_clean_stop(test::ServerProcess& server) {
    const int exit_code = server.stop();
    const auto log = server.stderr_text();
    EXPECT_EQ(exit_code, 0) << log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
}

}  // namespace

TEST(Delivery, KilledMidLoadThreeTimesLosesNothingAcknowledged) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    Traffic traffic(3);
    std::mt19937 random(20261123);  // seeded: the same kill points every run
    // The loader gathers for 100 ms before each batch, so that every kill
    // finds acknowledged requests that are only in the spool.
    const auto env =
        server_env(dir.path(), schema.url(), {{"FUNNELHOUSE_BATCH_MAX_DELAY_MS", "100"}});
    std::uint64_t replayed = 0;
    for (int round = 0; round < 3; ++round) {
        test::ServerProcess server;
        server.start(env);
        replayed += readyz(server.port())["spool"]["recovery"]["records"].get<std::uint64_t>();
        traffic.point_at(server.port());
        ASSERT_TRUE(traffic.wait_for_more(40 + static_cast<int>(random() % 40)))
            << server.stderr_text();
        server.kill_now();
    }
    test::ServerProcess server;
    server.start(env);
    replayed += readyz(server.port())["spool"]["recovery"]["records"].get<std::uint64_t>();
    // Restarts found acknowledged requests that were not loaded yet.
    EXPECT_GT(replayed, 0u);
    traffic.point_at(server.port());
    ASSERT_TRUE(traffic.wait_for_more(10));
    traffic.finish();
    ASSERT_TRUE(test::wait_until_loaded(server.port(), std::chrono::seconds(60)))
        << readyz(server.port()).dump();
    EXPECT_GE(traffic.acknowledged(), 55);
    expect_exactly_once(schema, traffic.good_ids(), traffic.bad_ids());
    EXPECT_EQ(server.stop(), 0) << server.stderr_text();
}

TEST(Delivery, SigtermDuringLoadExitsCleanlyAndTheRestLoadsAtTheNextStart) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    Traffic traffic(3);
    {
        test::ServerProcess server;
        server.start(server_env(dir.path(), schema.url()));
        traffic.point_at(server.port());
        ASSERT_TRUE(traffic.wait_for_more(30)) << server.stderr_text();
        const auto started = clock_type::now();
        EXPECT_EQ(server.stop(), 0) << server.stderr_text();
        EXPECT_LT(clock_type::now() - started, std::chrono::seconds(15));
        traffic.point_at(0);
    }
    traffic.finish();
    test::ServerProcess server;
    server.start(server_env(dir.path(), schema.url()));
    ASSERT_TRUE(test::wait_until_loaded(server.port(), std::chrono::seconds(60)));
    expect_exactly_once(schema, traffic.good_ids(), traffic.bad_ids());
    EXPECT_EQ(server.stop(), 0);
}

TEST(Delivery, DatabaseStoppedAndStartedMidLoad) {
    test::TempDir dir;
    test::PostgresCluster database(dir.path() / "pg");
    test::ServerProcess server;
    server.start(server_env(dir.path(), database.url() + "?connect_timeout=2",
                            {{"FUNNELHOUSE_LOAD_TIMEOUT_MS", "2000"}}));
    Traffic traffic(2);
    traffic.point_at(server.port());
    ASSERT_TRUE(traffic.wait_for_more(10));

    database.stop();
    // Acknowledgements go on while the database is away; the backlog grows.
    ASSERT_TRUE(traffic.wait_for_more(30)) << server.stderr_text();
    json away;
    for (int i = 0; i < 200; ++i) {
        away = readyz(server.port());
        if (away["database"] == "unavailable") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(away["status"], "degraded") << away.dump();
    EXPECT_EQ(away["database"], "unavailable");
    EXPECT_TRUE(away["spool"]["accepting"].get<bool>());
    EXPECT_GT(away["spool"]["unloaded_records"].get<int>(), 0);
    EXPECT_GT(away["spool"]["unloaded_bytes"].get<int>(), 0);
    EXPECT_TRUE(away["spool"]["oldest_unloaded_age_seconds"].is_number()) << away.dump();

    database.start();
    // The backlog drains while new events keep arriving.
    ASSERT_TRUE(drained(traffic, server.port()));
    const auto back = readyz(server.port());
    EXPECT_EQ(back["status"], "ready") << back.dump();
    EXPECT_TRUE(back["spool"]["oldest_unloaded_age_seconds"].is_null());
    EXPECT_EQ(traffic.statuses().count(503), 0u) << "nothing is refused while the spool has room";
    expect_exactly_once(database, traffic.good_ids(), traffic.bad_ids());
    expect_clean_stop(server);
}

// On Citus (a cluster of the test's own, so that the other tests' workers
// stay up): a worker goes away under load and comes back. Loads fail while
// it is away (every batch writes shards on both workers); acknowledgements
// go on from the spool, and every acknowledged event is stored once.
TEST(CitusDelivery, AWorkerRestartedMidLoadLosesNothingAcknowledged) {
    test::TempDir dir;
    test::CitusCluster cluster(dir.path() / "citus");
    test::ServerProcess server;
    server.start(server_env(dir.path(), cluster.url() + "?connect_timeout=2",
                            {{"FUNNELHOUSE_LOAD_TIMEOUT_MS", "2000"}}));
    Traffic traffic(2);
    traffic.point_at(server.port());
    ASSERT_TRUE(traffic.wait_for_more(10)) << server.stderr_text();

    cluster.worker(1).stop();
    ASSERT_TRUE(traffic.wait_for_more(30)) << server.stderr_text();
    json away;
    for (int i = 0; i < 200; ++i) {
        away = readyz(server.port());
        if (away["spool"]["unloaded_records"].get<int>() > 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_GT(away["spool"]["unloaded_records"].get<int>(), 0)
        << "loads went on without a worker: " << away.dump();

    cluster.worker(1).start();
    ASSERT_TRUE(drained(traffic, server.port()));
    EXPECT_EQ(traffic.statuses().count(503), 0u) << "nothing is refused while the spool has room";
    expect_exactly_once(cluster, traffic.good_ids(), traffic.bad_ids());
    expect_clean_stop(server);
}

// On Citus: a third worker is added under load and the shards are moved
// onto it (blocking writes to each shard while it moves, which needs no
// logical replication). Loads wait or retry meanwhile; every acknowledged
// event is stored once, and the events' shards end up on all three.
TEST(CitusDelivery, AWorkerAddedAndTheShardsRebalancedUnderLoadLosesNothing) {
    test::TempDir dir;
    test::CitusCluster cluster(dir.path() / "citus");
    test::ServerProcess server;
    server.start(server_env(dir.path(), cluster.url()));
    Traffic traffic(2);
    traffic.point_at(server.port());
    ASSERT_TRUE(traffic.wait_for_more(10)) << server.stderr_text();

    cluster.add_worker();
    cluster.scalar("SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')");
    cluster.scalar("SELECT citus_rebalance_wait()");
    ASSERT_TRUE(drained(traffic, server.port())) << server.stderr_text();
    EXPECT_EQ(cluster.scalar("SELECT count(DISTINCT p.nodeport) FROM pg_dist_shard_placement p"
                             " JOIN pg_dist_shard s USING (shardid)"
                             " WHERE s.logicalrelid = 'events'::regclass"),
              "3");
    expect_exactly_once(cluster, traffic.good_ids(), traffic.bad_ids());
    expect_clean_stop(server);
}

TEST(Delivery, AFullSpoolRefusesWith503AndRecoversOnceThereIsRoom) {
    test::TempDir dir;
    test::PostgresCluster database(dir.path() / "pg");
    database.stop();
    test::ServerProcess server;
    server.start(server_env(
        dir.path(), database.url() + "?connect_timeout=2",
        {{"FUNNELHOUSE_SPOOL_SEGMENT_BYTES", "65536"}, {"FUNNELHOUSE_SPOOL_MAX_BYTES", "262144"}}));
    test::HttpClient client(server.port());
    std::set<std::string> good, bad;
    test::HttpResponse refused;
    for (int i = 0; i < 500; ++i) {
        const auto prefix = "q" + std::to_string(i);
        const auto response = client.post("/v1/batch", batch_body(prefix, 10), kServerKey);
        if (response.status != 200) {
            refused = response;
            break;
        }
        for (int e = 0; e < 10; ++e) good.insert(prefix + "-" + std::to_string(e));
        bad.insert(prefix + "-bad");
    }
    ASSERT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(refused.headers.at("retry-after"), "5");
    EXPECT_EQ(json::parse(refused.body)["error"], "spool full");
    EXPECT_NE(refused.body.find("FUNNELHOUSE_SPOOL_MAX_BYTES"), std::string::npos);
    EXPECT_GT(good.size(), 100u);
    const auto full = readyz(server.port());
    EXPECT_EQ(full["status"], "unavailable") << full.dump();
    EXPECT_EQ(full["spool"]["refusing"], "spool full");
    EXPECT_LE(full["spool"]["bytes"].get<int>(), 262144);

    database.start();
    // Loading makes room: the same server accepts again by itself.
    test::HttpResponse accepted;
    for (int attempt = 0; attempt < 300; ++attempt) {
        accepted = client.post("/v1/batch", batch_body("after", 10), kServerKey);
        if (accepted.status == 200) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(accepted.status, 200) << accepted.body;
    for (int e = 0; e < 10; ++e) good.insert("after-" + std::to_string(e));
    bad.insert("after-bad");
    ASSERT_TRUE(test::wait_until_loaded(server.port(), std::chrono::seconds(60)));
    EXPECT_EQ(readyz(server.port())["status"], "ready");
    expect_exactly_once(database, good, bad);
    EXPECT_EQ(server.stop(), 0);
}

TEST(Delivery, TooLittleFreeDiskRefusesNamingTheSetting) {
    test::TempDir dir;
    test::ServerProcess server;
    server.start(server_env(dir.path(), "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2",
                            {{"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "1125899906842624"}}));
    test::HttpClient client(server.port());
    const auto response = client.post("/v1/batch", batch_body("d", 1), kServerKey);
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(response.headers.at("retry-after"), "5");
    EXPECT_EQ(json::parse(response.body)["error"], "disk full");
    EXPECT_NE(response.body.find("FUNNELHOUSE_SPOOL_MIN_FREE_BYTES"), std::string::npos);
    EXPECT_EQ(readyz(server.port())["spool"]["refusing"], "disk full");
}

TEST(Delivery, StartUpCutsATornTailAndMovesADamagedSegmentAside) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    std::vector<std::string> prefixes;
    {
        // No database: every acknowledged request waits in the spool.
        test::ServerProcess server;
        server.start(server_env(dir.path(),
                                "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2",
                                {{"FUNNELHOUSE_SHUTDOWN_TIMEOUT_MS", "200"}}));
        test::HttpClient client(server.port());
        for (int i = 0; i < 5; ++i) {
            prefixes.push_back("t" + std::to_string(i));
            ASSERT_EQ(client.post("/v1/batch", batch_body(prefixes.back(), 2), kServerKey).status,
                      200);
        }
        EXPECT_EQ(server.stop(), 0);
    }
    // Find the segment holding the five records, one per request.
    fs::path segment;
    std::string bytes;
    spool::ScanResult scan;
    for (const auto& candidate : segments_in(dir.path() / "spool")) {
        bytes = read_bytes(candidate);
        scan = spool::scan_records(bytes, spool::kSegmentHeaderBytes);
        if (scan.records.size() == 5) {
            segment = candidate;
            break;
        }
    }
    ASSERT_FALSE(segment.empty());
    // Flip a byte in the middle of the third request's record, and leave half
    // a record at the end, as a write cut short by a power loss would.
    bytes[scan.records[2].offset + scan.records[2].size / 2] ^= 0x5a;
    std::string torn;
    spool::append_record(torn, std::string(300, 'x'));
    bytes += torn.substr(0, 100);
    std::ofstream(segment, std::ios::binary | std::ios::trunc) << bytes;

    test::ServerProcess server;
    server.start(server_env(dir.path(), schema.url()));
    ASSERT_TRUE(test::wait_until_loaded(server.port()));
    const auto report = readyz(server.port())["spool"]["recovery"];
    EXPECT_EQ(report["moved_aside"].size(), 1u) << report.dump();
    EXPECT_EQ(report["records"], 4) << report.dump();
    const fs::path aside = report["moved_aside"][0].get<std::string>();
    EXPECT_EQ(aside.parent_path(), dir.path() / "spool" / "corrupt");
    EXPECT_EQ(read_bytes(aside), bytes) << "the damaged segment is kept as it was";
    EXPECT_NE(server.stderr_text().find("is damaged"), std::string::npos) << server.stderr_text();

    // Everything but the damaged record is loaded.
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "t0-0,t0-1,t1-0,t1-1,t3-0,t3-1,t4-0,t4-1");
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM bad_events"),
              "t0-bad,t1-bad,t3-bad,t4-bad");
    EXPECT_EQ(server.stop(), 0);
}

TEST(Delivery, StartUpCutsATornTailAlone) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    {
        test::ServerProcess server;
        server.start(server_env(dir.path(),
                                "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2",
                                {{"FUNNELHOUSE_SHUTDOWN_TIMEOUT_MS", "200"}}));
        test::HttpClient client(server.port());
        ASSERT_EQ(client.post("/v1/batch", batch_body("u", 3), kServerKey).status, 200);
        server.kill_now();
    }
    const auto segment = segments_in(dir.path() / "spool").back();
    std::string torn;
    spool::append_record(torn, std::string(500, 'y'));
    std::ofstream(segment, std::ios::binary | std::ios::app) << torn.substr(0, 40);

    test::ServerProcess server;
    server.start(server_env(dir.path(), schema.url()));
    ASSERT_TRUE(test::wait_until_loaded(server.port()));
    const auto report = readyz(server.port())["spool"]["recovery"];
    EXPECT_EQ(report["torn_tails"], 1) << report.dump();
    EXPECT_EQ(report["torn_bytes_cut"], 40);
    EXPECT_EQ(report["moved_aside"].size(), 0u);
    EXPECT_NE(server.stderr_text().find("torn record tail of 40 bytes"), std::string::npos)
        << server.stderr_text();
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "u-0,u-1,u-2");
    EXPECT_EQ(server.stop(), 0);
}

TEST(Delivery, ARecordPostgresRefusesIsQuarantinedThenRequeuedAndLoaded) {
    test::TestSchema schema;
    schema.migrate();
    // Stands in for a row the database refuses for good until an operator
    // fixes the cause.
    schema.scalar("ALTER TABLE events ADD CONSTRAINT no_poison CHECK (event_id <> 'poison')");
    test::TempDir dir;
    const auto env = server_env(dir.path(), schema.url());
    {
        test::ServerProcess server;
        server.start(env);
        test::HttpClient client(server.port());
        EXPECT_EQ(client.post("/v1/track", track("poison"), kServerKey).status, 200);
        EXPECT_EQ(client.post("/v1/track", track("fine"), kServerKey).status, 200);
        ASSERT_TRUE(test::wait_until_loaded(server.port(), std::chrono::seconds(30)));
        EXPECT_EQ(readyz(server.port())["spool"]["quarantined_records"], 1);
        // The folder is the server's while it runs.
        const auto busy = test::run_funnelhouse({"requeue-quarantine"}, env);
        EXPECT_EQ(busy.exit_code, 1);
        EXPECT_NE(busy.err.find("in use by another funnelhouse process"), std::string::npos)
            << busy.err;
        EXPECT_EQ(server.stop(), 0) << server.stderr_text();
    }
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_id, ',') FROM events"), "fine");
    schema.scalar("ALTER TABLE events DROP CONSTRAINT no_poison");
    const auto requeued = test::run_funnelhouse({"requeue-quarantine"}, env);
    ASSERT_EQ(requeued.exit_code, 0) << requeued.err;
    EXPECT_NE(requeued.out.find("requeued 1 quarantined record(s)"), std::string::npos)
        << requeued.out;

    test::ServerProcess server;
    server.start(env);
    ASSERT_TRUE(test::wait_until_loaded(server.port(), std::chrono::seconds(30)));
    EXPECT_EQ(readyz(server.port())["spool"]["quarantined_records"], 0);
    EXPECT_EQ(server.stop(), 0);
    EXPECT_EQ(schema.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "fine,poison");
}
