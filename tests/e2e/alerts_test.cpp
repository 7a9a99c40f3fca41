// Alerts end to end: the real server refreshes its models on its interval,
// raises an alert, and tells a Slack-compatible incoming webhook and a
// signed webhook (loopback stand-ins over HTTPS, tests/e2e/receivers/
// platforms.js) once when it is raised and once when it is resolved,
// through a failed delivery, a kill -9 and a restart.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "funnelhouse/common/time.hpp"
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

// A shop that tracks every stage but retention.
void post_shop(unsigned short port) {
    test::HttpClient client(port);
    const auto at = common::format_timestamp(common::now() - 2h);
    const auto track = [&](const std::string& id, const std::string& event,
                           const json& properties) {
        return json{{"type", "track"}, {"event", event},  {"messageId", id},
                    {"userId", "u-1"}, {"timestamp", at}, {"properties", properties}};
    };
    const json browser = {
        {"batch",
         {{{"type", "page"}, {"messageId", "p-1"}, {"userId", "u-1"}, {"timestamp", at}},
          track("v-1", "product_viewed", {{"product_id", "shoe"}}),
          track("c-1", "add_to_cart", {{"product_id", "shoe"}})}}};
    ASSERT_EQ(client.post("/v1/batch", browser.dump(), "shop-browser").status, 200);
    const json server = {{"batch",
                          {track("o-1", "order_completed",
                                 {{"order_id", "o-1"}, {"revenue", 50}, {"currency", "EUR"}})}}};
    ASSERT_EQ(client.post("/v1/batch", server.dump(), "shop-server").status, 200);
}

void post_refund(unsigned short port) {
    test::HttpClient client(port);
    const json refund = {
        {"type", "track"},
        {"event", "refund_issued"},
        {"messageId", "r-1"},
        {"userId", "u-1"},
        {"timestamp", common::format_timestamp(common::now() - 1h)},
        {"properties", {{"order_id", "o-1"}, {"amount", 50}, {"currency", "EUR"}}}};
    ASSERT_EQ(client.post("/v1/track", refund.dump(), "shop-server").status, 200);
}

// The notices that arrived, as "<platform> <key>" with their count.
std::map<std::string, int> notices(test::Receivers& receivers) {
    std::map<std::string, int> out;
    const auto all = receivers.arrivals();
    for (const auto& a : all["arrivals"])
        ++out[a["platform"].get<std::string>() + " " + a["key"].get<std::string>()];
    return out;
}

bool wait_for(const std::function<bool()>& done, std::chrono::seconds limit) {
    for (auto end = std::chrono::steady_clock::now() + limit;
         std::chrono::steady_clock::now() < end; std::this_thread::sleep_for(100ms))
        if (done()) return true;
    return done();
}

}  // namespace

