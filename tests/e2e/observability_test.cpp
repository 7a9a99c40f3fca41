// End-to-end: what an operator watches. /metrics from the real binary after
// real traffic, checked by promtool (Prometheus's own linter) and for exact
// values; the admin token and the admin listener; JSON logs without secrets
// or personal data; configuration errors that stop start-up.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "http_client.hpp"
#include "process.hpp"
#include "serve_env.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;
using nlohmann::json;

namespace {

constexpr const char* kBrowserKey = "obs-browser-key-1";
constexpr const char* kServerKey = "obs-server-key-22";
constexpr const char* kAdminToken = "obs-admin-token-0123456789";
constexpr const char* kDatabasePassword = "pw-never-shown-4711";

std::string with_password(const std::string& url) {
    const auto at = url.find("postgres@");
    return url.substr(0, at) + "postgres:" + kDatabasePassword + url.substr(at + 8);
}

test::Env server_env(const test::TempDir& dir, const std::string& database_url,
                     const test::Env& extra = {}) {
    const auto keys = dir.write(
        "keys.json", std::string(R"([{"name":"web","key":")") + kBrowserKey +
                         R"(","source":"browser"},{"name":"backend","key":")" + kServerKey +
                         R"(","source":"server"}])");
    auto env = test::serve_env(database_url, keys, dir.path() / "spool",
                               {{"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "0"}});
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
}

std::string cart(const std::string& id, const std::string& anonymous_id,
                 const std::string& price = "19.9") {
    return R"({"type":"track","messageId":")" + id +
           R"(","event":"add_to_cart","anonymousId":")" + anonymous_id +
           R"(","properties":{"product_id":"sku-1","price":)" + price + "}}";
}

// "name{labels}" -> value, for every sample line.
std::map<std::string, double> samples(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line.front() == '#') continue;
        const auto space = line.rfind(' ');
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

double sample(const std::map<std::string, double>& all, const std::string& key) {
    const auto it = all.find(key);
    EXPECT_NE(it, all.end()) << "no sample " << key;
    return it == all.end() ? -1 : it->second;
}

test::RunResult promtool_check(const std::string& text) {
    return test::run_program("promtool", {"check", "metrics"}, {}, text);
}

}  // namespace

