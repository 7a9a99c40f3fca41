// End-to-end: three `funnelhouse serve` instances behind nginx (Debian's
// package, on loopback) against one PostgreSQL behave as one server. The
// browser and server copies of an event and the identify calls of a person
// are spread over the instances; one instance is killed mid-load and
// restarted. Every acknowledged event must be stored once, both copies of an
// event merged into its row, and persons stitched exactly as one instance
// stitches the same traffic.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "http_client.hpp"
#include "process.hpp"
#include "serve_env.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* kBrowserKey = "scale-browser-key";
constexpr const char* kServerKey = "scale-server-key";
constexpr int kPersons = 150;
constexpr const char* kNginx = "/usr/sbin/nginx";

struct Request {
    std::string route;
    std::string key;
    std::string body;
};

std::string timestamp(int person, int step) {
    // Each person acts within one hour of a day of October 2025, in order.
    char text[40];
    std::snprintf(text, sizeof text, "2025-10-%02dT%02d:%02d:%02dZ", 1 + person % 28,
                  person % 24, step / 60, step % 60);
    return text;
}

std::string track(const std::string& id, const std::string& event, const std::string& ids,
                  const std::string& at, const std::string& properties) {
    return R"({"type":"track","messageId":")" + id + R"(","event":")" + event + R"(",)" + ids +
           R"(,"timestamp":")" + at + R"(","properties":)" + properties + "}";
}

// The traffic of a small shop, in the order clients send it. Each person has
// one or two devices; on each the browser reports views and a cart, whose
// server copy the backend sends too; the person logs in on every device
// (identify, through either key); the backend records the order. Every
// tenth person once had another user id, which an alias joins.
std::vector<Request> shop_traffic() {
    std::vector<std::vector<Request>> per_person(kPersons);
    for (int p = 0; p < kPersons; ++p) {
        auto& out = per_person[p];
        const std::string user = "su-" + std::to_string(p);
        const int devices = p % 3 == 0 ? 2 : 1;
        int step = 0;
        for (int d = 0; d < devices; ++d) {
            const std::string anonymous = "sa-" + std::to_string(p) + "-" + std::to_string(d);
            const std::string anon_ids = R"("anonymousId":")" + anonymous + R"(")";
            const std::string prefix = "s" + std::to_string(p) + "-" + std::to_string(d) + "-";
            const std::string product =
                R"({"product_id":"sku-)" + std::to_string(p % 7) + R"(","price":12.5})";
            std::string browser_batch = R"({"batch":[)";
            browser_batch +=
                track(prefix + "view", "product_viewed", anon_ids, timestamp(p, step++), product) +
                ",";
            const auto cart_at = timestamp(p, step++);
            browser_batch +=
                track(prefix + "cart", "add_to_cart", anon_ids, cart_at, product) + "]}";
            out.push_back({"/v1/batch", kBrowserKey, browser_batch});
            // The backend's copy of the same cart event.
            out.push_back({"/v1/track", kServerKey,
                           track(prefix + "cart", "add_to_cart", anon_ids, cart_at, product)});
            out.push_back({"/v1/identify", d % 2 == 0 ? kBrowserKey : kServerKey,
                           R"({"messageId":")" + prefix + R"(login","anonymousId":")" +
                               anonymous + R"(","userId":")" + user + R"(","timestamp":")" +
                               timestamp(p, step++) + R"("})"});
        }
        const std::string user_ids = R"("userId":")" + user + R"(")";
        out.push_back(
            {"/v1/track", kServerKey,
             track("s" + std::to_string(p) + "-order", "order_completed", user_ids,
                   timestamp(p, step++),
                   R"({"order_id":"so-)" + std::to_string(p) + R"(","revenue":40,"cost":25,"currency":"EUR"})")});
        if (p % 10 == 0) {
            const std::string old_user = "old-su-" + std::to_string(p);
            out.push_back({"/v1/track", kServerKey,
                           track("s" + std::to_string(p) + "-old", "product_viewed",
                                 R"("userId":")" + old_user + R"(")", timestamp(p, step++),
                                 R"({"product_id":"sku-0"})")});
            out.push_back({"/v1/alias", kServerKey,
                           R"({"messageId":"s)" + std::to_string(p) + R"(-alias","previousId":")" +
                               old_user + R"(","userId":")" + user + R"(","timestamp":")" +
                               timestamp(p, step++) + R"("})"});
        }
    }
    // Persons interleave: request r of every person, then r + 1, ... so the
    // copies of one event and one person's calls land on different instances.
    std::vector<Request> all;
    for (std::size_t round = 0;; ++round) {
        bool any = false;
        for (const auto& requests : per_person)
            if (round < requests.size()) {
                all.push_back(requests[round]);
                any = true;
            }
        if (!any) break;
    }
    return all;
}