TEST(AlertsEndToEnd, EachAlertIsToldOnceRaisedAndOnceResolvedAcrossAKill) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    test::make_certificates(dir);
    test::Receivers receivers(dir);
    const auto base = "https://127.0.0.1:" + std::to_string(receivers.port());
    dir.write("destinations.json",
              R"([{"name": "ops-chat", "kind": "slack", "url": {"env": "FH_TEST_CHAT_URL"}},
                  {"name": "ops-hook", "kind": "webhook", "alerts": true, "url": ")" +
                  base + R"(/hooks/alerts", "secret": {"env": "WEBHOOK_SECRET"}}])");
    const auto keys =
        dir.write("keys.json", R"([{"name":"web","key":"shop-browser","source":"browser"},
                         {"name":"backend","key":"shop-server","source":"server"}])");
    const auto env = test::serve_env(
        schema.url(), keys, dir.path() / "spool",
        {{"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "0"},
         {"FUNNELHOUSE_REFRESH_INTERVAL", "1s"},
         {"FUNNELHOUSE_LOG_LEVEL", "warn"},
         {"FUNNELHOUSE_DESTINATIONS_FILE", (dir.path() / "destinations.json").string()},
         {"FUNNELHOUSE_ACTIVATION_CA_FILE", (dir.path() / "ca.pem").string()},
         {"FUNNELHOUSE_ACTIVATION_SETTLE_MS", "0"},
         {"FUNNELHOUSE_ACTIVATION_RETRY_MS", "100"},
         {"FUNNELHOUSE_ACTIVATION_RETRY_MAX_MS", "500"},
         {"FUNNELHOUSE_ACTIVATION_POLL_MS", "100"},
         {"FUNNELHOUSE_DASHBOARD_URL", "https://dash.shop.example/dashboard"},
         {"FH_TEST_CHAT_URL", base + "/services/T000/B000/secret"},
         {"WEBHOOK_SECRET", "whsec_" + test::kWebhookKey}});
    const auto count = [&](const std::string& prefix) {
        int n = 0;
        for (const auto& [key, times] : notices(receivers))
            if (key.rfind(prefix, 0) == 0) n += times;
        return n;
    };
    const auto all_sent = [&](int rows) {
        return schema.scalar(
                   "SELECT count(*) FILTER (WHERE state = 'sent') || '/' || count(*) "
                   "FROM deliveries WHERE alert_id IS NOT NULL") ==
               std::to_string(rows) + "/" + std::to_string(rows);
    };
    // Whether the server refreshed its models after `since`.
    const auto refreshed_after = [&](const std::string& since) {
        return schema.scalar("SELECT refreshed_at > '" + since + "' FROM models.state") == "t";
    };

    // The shop is loaded before any refresh, so that none sees half of it.
    {
        auto quiet = env;
        quiet["FUNNELHOUSE_REFRESH_INTERVAL"] = "0";
        test::ServerProcess server;
        server.start(quiet);
        post_shop(server.port());
        ASSERT_TRUE(test::wait_until_loaded(server.port()));
        server.stop();
    }
    // The first notice meets a server error and is sent again.
    receivers.fail_next(json::parse(R"([{"mode": "500", "count": 1}])"));
    {
        test::ServerProcess server;
        server.start(env);
        ASSERT_TRUE(wait_for([&] { return all_sent(2); }, 60s))
            << schema.scalar("SELECT string_agg(concat_ws(' ', destination, what, state, attempts, "
                             "last_status, last_error), E'\\n') FROM deliveries")
            << receivers.arrivals().dump();
        server.kill_now();
    }
    EXPECT_EQ(count("chat Alert: retention (stage)"), 1);
    EXPECT_EQ(count("webhook alert.raised:retention"), 1);
    EXPECT_EQ(schema.scalar("SELECT max(attempts) || ' ' || min(attempts) FROM deliveries"), "2 1");
    const auto all = receivers.arrivals();
    for (const auto& a : all["arrivals"]) {
        if (a["platform"] == "chat") {
            const auto text = a["item"]["text"].get<std::string>();
            EXPECT_NE(text.find("Likely cause: none of its micro-conversions (refund_issued, "
                                "review_submitted, subscription_opt_in) was received"),
                      std::string::npos)
                << text;
            EXPECT_NE(text.find("Dashboard: https://dash.shop.example/dashboard?from="),
                      std::string::npos)
                << text;
        } else {
            const auto& data = a["item"]["body"]["data"];
            EXPECT_EQ(data["subject"], "retention");
            EXPECT_EQ(data["state"], "open");
            EXPECT_EQ(data["cause"], "no_events");
            EXPECT_EQ(data["dashboard_url"].get<std::string>().rfind(
                          "https://dash.shop.example/dashboard?from=", 0),
                      0u);
        }
    }
    EXPECT_TRUE(all["refusals"].empty()) << all["refusals"].dump();

    // Back after the kill: refreshes find the same problem, nobody is told
    // again; then the stage is tracked, and its alert is resolved.
    {
        test::ServerProcess server;
        server.start(env);
        const auto restarted = schema.scalar("SELECT now()");
        ASSERT_TRUE(wait_for([&] { return refreshed_after(restarted); }, 30s));
        EXPECT_EQ(schema.scalar("SELECT count(*) FROM activation_outbox"), "2");
        post_refund(server.port());
        ASSERT_TRUE(wait_for([&] { return all_sent(4); }, 60s));
        server.stop();
    }
    {
        test::ServerProcess server;
        server.start(env);
        const auto restarted = schema.scalar("SELECT now()");
        ASSERT_TRUE(wait_for([&] { return refreshed_after(restarted); }, 30s));
        std::this_thread::sleep_for(500ms);  // a sender's poll
        server.stop();
    }
    EXPECT_EQ(count("chat Alert: retention (stage)"), 1);
    EXPECT_EQ(count("webhook alert.raised:retention"), 1);
    EXPECT_EQ(count("chat Resolved: retention (stage)"), 1);
    EXPECT_EQ(count("webhook alert.resolved:retention"), 1);
    EXPECT_EQ(notices(receivers).size(), 4u);
    EXPECT_EQ(schema.scalar("SELECT string_agg(subject || ':' || state, ',') FROM alerts"),
              "retention:resolved");
    EXPECT_EQ(schema.scalar("SELECT string_agg(destination || ' ' || what, ',' ORDER BY "
                            "destination, what) FROM deliveries WHERE state = 'sent'"),
              "ops-chat alert_raised,ops-chat alert_resolved,ops-hook alert_raised,"
              "ops-hook alert_resolved");
}