TEST(Observability, MetricsAfterRealTrafficPassPromtoolAndCountWhatHappened) {
    test::TempDir dir;
    test::TestSchema schema;
    schema.migrate();
    test::ServerProcess server;
    server.start(server_env(dir, with_password(schema.url()),
                            {{"FUNNELHOUSE_ADMIN_TOKEN", kAdminToken},
                             {"FUNNELHOUSE_LOG_LEVEL", "info"}}));
    test::HttpClient client(server.port());

    // Server copies: one valid, one violating its contract, one unknown event.
    auto response = client.post("/v1/batch",
                                R"({"batch":[)" + cart("obs-1", "anon-1") + "," +
                                    cart("obs-2", "anon-1", R"("cheap")") + "," +
                                    R"({"type":"track","messageId":"obs-3","event":"hat_tried_on","anonymousId":"anon-1"}]})",
                                kServerKey);
    ASSERT_EQ(response.status, 200) << response.body;
    // The browser copy of obs-1: deduplicated against the server copy.
    response = client.post("/v1/track", cart("obs-1", "anon-1"), kBrowserKey);
    ASSERT_EQ(response.status, 200) << response.body;
    // anon-1 logs in as user-1 (a link), then as user-2 (a conflict).
    for (const auto& [id, user] : {std::pair{"obs-4", "user-1"}, std::pair{"obs-5", "user-2"}}) {
        response = client.post("/v1/identify",
                               std::string(R"({"messageId":")") + id +
                                   R"(","anonymousId":"anon-1","userId":")" + user + R"("})",
                               kServerKey);
        ASSERT_EQ(response.status, 200) << response.body;
        ASSERT_TRUE(test::wait_until_loaded(server.port()));
    }
    EXPECT_EQ(client.request("GET", "/nowhere").status, 404);

    // Without the token, or with a wrong one: 401, nothing shown.
    auto refused = client.request("GET", "/metrics");
    EXPECT_EQ(refused.status, 401);
    EXPECT_EQ(refused.headers["www-authenticate"], "Bearer realm=\"funnelhouse\"");
    EXPECT_EQ(refused.body.find("funnelhouse_"), std::string::npos);
    refused = client.request("GET", "/metrics", "",
                             {{"Authorization", std::string("Bearer ") + kAdminToken + "x"}});
    EXPECT_EQ(refused.status, 401);

    // The models refresh once at start, on a thread of their own: wait for it.
    const auto scrape = [&] {
        return client.request("GET", "/metrics", "",
                              {{"Authorization", std::string("Bearer ") + kAdminToken}});
    };
    auto metrics = scrape();
    for (int i = 0; i < 300 && metrics.body.find("\nfunnelhouse_model_refresh_duration_seconds_count 0\n") !=
                                  std::string::npos;
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        metrics = scrape();
    }
    ASSERT_EQ(metrics.status, 200) << metrics.body;
    EXPECT_EQ(metrics.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");

    const auto check = promtool_check(metrics.body);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_EQ(check.out + check.err, "");

    const auto all = samples(metrics.body);
    EXPECT_EQ(sample(all, R"s(funnelhouse_events_accepted_total{source="server",event="add_to_cart"})s"), 1);
    EXPECT_EQ(sample(all, R"s(funnelhouse_events_accepted_total{source="browser",event="add_to_cart"})s"), 1);
    EXPECT_EQ(sample(all, R"s(funnelhouse_events_accepted_total{source="server",event="identify"})s"), 2);
    EXPECT_EQ(sample(all, R"s(funnelhouse_events_rejected_total{source="server",reason="schema_violation",event="add_to_cart"})s"), 1);
    EXPECT_EQ(sample(all, R"s(funnelhouse_events_rejected_total{source="server",reason="unknown_event",event="(unknown)"})s"), 1);
    EXPECT_EQ(sample(all, R"s(funnelhouse_events_inserted_total{source="server",event="add_to_cart"})s"), 1);
    EXPECT_EQ(sample(all, R"s(funnelhouse_events_deduplicated_total{source="browser",event="add_to_cart"})s"), 1);
    EXPECT_EQ(sample(all, "funnelhouse_identity_links_total"), 1);
    EXPECT_EQ(sample(all, "funnelhouse_identity_conflicts_total"), 1);
    EXPECT_EQ(sample(all, R"s(funnelhouse_http_requests_total{route="/v1/batch",status="200"})s"), 1);
    EXPECT_EQ(sample(all, R"s(funnelhouse_http_requests_total{route="/v1/identify",status="200"})s"), 2);
    EXPECT_EQ(sample(all, R"s(funnelhouse_http_requests_total{route="other",status="404"})s"), 1);
    EXPECT_EQ(sample(all, R"s(funnelhouse_http_requests_total{route="/metrics",status="401"})s"), 2);
    EXPECT_EQ(sample(all, R"s(funnelhouse_http_request_duration_seconds_count{route="/v1/track"})s"), 1);
    // At least two batches: the second identify was sent after the first loaded.
    EXPECT_GE(sample(all, "funnelhouse_loader_batches_total"), 2);
    EXPECT_EQ(sample(all, "funnelhouse_loader_batch_events_count"),
              sample(all, "funnelhouse_loader_batches_total"));
    EXPECT_EQ(sample(all, "funnelhouse_loader_commit_duration_seconds_count"),
              sample(all, "funnelhouse_loader_batches_total"));
    EXPECT_EQ(sample(all, "funnelhouse_database_connected"), 1);
    EXPECT_EQ(sample(all, "funnelhouse_spool_unloaded_records"), 0);
    EXPECT_EQ(sample(all, "funnelhouse_spool_accepting"), 1);
    EXPECT_GT(sample(all, "funnelhouse_spool_bytes"), 0);
    EXPECT_GT(sample(all, "process_resident_memory_bytes"), 1e6);
    EXPECT_EQ(sample(all, R"s(funnelhouse_build_info{version="0.1.0",ack="durable"})s"), 1);
    // The models refresh at start: one duration observed.
    EXPECT_EQ(sample(all, "funnelhouse_model_refresh_duration_seconds_count"), 1);
    EXPECT_GT(sample(all, "funnelhouse_model_last_refresh_timestamp_seconds"), 1.7e9);

    // What PostgreSQL holds agrees with the counters.
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM events WHERE event_name = 'add_to_cart'"), "1");
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM bad_events"), "2");
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM identity_conflicts"), "1");

    EXPECT_EQ(server.stop(), 0);
    const auto logs = server.stderr_text();
    // Secrets and personal data appear nowhere: not in /metrics, not in the
    // info-level logs.
    for (const std::string& secret :
         {std::string(kAdminToken), std::string(kDatabasePassword), std::string(kServerKey),
          std::string(kBrowserKey), std::string("anon-1"), std::string("user-1")}) {
        EXPECT_EQ(metrics.body.find(secret), std::string::npos) << secret;
        EXPECT_EQ(logs.find(secret), std::string::npos) << secret << " in\n" << logs;
    }
    // Every log line is one JSON object with time, level and message.
    std::istringstream lines(logs);
    int count = 0;
    for (std::string line; std::getline(lines, line); ++count) {
        const auto entry = json::parse(line, nullptr, false);
        ASSERT_TRUE(entry.is_object()) << line;
        EXPECT_TRUE(entry["time"].is_string()) << line;
        EXPECT_TRUE(entry["level"].is_string()) << line;
        EXPECT_TRUE(entry["message"].is_string()) << line;
    }
    EXPECT_GE(count, 3) << logs;
    EXPECT_NE(logs.find(R"("message":"stopped")"), std::string::npos) << logs;
}

