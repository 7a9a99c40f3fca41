// Activation end to end: the real server sends orders to loopback stand-ins
// for Meta's Conversions API, Google Ads, GA4 and a webhook receiver
// (tests/e2e/receivers/platforms.js, over HTTPS with the test's own CA),
// through timeouts, server errors, throttling, a receiver outage and a
// kill -9 of the server.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "funnelhouse/common/time.hpp"
#include "funnelhouse/db/migrate.hpp"
#include "http_client.hpp"
#include "platform_receivers.hpp"
#include "process.hpp"
#include "serve_env.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

using test::kWebhookKey;
using test::Receivers;

std::string destinations(unsigned short port, unsigned short dead_port) {
    const auto base = "https://127.0.0.1:" + std::to_string(port);
    const auto starts = common::format_timestamp(common::now() - std::chrono::hours(24));
    const auto shared = R"("starts_at": ")" + starts + R"(", "consent": "marketing",
        "orders": {"events": ["order_completed"], "value": "gross_profit"})";
    return R"([{"name": "meta", "kind": "meta", )" + shared + R"(, "endpoint": ")" + base +
           R"(", "api_version": "v21.0", "pixel_id": "1234",
             "access_token": {"env": "META_TOKEN"}},
           {"name": "ads", "kind": "google_ads", )" +
           shared + R"(, "endpoint": ")" + base +
           R"(", "api_version": "v18", "customer_id": "1234567890",
             "conversion_action": "customers/1234567890/conversionActions/9",
             "access_token": {"env": "ADS_TOKEN"}, "developer_token": {"env": "ADS_DEVELOPER"}},
           {"name": "ga", "kind": "ga4", )" +
           shared + R"(, "endpoint": ")" + base +
           R"(", "measurement_id": "G-TEST", "api_secret": {"env": "GA4_SECRET"}},
           {"name": "crm", "kind": "webhook", )" +
           shared + R"(, "url": ")" + base +
           R"(/hooks/crm", "secret": {"env": "WEBHOOK_SECRET"}},
           {"name": "dead", "kind": "webhook", )" +
           shared + R"(, "url": "http://127.0.0.1:)" + std::to_string(dead_port) +
           R"(/hooks", "secret": {"env": "WEBHOOK_SECRET"}}])";
}

// Order i as a shop's backend sends it: consented to analytics, to
// marketing or not, and
// with a click id Google Ads cannot decode when `bad_click`.
json order(int i, bool consent, bool bad_click = false) {
    const auto n = std::to_string(i);
    return {{"type", "track"},
            {"event", "order_completed"},
            {"messageId", "ord-" + n},
            {"userId", "u-" + n},
            {"timestamp", common::format_timestamp(common::now() - std::chrono::hours(1))},
            {"properties",
             {{"order_id", "o-" + n}, {"revenue", 100 + i}, {"cost", 40}, {"currency", "EUR"}}},
            {"context",
             {{"consent", {{"categoryPreferences", {{"analytics", true}, {"marketing", consent}}}}},
              {"userAgent", "Mozilla/5.0 (test)"},
              {"ip", "203.0.113.7"},
              {"page", {{"url", "https://shop.example/thanks"}}},
              {"traits", {{"email", " Person" + n + "@Example.COM "}}},
              {"adIds",
               {{"gclid", (bad_click ? "bad-" : "gclid-") + n},
                {"fbc", "fb.1.1700000000000.click" + n},
                {"fbp", "fb.1.1700000000000." + n},
                {"gaClientId", n + ".1700000000"}}}}}};
}

void post_orders(unsigned short port, int from, int to, bool consent,
                 const std::set<int>& bad_clicks = {}) {
    test::HttpClient client(port);
    json batch = {{"batch", json::array()}};
    for (int i = from; i < to; ++i) {
        batch["batch"].push_back(order(i, consent, bad_clicks.count(i) > 0));
        if (batch["batch"].size() == 20 || i + 1 == to) {
            ASSERT_EQ(client.post("/v1/batch", batch.dump(), "shop-server").status, 200);
            batch["batch"] = json::array();
        }
    }
}

std::string sha256sum(const std::string& text) {
    const auto result = test::run_program("sha256sum", {}, {}, text);
    return result.out.substr(0, 64);
}

}  // namespace