test::Env instance_env(const fs::path& dir, const std::string& database_url,
                       unsigned short port) {
    return test::serve_env(database_url, dir / "keys.json",
                           dir / ("spool-" + std::to_string(port)),
                           {{"FUNNELHOUSE_LISTEN", "127.0.0.1:" + std::to_string(port)},
                            {"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "0"},
                            {"FUNNELHOUSE_REFRESH_INTERVAL", "0"},
                            {"FUNNELHOUSE_LOG_LEVEL", "warn"}});
}

void write_keys(const fs::path& dir) {
    std::ofstream(dir / "keys.json") << R"([{"name":"web","key":")" << kBrowserKey
                                     << R"(","source":"browser"},{"name":"backend","key":")"
                                     << kServerKey << R"(","source":"server"}])";
}

// nginx in the foreground with everything under `dir`: round robin over the
// instances; a request that cannot reach one (refused, reset) is passed to
// the next, which is safe because every event carries its id.
void write_nginx_config(const fs::path& dir, unsigned short port,
                        const std::vector<unsigned short>& upstreams) {
    std::ofstream config(dir / "nginx.conf");
    config << "daemon off;\nworker_processes 1;\npid " << (dir / "nginx.pid").string() << ";\n"
           << "error_log " << (dir / "nginx-error.log").string() << " warn;\n"
           << (geteuid() == 0 ? "user root;\n" : "")
           << "events { worker_connections 256; }\n"
           << "http {\n  access_log off;\n";
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
        config << "  " << temp << "_temp_path " << (dir / (std::string(temp) + "_temp")).string()
               << ";\n";
    config << "  upstream funnelhouse {\n";
    for (const auto upstream : upstreams)
        config << "    server 127.0.0.1:" << upstream << " max_fails=1 fail_timeout=1s;\n";
    config << "    keepalive 16;\n  }\n"
           << "  server {\n    listen 127.0.0.1:" << port << ";\n"
           << "    client_max_body_size 1m;\n"
           << "    location / {\n      proxy_pass http://funnelhouse;\n"
           << "      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n"
           << "      proxy_next_upstream error timeout http_502 http_503 non_idempotent;\n"
           << "      proxy_next_upstream_tries 3;\n    }\n  }\n}\n";
}