TEST(Observability, AdminListenerServesMetricsAndTheMainOneDoesNot) {
    test::TempDir dir;
    test::TestSchema schema;
    schema.migrate();
    test::ServerProcess server;
    server.start(server_env(dir, schema.url(),
                            {{"FUNNELHOUSE_ADMIN_LISTEN", "127.0.0.1:0"},
                             {"FUNNELHOUSE_REFRESH_INTERVAL", "0"}}));
    ASSERT_NE(server.admin_port(), 0);
    ASSERT_NE(server.admin_port(), server.port());
    test::HttpClient main_client(server.port());
    test::HttpClient admin_client(server.admin_port());

    EXPECT_EQ(main_client.request("GET", "/metrics").status, 404);
    ASSERT_EQ(main_client.post("/v1/track", cart("adm-1", "anon-9"), kServerKey).status, 200);

    const auto metrics = admin_client.request("GET", "/metrics");
    ASSERT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.body.find(
                  R"(funnelhouse_events_accepted_total{source="server",event="add_to_cart"} 1)"),
              std::string::npos)
        << metrics.body;
    const auto check = promtool_check(metrics.body);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    // The admin listener has health checks but no ingest API.
    EXPECT_EQ(admin_client.request("GET", "/healthz").status, 200);
    EXPECT_EQ(admin_client.request("GET", "/readyz").status, 200);
    EXPECT_EQ(admin_client.post("/v1/track", cart("adm-2", "anon-9"), kServerKey).status, 404);
    EXPECT_EQ(admin_client.request("POST", "/metrics").status, 405);

    // The container's health check asks the main listener.
    auto health = test::run_funnelhouse(
        {"healthcheck"}, {{"FUNNELHOUSE_LISTEN", "0.0.0.0:" + std::to_string(server.port())}});
    EXPECT_EQ(health.exit_code, 0) << health.out << health.err;
    EXPECT_EQ(health.out, "healthy: 127.0.0.1:" + std::to_string(server.port()) + "\n");
    EXPECT_EQ(server.stop(), 0);
    health = test::run_funnelhouse(
        {"healthcheck"}, {{"FUNNELHOUSE_LISTEN", "127.0.0.1:" + std::to_string(server.port())}});
    EXPECT_EQ(health.exit_code, 1);
    EXPECT_EQ(health.out.rfind("unhealthy: 127.0.0.1:" + std::to_string(server.port()) + ": ", 0),
              0u)
        << health.out;
}