// 1,000 orders, 960 of them consented to marketing, through the faults.
TEST(ActivationEndToEnd, EveryConsentedOrderArrivesOnceAtEachPlatformThroughFaultsAndAKill) {
    test::TempDir dir;
    test::make_certificates(dir);
    Receivers receivers(dir);
    test::TestSchema schema;
    schema.migrate();
    dir.write("keys.json", R"([{"name":"backend","key":"shop-server","source":"server"}])");
    // "dead" is a webhook nobody listens at: it must hold up no other.
    dir.write("destinations.json", destinations(receivers.port(), test::free_port()));
    auto env = test::serve_env(
        schema.url(), dir.path() / "keys.json", dir.path() / "spool",
        {{"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "0"},
         {"FUNNELHOUSE_REFRESH_INTERVAL", "0"},
         {"FUNNELHOUSE_LOG_LEVEL", "warn"},
         {"FUNNELHOUSE_PERSONAL_DATA", "keep"},
         {"FUNNELHOUSE_DESTINATIONS_FILE", (dir.path() / "destinations.json").string()},
         {"FUNNELHOUSE_ACTIVATION_CA_FILE", (dir.path() / "ca.pem").string()},
         {"FUNNELHOUSE_ACTIVATION_SETTLE_MS", "200"},
         {"FUNNELHOUSE_ACTIVATION_TIMEOUT_MS", "1000"},
         {"FUNNELHOUSE_ACTIVATION_LEASE_MS", "3000"},
         {"FUNNELHOUSE_ACTIVATION_RETRY_MS", "100"},
         {"FUNNELHOUSE_ACTIVATION_RETRY_MAX_MS", "1000"},
         {"FUNNELHOUSE_ACTIVATION_POLL_MS", "100"},
         {"FUNNELHOUSE_ACTIVATION_BATCH", "10"},
         {"WEBHOOK_SECRET", "whsec_" + kWebhookKey}});
    for (const auto& [name, value] : Receivers::secrets()) env[name] = value;

    // A request that never answers, server errors, throttling with
    // Retry-After, a connection closed mid-request; then orders, and a kill
    // -9 once the first have arrived.
    receivers.fail_next(json::parse(R"([{"mode": "hang", "count": 1}, {"mode": "500", "count": 2},
        {"mode": "429", "count": 2, "retry_after": 1}, {"mode": "close", "count": 1}])"));
    const std::set<int> bad_clicks = {3, 777};
    {
        test::ServerProcess server;
        server.start(env);
        post_orders(server.port(), 0, 480, true, bad_clicks);
        post_orders(server.port(), 480, 500, false);
        for (int i = 0; i < 300 && receivers.arrivals()["arrivals"].size() < 100; ++i)
            std::this_thread::sleep_for(100ms);
        server.kill_now();
    }
    // The receivers are down for a while (every request gets a 500), and
    // the server comes back with more orders.
    receivers.fail_next(json::parse(R"([{"mode": "500", "count": 8}])"));
    test::ServerProcess server;
    server.start(env);
    post_orders(server.port(), 500, 980, true, bad_clicks);
    post_orders(server.port(), 980, 1000, false);

    std::set<std::string> event_ids, order_ids, ads_orders;
    for (int i = 0; i < 1000; ++i) {
        if ((i >= 480 && i < 500) || i >= 980) continue;  // without consent
        event_ids.insert("ord-" + std::to_string(i));
        order_ids.insert("o-" + std::to_string(i));
        if (!bad_clicks.count(i)) ads_orders.insert("o-" + std::to_string(i));
    }
    const auto keys = [](const std::map<std::string, int>& counts) {
        std::set<std::string> out;
        for (const auto& [key, count] : counts) out.insert(key);
        return out;
    };
    json all;
    for (int i = 0; i < 1200; ++i) {
        all = receivers.arrivals();
        if (keys(receivers.counts(all, "meta")) == event_ids &&
            keys(receivers.counts(all, "google_ads")) == ads_orders &&
            keys(receivers.counts(all, "ga4")) == order_ids &&
            keys(receivers.counts(all, "webhook")) == event_ids &&
            schema.scalar("SELECT count(*) FROM activation_outbox WHERE state IN "
                          "('pending', 'sending') AND destination <> 'dead'") == "0")
            break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(all["refusals"], json::array()) << "requests not in the documented shape";
    EXPECT_EQ(all["faults_left"], 0) << "every fault was met";
    EXPECT_NE(schema.scalar("SELECT count(*) FROM activation_outbox WHERE attempts > 1 AND "
                            "destination <> 'dead'"),
              "0");
    EXPECT_EQ(keys(receivers.counts(all, "meta")), event_ids);
    EXPECT_EQ(keys(receivers.counts(all, "google_ads")), ads_orders);
    EXPECT_EQ(keys(receivers.counts(all, "ga4")), order_ids);
    EXPECT_EQ(keys(receivers.counts(all, "webhook")), event_ids);

    // Exactly once, as each platform counts (by event id, order id or
    // webhook-id); a second arrival can only be a request in flight when the
    // server was killed, sent again with the same key: at most one request
    // per destination (FUNNELHOUSE_ACTIVATION_BATCH = 10 events for Meta and
    // Google Ads, one for GA4 here and for webhooks).
    for (const char* platform : {"meta", "google_ads", "ga4", "webhook"}) {
        int again = 0;
        for (const auto& [key, count] : receivers.counts(all, platform)) again += count - 1;
        EXPECT_LE(again,
                  std::string(platform) == "meta" || std::string(platform) == "google_ads" ? 10 : 1)
            << platform;
        std::cout << platform << ": " << receivers.counts(all, platform).size()
                  << " keys, arrived again: " << again << "\n";
    }
    EXPECT_EQ(schema.scalar("SELECT string_agg(destination || ' ' || state || ' ' || n, ', ' "
                            "ORDER BY destination, state) FROM (SELECT destination, state, "
                            "count(*) n FROM activation_outbox WHERE destination <> 'dead' "
                            "GROUP BY 1, 2) s"),
              "ads failed 2, ads sent 958, ads skipped 40, crm sent 960, crm skipped 40, "
              "ga sent 960, ga skipped 40, meta sent 960, meta skipped 40");
    // The dead destination: everything waits (or was skipped for want of
    // consent), nothing is lost.
    EXPECT_EQ(schema.scalar("SELECT count(*) || ' ' || count(*) FILTER (WHERE state IN ('sent', "
                            "'failed')) FROM activation_outbox WHERE destination = 'dead'"),
              "1000 0");
    EXPECT_NE(schema
                  .scalar("SELECT DISTINCT last_error FROM deliveries WHERE destination = "
                          "'dead' AND state = 'pending' AND attempts > 0")
                  .find("no answer: connect: Connection refused"),
              std::string::npos);
    EXPECT_EQ(schema.scalar("SELECT last_error FROM deliveries WHERE destination = 'ads' AND "
                            "state = 'failed' ORDER BY event_id LIMIT 1"),
              "The imported gclid could not be decoded.");
    EXPECT_EQ(schema.scalar("SELECT DISTINCT last_error FROM deliveries WHERE state = 'skipped'"),
              "no consent: context.consent does not grant 'marketing'");

    // What Meta received for order 7: the person hashed as Meta documents
    // (hashes computed here by sha256sum), the browser's ids as they are,
    // the order's gross profit.
    json meta7;
    for (const auto& a : all["arrivals"])
        if (a["platform"] == "meta" && a["key"] == "ord-7") meta7 = a["item"];
    ASSERT_TRUE(meta7.is_object());
    EXPECT_EQ(meta7["event_name"], "Purchase");
    EXPECT_EQ(meta7["user_data"]["em"][0], sha256sum("person7@example.com"));
    EXPECT_EQ(meta7["user_data"]["external_id"][0], sha256sum("user:u-7"));
    EXPECT_EQ(meta7["user_data"]["fbc"], "fb.1.1700000000000.click7");
    EXPECT_EQ(meta7["user_data"]["fbp"], "fb.1.1700000000000.7");
    EXPECT_EQ(meta7["user_data"]["client_ip_address"], "203.0.113.0");  // truncated when stored
    EXPECT_EQ(meta7["custom_data"]["value"], 67.0);                     // 107 - 40
    EXPECT_EQ(meta7["custom_data"]["currency"], "EUR");

    // What an operator sees of it (this server's share since its start).
    const auto metrics = test::HttpClient(server.port()).request("GET", "/metrics").body;
    const auto value = [&](const std::string& series) {
        const auto at = metrics.find(series + " ");
        return at == std::string::npos ? -1.0 : std::stod(metrics.substr(at + series.size() + 1));
    };
    EXPECT_GT(value(R"(funnelhouse_activation_deliveries_total{destination="meta",result="sent"})"),
              0);
    EXPECT_GT(value(R"(funnelhouse_activation_retries_total{destination="dead"})"), 0);
    EXPECT_GT(value(R"(funnelhouse_activation_requests_total{destination="dead",status="0"})"), 0);
    EXPECT_GT(value(R"(funnelhouse_activation_pending{destination="dead"})"), 0);
    EXPECT_GT(value(R"(funnelhouse_activation_oldest_pending_age_seconds{destination="dead"})"), 0);
    server.stop();
}

TEST(ActivationEndToEnd, ConversionsCsvWritesEachWaitingOrderOnceForAManualUpload) {
    test::TempDir dir;
    test::TestSchema schema;
    schema.migrate();
    dir.write("keys.json", R"([{"name":"backend","key":"shop-server","source":"server"}])");
    const auto starts = common::format_timestamp(common::now() - std::chrono::hours(24));
    dir.write("destinations.json", R"([{"name": "ads-csv", "kind": "google_ads", "upload": "csv",
        "conversion_name": "Online purchase", "starts_at": ")" +
                                       starts + R"(", "consent": "marketing",
        "orders": {"events": ["order_completed"], "value": "gross_profit"}}])");
    auto env = test::serve_env(
        schema.url(), dir.path() / "keys.json", dir.path() / "spool",
        {{"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "0"},
         {"FUNNELHOUSE_REFRESH_INTERVAL", "0"},
         {"FUNNELHOUSE_LOG_LEVEL", "warn"},
         {"FUNNELHOUSE_DESTINATIONS_FILE", (dir.path() / "destinations.json").string()},
         {"FUNNELHOUSE_ACTIVATION_SETTLE_MS", "0"}});
    {
        test::ServerProcess server;
        server.start(env);
        post_orders(server.port(), 0, 3, true);
        post_orders(server.port(), 3, 4, false);
        ASSERT_TRUE(test::wait_until_loaded(server.port()));
        server.stop();
    }
    const auto first =
        test::run_funnelhouse({"conversions", "csv", "--destination", "ads-csv"}, env);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    const auto lines = [](const std::string& text) {
        std::vector<std::string> out;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) out.push_back(line);
        return out;
    };
    const auto csv = lines(first.out);
    ASSERT_EQ(csv.size(), 5u) << first.out;
    EXPECT_EQ(csv[0], "Parameters:TimeZone=+0000");
    EXPECT_EQ(
        csv[1],
        "Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency");
    // Each row with its time checked and then left out (it is the test's now).
    std::set<std::string> rows;
    const std::regex row(R"(([^,]*,[^,]*),(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(.*))");
    for (std::size_t i = 2; i < csv.size(); ++i) {
        std::smatch parts;
        ASSERT_TRUE(std::regex_match(csv[i], parts, row)) << csv[i];
        rows.insert(parts[1].str() + "," + parts[3].str());
    }
    EXPECT_EQ(rows, (std::set<std::string>{"gclid-0,Online purchase,60.0,EUR",
                                           "gclid-1,Online purchase,61.0,EUR",
                                           "gclid-2,Online purchase,62.0,EUR"}));
    // Written once: the next export has nothing; the order without consent
    // was never in it.
    const auto second =
        test::run_funnelhouse({"conversions", "csv", "--destination", "ads-csv"}, env);
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(lines(second.out).size(), 2u) << second.out;
    EXPECT_EQ(schema.scalar("SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM "
                            "(SELECT state, count(*) n FROM deliveries GROUP BY 1) s"),
              "sent 3, skipped 1");
    const auto wrong = test::run_funnelhouse({"conversions", "csv", "--destination", "nope"}, env);
    EXPECT_NE(wrong.exit_code, 0);
    EXPECT_NE(wrong.err.find("no destination 'nope'"), std::string::npos) << wrong.err;
}