bool wait_for_port(unsigned short port, std::chrono::seconds limit) {
    const auto deadline = clock_type::now() + limit;
    while (clock_type::now() < deadline) {
        try {
            test::HttpClient client(port);
            if (client.request("GET", "/healthz").status == 200) return true;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

// Sends every request from `threads` clients, each retrying a request until
// it is acknowledged (same body, same ids) or the deadline passes. `gate`
// is called with the index of each request before it is sent.
struct SendReport {
    std::size_t acknowledged = 0;
    std::size_t retries = 0;
};
SendReport send_all(unsigned short port, const std::vector<Request>& requests, int threads,
                    const std::function<void(std::size_t, std::size_t)>& gate) {
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> acknowledged{0};
    std::atomic<std::size_t> retries{0};
    const auto deadline = clock_type::now() + std::chrono::seconds(120);
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t)
        clients.emplace_back([&] {
            auto client = std::make_unique<test::HttpClient>(port);
            for (std::size_t i; (i = next.fetch_add(1)) < requests.size();) {
                gate(i, acknowledged.load());
                const auto& request = requests[i];
                while (clock_type::now() < deadline) {
                    try {
                        if (client->post(request.route, request.body, request.key).status == 200) {
                            ++acknowledged;
                            break;
                        }
                    } catch (const std::exception&) {
                        client = std::make_unique<test::HttpClient>(port);
                    }
                    ++retries;
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                }
            }
        });
    for (auto& client : clients) client.join();
    return {acknowledged.load(), retries.load()};
}

// event_id=person_id for every stored event: the stitching.
std::set<std::string> stitching(const test::TestSchema& schema) {
    const auto text = schema.scalar(
        "SELECT string_agg(event_id || '=' || person_id, ' ' ORDER BY event_id) "
        "FROM events_stitched");
    std::set<std::string> pairs;
    std::istringstream words(text);
    for (std::string word; words >> word;) pairs.insert(word);
    return pairs;
}

// The pairs in `a` and not in `b`, for a short failure message.
std::string missing_from(const std::set<std::string>& a, const std::set<std::string>& b) {
    std::string out;
    for (const auto& pair : a)
        if (!b.count(pair)) out += pair + " ";
    return out;
}

}  // namespace

TEST(ScaleOut, ThreeInstancesBehindNginxBehaveAsOneThroughAKillAndRestart) {
    ASSERT_TRUE(fs::exists(kNginx)) << "nginx is installed by scripts/setup";
    const auto requests = shop_traffic();
    std::size_t messages = 0;
    for (const auto& request : requests)
        messages += request.route == "/v1/batch" ? 2 : 1;

    test::TempDir dir;
    write_keys(dir.path());
    test::TestSchema schema;
    schema.migrate();
    std::vector<unsigned short> ports{test::free_port(), test::free_port(), test::free_port()};
    std::vector<std::unique_ptr<test::ServerProcess>> instances;
    for (const auto port : ports) {
        instances.push_back(std::make_unique<test::ServerProcess>());
        instances.back()->start(instance_env(dir.path(), schema.url(), port));
    }
    const auto balancer_port = test::free_port();
    write_nginx_config(dir.path(), balancer_port, ports);
    test::BackgroundProgram nginx(
        kNginx, {"-e", (dir.path() / "nginx-error.log").string(), "-p", dir.path().string(), "-c",
                 (dir.path() / "nginx.conf").string()});
    ASSERT_TRUE(wait_for_port(balancer_port, std::chrono::seconds(10)))
        << nginx.stderr_text() << std::ifstream(dir.path() / "nginx-error.log").rdbuf();

    // Instance 1 is killed (SIGKILL: no chance to flush or drain) once 40% of
    // the requests are acknowledged, while the clients keep sending; the last
    // fifth waits until it is back, on the same port and spool.
    std::mutex restart_mutex;
    std::condition_variable restarted_cv;
    bool restarted = false;
    std::atomic<bool> killed{false};
    std::thread chaos([&] {
        const auto deadline = clock_type::now() + std::chrono::seconds(60);
        while (!killed && clock_type::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        instances[1]->kill_now();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        instances[1] = std::make_unique<test::ServerProcess>();
        instances[1]->start(instance_env(dir.path(), schema.url(), ports[1]));
        std::lock_guard lock(restart_mutex);
        restarted = true;
        restarted_cv.notify_all();
    });
    const auto report =
        send_all(balancer_port, requests, 4, [&](std::size_t index, std::size_t acknowledged) {
            if (acknowledged * 10 >= requests.size() * 4) killed = true;
            if (index * 5 >= requests.size() * 4) {
                std::unique_lock lock(restart_mutex);
                restarted_cv.wait_for(lock, std::chrono::seconds(60), [&] { return restarted; });
            }
        });
    killed = true;
    chaos.join();
    ASSERT_EQ(report.acknowledged, requests.size());

    // The restarted instance loads what it acknowledged before the kill.
    for (const auto port : ports)
        ASSERT_TRUE(test::wait_until_loaded(port, std::chrono::seconds(60))) << port;
    test::HttpClient restarted_client(ports[1]);
    const auto readyz = nlohmann::json::parse(restarted_client.request("GET", "/readyz").body);
    std::cout << "[ scale-out ] " << requests.size() << " requests, " << messages
              << " messages, " << report.retries << " retried by the clients; the killed "
              << "instance recovered " << readyz["spool"]["recovery"]["records"]
              << " unloaded records at restart\n";

    // Every acknowledged message is stored exactly once: ids are unique, and
    // the number of rows is the number of distinct ids sent (the server copy
    // of each cart shares its id with the browser copy).
    std::size_t carts = 0;
    for (int p = 0; p < kPersons; ++p) carts += p % 3 == 0 ? 2 : 1;
    const std::size_t distinct = messages - carts;
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events"), std::to_string(distinct));
    EXPECT_EQ(schema.scalar("SELECT count(DISTINCT event_id) FROM events"),
              std::to_string(distinct));
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM bad_events"), "0");
    // Both copies of every cart event are merged into its one row.
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events WHERE event_name = 'add_to_cart' "
                            "AND browser_received_at IS NOT NULL "
                            "AND server_received_at IS NOT NULL"),
              std::to_string(carts));
    // Every event of a person is stitched to that person's user, across
    // devices and the alias of an earlier user id.
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events_stitched "
                            "WHERE person_id <> 'user:su-' || split_part(substr(event_id, 2), '-', 1)"),
              "0");
    EXPECT_EQ(schema.scalar("SELECT count(DISTINCT person_id) FROM events_stitched"),
              std::to_string(kPersons));
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM identity_conflicts"), "0");
    const auto spread = stitching(schema);

    for (auto& instance : instances) EXPECT_EQ(instance->stop(), 0);
    EXPECT_EQ(nginx.stop(), 0);

    // The same traffic through one instance stitches the same persons.
    test::TestSchema single_schema;
    single_schema.migrate();
    test::TempDir single_dir;
    write_keys(single_dir.path());
    test::ServerProcess single;
    single.start(instance_env(single_dir.path(), single_schema.url(), 0));
    // FUNNELHOUSE_LISTEN port 0: the server picks one.
    const auto single_report =
        send_all(single.port(), requests, 1, [](std::size_t, std::size_t) {});
    ASSERT_EQ(single_report.acknowledged, requests.size());
    ASSERT_TRUE(test::wait_until_loaded(single.port()));
    const auto alone = stitching(single_schema);
    EXPECT_EQ(alone.size(), distinct);
    EXPECT_TRUE(alone == spread) << "only with one instance: " << missing_from(alone, spread)
                                 << "\nonly with three: " << missing_from(spread, alone);
    EXPECT_EQ(single.stop(), 0);
}