TEST(Observability, BadConfigurationStopsStartUpNamingTheProblem) {
    test::TempDir dir;
    const auto env = server_env(dir, "postgresql://postgres@127.0.0.1:1/none");

    auto misspelt = env;
    misspelt["FUNNELHOUSE_SPOOL_MAXBYTES"] = "100";
    auto result = test::run_funnelhouse({"serve"}, misspelt);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.err,
              "funnelhouse: unknown environment variable FUNNELHOUSE_SPOOL_MAXBYTES (see --help)\n");

    const auto file = dir.write("funnelhouse.env", "FUNNELHOUSE_ACK=loaded\nFUNNELHOUSE_READ_TIMEOUT=5\n");
    auto with_file = env;
    with_file["FUNNELHOUSE_CONFIG"] = file.string();
    result = test::run_funnelhouse({"serve"}, with_file);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.err, "funnelhouse: " + file.string() +
                              ":2: unknown setting 'FUNNELHOUSE_READ_TIMEOUT' (see --help)\n");

    // A secret in a bad value is not echoed.
    auto bad_token = env;
    bad_token["FUNNELHOUSE_ADMIN_TOKEN"] = "tiny secret";
    result = test::run_funnelhouse({"serve"}, bad_token);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.err.find("tiny secret"), std::string::npos) << result.err;

    // serve --help lists every setting with its default.
    result = test::run_funnelhouse({"serve", "--help"});
    EXPECT_EQ(result.exit_code, 0);
    for (const char* name : {"FUNNELHOUSE_CONFIG", "FUNNELHOUSE_ADMIN_LISTEN",
                             "FUNNELHOUSE_ADMIN_TOKEN", "FUNNELHOUSE_LOG_FORMAT"})
        EXPECT_NE(result.out.find(name), std::string::npos) << name;
    EXPECT_NE(result.out.find("[default: json]"), std::string::npos);
}