// On Citus the outbox's claim is not planned yet (docs/scaling.md): serve
// says so, naming the setting, instead of starting without its destinations.
// Runs in the scale tier, where the test database is a Citus coordinator.
TEST(CitusServe, RefusesADestinationsFileNamingTheSetting) {
    test::TempDir dir;
    test::TestSchema schema;
    schema.migrate();
    ASSERT_TRUE(db::is_citus(*schema.connect()))
        << "runs in the scale tier, on a Citus coordinator";
    dir.write("keys.json", R"([{"name":"backend","key":"shop-server","source":"server"}])");
    dir.write("destinations.json", destinations(test::free_port(), test::free_port()));
    auto env = test::serve_env(
        schema.url(), dir.path() / "keys.json", dir.path() / "spool",
        {{"FUNNELHOUSE_REFRESH_INTERVAL", "0"},
         {"FUNNELHOUSE_DESTINATIONS_FILE", (dir.path() / "destinations.json").string()},
         {"WEBHOOK_SECRET", "whsec_" + kWebhookKey}});
    for (const auto& [name, value] : Receivers::secrets()) env[name] = value;
    const auto served = test::run_funnelhouse({"serve"}, env, "", 30s);
    EXPECT_EQ(served.exit_code, 2);  // a setting's error
    EXPECT_NE(served.err.find("FUNNELHOUSE_DESTINATIONS_FILE: sending to destinations does not "
                              "work on a Citus database yet"),
              std::string::npos)
        << served.err;

    // Without the file the same server starts, and stops cleanly.
    env.erase("FUNNELHOUSE_DESTINATIONS_FILE");
    test::ServerProcess server;
    server.start(env);
    EXPECT_EQ(server.stop(), 0) << server.stderr_text();
}