// The dashboard's routes (docs/dashboard.md) over HTTP: the page from its
// folder with its headers, the endpoints behind the admin token, reading the
// real PostgreSQL, and precise errors.
TEST(Observability, DashboardPageAndEndpointsAreAdminRoutes) {
    test::TempDir dir;
    test::TestSchema schema;
    schema.migrate();
    const auto page = dir.write("page/index.html", "<!doctype html><title>t</title>");
    dir.write("page/app.js", "'use strict';");
    test::ServerProcess server;
    server.start(server_env(dir, schema.url(),
                            {{"FUNNELHOUSE_ADMIN_TOKEN", kAdminToken},
                             {"FUNNELHOUSE_DASHBOARD_DIR", page.parent_path().string()},
                             {"FUNNELHOUSE_DASHBOARD_QUEUE", "4"}}));
    test::HttpClient client(server.port());
    ASSERT_EQ(client.post("/v1/track", cart("dash-1", "anon-1"), kServerKey).status, 200);
    ASSERT_TRUE(test::wait_until_loaded(server.port()));
    ASSERT_EQ(test::run_funnelhouse({"refresh"}, server_env(dir, schema.url())).exit_code, 0);

    // The page: no data in it, so no token needed; strict headers.
    auto index = client.request("GET", "/dashboard");
    ASSERT_EQ(index.status, 200);
    EXPECT_EQ(index.body, "<!doctype html><title>t</title>");
    EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
    EXPECT_EQ(index.headers["x-content-type-options"], "nosniff");
    EXPECT_NE(index.headers["content-security-policy"].find("default-src 'none'; script-src 'self'"),
              std::string::npos);
    EXPECT_EQ(client.request("GET", "/dashboard/").body, index.body);
    EXPECT_EQ(client.request("GET", "/dashboard/app.js").headers["content-type"],
              "text/javascript; charset=utf-8");
    EXPECT_EQ(client.request("GET", "/dashboard", "", {{"If-None-Match", index.headers["etag"]}}).status,
              304);
    EXPECT_EQ(client.request("GET", "/dashboard/../keys.json").status, 404);
    EXPECT_EQ(client.request("GET", "/dashboard/%2e%2e/keys.json").status, 404);
    EXPECT_EQ(client.request("POST", "/dashboard").status, 405);

    // The endpoints need the token.
    const std::map<std::string, std::string> bearer{{"Authorization", std::string("Bearer ") + kAdminToken}};
    EXPECT_EQ(client.request("GET", "/api/dashboard/tracking").status, 401);
    const auto tracking = client.request("GET", "/api/dashboard/tracking?from=2000-01-01", "", bearer);
    ASSERT_EQ(tracking.status, 200) << tracking.body;
    EXPECT_EQ(tracking.headers.at("cache-control"), "no-store");
    const auto body = nlohmann::json::parse(tracking.body);
    EXPECT_EQ(body["model"], "models.tracking_health");
    EXPECT_EQ(body["filter"]["from"], "2000-01-01");
    ASSERT_EQ(body["rows"].size(), 1u);
    EXPECT_EQ(body["rows"][0]["event_name"], "add_to_cart");
    EXPECT_EQ(body["rows"][0]["events"], 1);
    EXPECT_EQ(body["rows"][0]["server_only"], 1);

    // Precise errors.
    auto bad = client.request("GET", "/api/dashboard/value?from=2026-02-30", "", bearer);
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(nlohmann::json::parse(bad.body)["message"],
              "'from' must be a day written YYYY-MM-DD, got '2026-02-30'");
    bad = client.request("GET", "/api/dashboard/volumes", "", bearer);
    EXPECT_EQ(bad.status, 404);
    EXPECT_NE(bad.body.find("no such dashboard panel: 'volumes' (known: overview, filters"),
              std::string::npos);
    // Every panel answers on an empty filter (tracking a second time).
    for (const auto* panel : {"overview", "filters", "volume", "tracking", "rejections", "alerts",
                              "value", "segments", "funnel", "experiments"})
        EXPECT_EQ(client.request("GET", std::string("/api/dashboard/") + panel, "", bearer).status, 200)
            << panel;
    const auto metrics = client.request("GET", "/metrics", "", bearer).body;
    EXPECT_NE(metrics.find(R"(funnelhouse_http_requests_total{route="/api/dashboard/tracking",status="200"} 2)"),
              std::string::npos);
    EXPECT_NE(metrics.find(R"(funnelhouse_http_requests_total{route="/dashboard",status="200"})"),
              std::string::npos);
    EXPECT_EQ(server.stop(), 0) << server.stderr_text();
}

TEST(Observability, WithoutItsBuiltPageTheDashboardSaysWhereItLooked) {
    test::TempDir dir;
    test::TestSchema schema;
    schema.migrate();
    test::ServerProcess server;
    server.start(server_env(dir, schema.url(),
                            {{"FUNNELHOUSE_DASHBOARD_DIR", (dir.path() / "nowhere").string()},
                             {"FUNNELHOUSE_REFRESH_INTERVAL", "0"}}));
    test::HttpClient client(server.port());
    const auto page = client.request("GET", "/dashboard");
    EXPECT_EQ(page.status, 404);
    EXPECT_NE(page.body.find("no index.html in '" + (dir.path() / "nowhere").string() + "'"),
              std::string::npos)
        << page.body;
    // The endpoints still answer.
    EXPECT_EQ(client.request("GET", "/api/dashboard/overview").status, 200);
    EXPECT_EQ(server.stop(), 0) << server.stderr_text();

    // Listening on every address without an admin token: the page, but no
    // numbers, even asked from this host.
    test::ServerProcess open_server;
    open_server.start(server_env(dir, schema.url(),
                                 {{"FUNNELHOUSE_LISTEN", "0.0.0.0:0"},
                                  {"FUNNELHOUSE_REFRESH_INTERVAL", "0"}}));
    test::HttpClient open_client(open_server.port());
    const auto refused = open_client.request("GET", "/api/dashboard/value");
    EXPECT_EQ(refused.status, 403);
    EXPECT_NE(refused.body.find("only with FUNNELHOUSE_ADMIN_TOKEN set"), std::string::npos)
        << refused.body;
    // Pages of the shop get no CORS answer from admin routes.
    const auto metrics = open_client.request("GET", "/metrics", "", {{"Origin", "https://shop.test"}});
    EXPECT_EQ(metrics.headers.count("access-control-allow-origin"), 0u);
    EXPECT_EQ(open_server.stop(), 0) << open_server.stderr_text();
}

// GET /funnelhouse.js: the browser tracker for any site's script tag, read
// from FUNNELHOUSE_TRACKER_FILE when the server starts, cacheable and
// revalidated by its ETag; a missing file says where it was looked for.
TEST(Observability, TheTrackerScriptIsServedToAnySite) {
    test::TempDir dir;
    test::TestSchema schema;
    schema.migrate();
    const std::string script = "/* funnelhouse.js test */(()=>{window.funnelhouse={}})();";
    const auto file = dir.write("tracker/funnelhouse.min.js", script);
    test::ServerProcess server;
    server.start(server_env(dir, schema.url(),
                            {{"FUNNELHOUSE_TRACKER_FILE", file.string()},
                             {"FUNNELHOUSE_ADMIN_LISTEN", "127.0.0.1:0"},
                             {"FUNNELHOUSE_REFRESH_INTERVAL", "0"}}));
    test::HttpClient client(server.port());
    const auto got = client.request("GET", "/funnelhouse.js", "", {{"Origin", "https://shop.test"}});
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.body, script);
    EXPECT_EQ(got.headers.at("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(got.headers.at("cache-control"), "public, max-age=3600");
    EXPECT_EQ(got.headers.at("x-content-type-options"), "nosniff");
    EXPECT_EQ(got.headers.at("access-control-allow-origin"), "*");
    const auto etag = got.headers.at("etag");
    EXPECT_EQ(etag.size(), 34u) << etag;
    const auto again = client.request("GET", "/funnelhouse.js", "", {{"If-None-Match", etag}});
    EXPECT_EQ(again.status, 304);
    EXPECT_EQ(again.body, "");
    const auto post = client.request("POST", "/funnelhouse.js", "{}");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.headers.at("allow"), "GET");
    EXPECT_EQ(server.stop(), 0) << server.stderr_text();

    test::ServerProcess without;
    without.start(server_env(dir, schema.url(),
                             {{"FUNNELHOUSE_TRACKER_FILE", (dir.path() / "nowhere.js").string()},
                              {"FUNNELHOUSE_REFRESH_INTERVAL", "0"}}));
    test::HttpClient other(without.port());
    const auto missing = other.request("GET", "/funnelhouse.js");
    EXPECT_EQ(missing.status, 404);
    EXPECT_NE(missing.body.find("the browser tracker is not built: cannot read '" +
                                (dir.path() / "nowhere.js").string() + "'"),
              std::string::npos)
        << missing.body;
    EXPECT_NE(missing.body.find("FUNNELHOUSE_TRACKER_FILE"), std::string::npos);
    const auto metrics = other.request("GET", "/metrics");
    EXPECT_NE(metrics.body.find(R"(funnelhouse_http_requests_total{route="/funnelhouse.js",status="404"})"),
              std::string::npos);
    EXPECT_EQ(without.stop(), 0) << without.stderr_text();
}
