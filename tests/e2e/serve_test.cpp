// End-to-end: the real `funnelhouse serve` binary, a real HTTP client, the
// real PostgreSQL started by scripts/test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/common/gzip.hpp"
#include "funnelhouse/common/time.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "serve_env.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;
using nlohmann::json;

namespace {

constexpr const char* kBrowserKey = "browser-key-123";
constexpr const char* kServerKey = "server-key-456";

class ServeTest : public ::testing::Test {
  protected:
    void SetUp() override {
        schema_.migrate();
        start_server({});
    }

    void start_server(const test::Env& extra, const std::string& database_url = "") {
        const auto keys =
            dir_.write("keys.json", std::string(R"([{"name":"web","key":")") + kBrowserKey +
                                        R"(","source":"browser"},{"name":"backend","key":")" +
                                        kServerKey + R"(","source":"server"}])");
        // These tests check what was stored right after each answer, so
        // answers wait for the commit; delivery_test covers `durable`.
        auto env = test::serve_env(database_url.empty() ? schema_.url() : database_url, keys,
                                   dir_.path() / "spool", {{"FUNNELHOUSE_ACK", "loaded"}});
        for (const auto& [name, value] : extra) env[name] = value;
        server_ = std::make_unique<test::ServerProcess>();
        server_->start(env);
        client_ = std::make_unique<test::HttpClient>(server_->port());
    }

    test::TestSchema schema_;
    test::TempDir dir_;
    std::unique_ptr<test::ServerProcess> server_;
    std::unique_ptr<test::HttpClient> client_;
};

std::string add_to_cart(const std::string& id, const std::string& price = "19.9") {
    return R"({"type":"track","messageId":")" + id +
           R"(","event":"add_to_cart","anonymousId":"anon-1","timestamp":"2024-05-01T11:59:58Z","properties":{"product_id":"sku-1","price":)" +
           price + "}}";
}

}  // namespace

TEST_F(ServeTest, BatchWithGoodBadAndDuplicateEventsGivesExactRowsAndResponse) {
    const std::string bad = add_to_cart("m-2", R"("cheap")");
    const std::string unknown =
        R"({"type":"track","messageId":"m-5","event":"hat_tried_on","anonymousId":"anon-1"})";
    const std::string order =
        R"({"type":"track","messageId":"m-3","event":"order_completed","userId":"user-1","properties":{"order_id":"A-1","revenue":120.5,"cost":80,"currency":"EUR"}})";
    const std::string body = R"({"sentAt":"2024-05-01T11:59:59Z","batch":[)" + add_to_cart("m-1") +
                             "," + bad + "," + add_to_cart("m-1") + "," + order + "," + unknown +
                             "]}";
    const auto response = client_->post("/v1/batch", body, kServerKey);
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.headers.at("content-type"), "application/json");
    const auto answer = json::parse(response.body);
    EXPECT_EQ(answer["accepted"], 3);
    EXPECT_EQ(answer["duplicates"], 1);
    ASSERT_EQ(answer["rejected"].size(), 2u);
    EXPECT_EQ(answer["rejected"][0]["index"], 1);
    EXPECT_EQ(answer["rejected"][0]["event_id"], "m-2");
    EXPECT_EQ(answer["rejected"][0]["reason"], "schema_violation");
    EXPECT_EQ(answer["rejected"][0]["errors"][0]["path"], "/properties/price");
    EXPECT_EQ(answer["rejected"][1]["index"], 4);
    EXPECT_EQ(answer["rejected"][1]["reason"], "unknown_event");
    EXPECT_EQ(answer["assigned_ids"], json::array());

    EXPECT_EQ(schema_.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "m-1,m-3");
    EXPECT_EQ(schema_.scalar("SELECT properties->>'revenue' FROM events WHERE event_id = 'm-3'"),
              "120.5");
    EXPECT_EQ(schema_.scalar("SELECT source || ' ' || write_key_name || ' ' || event_type FROM "
                             "events WHERE event_id = 'm-3'"),
              "server backend track");
    // Skew correction: the event happened 1 s before the client sent the batch.
    EXPECT_EQ(schema_.scalar("SELECT extract(epoch FROM received_at - occurred_at)::numeric(10,3) "
                             "FROM events WHERE event_id = 'm-1'"),
              "1.000");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM bad_events"), "2");
    EXPECT_EQ(schema_.scalar("SELECT raw_event FROM bad_events WHERE event_id = 'm-2'"), bad);
    EXPECT_EQ(schema_.scalar("SELECT raw_event FROM bad_events WHERE event_id = 'm-5'"), unknown);
    EXPECT_EQ(
        schema_.scalar(
            "SELECT reason || ' ' || (errors->0->>'path') FROM bad_events WHERE event_id = 'm-5'"),
        "unknown_event /event");

    // A second copy of an event already stored (here from the browser) adds no row.
    const auto again =
        client_->post("/v1/batch", R"({"batch":[)" + add_to_cart("m-1") + "]}", kBrowserKey);
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(json::parse(again.body)["duplicates"], 1);
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "2");
}

TEST_F(ServeTest, SingleMessageRoutesAssignIdsAndAcceptBodyWriteKey) {
    const auto track = client_->request(
        "POST", "/v1/track",
        std::string(R"({"writeKey":")") + kBrowserKey +
            R"(","event":"size_guide_opened","anonymousId":"a","properties":{"product_id":"p"}})");
    ASSERT_EQ(track.status, 200) << track.body;
    const auto assigned = json::parse(track.body)["assigned_ids"];
    ASSERT_EQ(assigned.size(), 1u);
    const std::string id = assigned[0]["event_id"];
    EXPECT_EQ(schema_.scalar("SELECT event_name || ' ' || source FROM events WHERE event_id = '" +
                             id + "'"),
              "size_guide_opened browser");

    const auto page = client_->post(
        "/v1/page",
        R"({"messageId":"p-1","anonymousId":"a","name":"Home","properties":{"path":"/"}})",
        kBrowserKey);
    ASSERT_EQ(page.status, 200) << page.body;
    const auto identify = client_->post(
        "/v1/identify",
        R"({"messageId":"i-1","userId":"u-9","anonymousId":"a","traits":{"plan":"pro"}})",
        kServerKey);
    ASSERT_EQ(identify.status, 200) << identify.body;
    EXPECT_EQ(schema_.scalar("SELECT event_name || ' ' || event_type || ' ' || "
                             "(properties->>'name') FROM events WHERE event_id = 'p-1'"),
              "page_view page Home");
    EXPECT_EQ(schema_.scalar("SELECT event_name || ' ' || user_id || ' ' || (properties->>'plan') "
                             "FROM events WHERE event_id = 'i-1'"),
              "identify u-9 pro");
}

TEST_F(ServeTest, MalformedBodiesGet400AndStoreNothing) {
    const auto broken = client_->post("/v1/batch", R"({"batch":[{"type":"track"},]})", kServerKey);
    EXPECT_EQ(broken.status, 400);
    const auto message = json::parse(broken.body)["message"].get<std::string>();
    EXPECT_NE(message.find("body is not valid JSON: parse error at line 1, column 28"),
              std::string::npos)
        << message;

    const auto shape = client_->post("/v1/batch", R"({"messages":[]})", kServerKey);
    EXPECT_EQ(shape.status, 400);
    EXPECT_EQ(json::parse(shape.body)["message"], "'batch' must be a list of messages");

    const auto raw =
        client_->raw("POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n");
    EXPECT_EQ(raw.rfind("HTTP/1.1 400", 0), 0u) << raw;
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events") + "/" +
                  schema_.scalar("SELECT count(*) FROM bad_events"),
              "0/0");
}

TEST_F(ServeTest, OversizeEventsAndRequestsGet413) {
    const std::string big_event =
        R"({"batch":[{"type":"track","event":"add_to_cart","properties":{"product_id":"p","note":")" +
        std::string(40 * 1024, 'x') + R"("}}]})";
    const auto event = client_->post("/v1/batch", big_event, kServerKey);
    EXPECT_EQ(event.status, 413);
    EXPECT_NE(json::parse(event.body)["message"].get<std::string>().find("message at index 0 is"),
              std::string::npos);

    std::string huge = R"({"batch":[)";
    for (int i = 0; i < 3200; ++i) huge += (i ? "," : "") + add_to_cart("h-" + std::to_string(i));
    huge += "]}";
    ASSERT_GT(huge.size(), 500u * 1024);
    const auto request = client_->post("/v1/batch", huge, kServerKey);
    EXPECT_EQ(request.status, 413);
    EXPECT_NE(request.body.find("FUNNELHOUSE_MAX_REQUEST_BYTES"), std::string::npos)
        << request.body;

    // The server goes on serving, and nothing of the refused requests was stored.
    const auto next =
        client_->post("/v1/batch", R"({"batch":[)" + add_to_cart("after") + "]}", kServerKey);
    EXPECT_EQ(next.status, 200);
    EXPECT_EQ(schema_.scalar("SELECT string_agg(event_id, ',') FROM events"), "after");
}

TEST_F(ServeTest, UnknownOrMissingWriteKeyGets401) {
    const auto unknown =
        client_->post("/v1/batch", R"({"batch":[)" + add_to_cart("k-1") + "]}", "guess");
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(json::parse(unknown.body)["error"], "unknown write key");
    const auto missing =
        client_->request("POST", "/v1/batch", R"({"batch":[)" + add_to_cart("k-2") + "]}");
    EXPECT_EQ(missing.status, 401);
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "0");
}

TEST_F(ServeTest, ConcurrentRequestsAreAllStoredOnce) {
    constexpr int kThreads = 8, kRequests = 20, kEvents = 25;
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    std::atomic<long> accepted{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            test::HttpClient client(server_->port());
            for (int r = 0; r < kRequests; ++r) {
                std::string body = R"({"batch":[)";
                for (int e = 0; e < kEvents; ++e)
                    body +=
                        (e ? "," : "") + add_to_cart("c-" + std::to_string(t) + "-" +
                                                     std::to_string(r) + "-" + std::to_string(e));
                body += "]}";
                const auto response =
                    client.post("/v1/batch", body, t % 2 ? kServerKey : kBrowserKey);
                if (response.status == 200) {
                    ++ok;
                    accepted += json::parse(response.body)["accepted"].get<long>();
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(ok.load(), kThreads * kRequests);
    EXPECT_EQ(accepted.load(), kThreads * kRequests * kEvents);
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"),
              std::to_string(kThreads * kRequests * kEvents));
}

TEST_F(ServeTest, HealthReadinessAndRouting) {
    const auto health = client_->request("GET", "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(json::parse(health.body)["status"], "ok");
    // The loader connects in the background; readiness follows within moments.
    test::HttpResponse ready;
    for (int attempt = 0; attempt < 200; ++attempt) {
        ready = client_->request("GET", "/readyz");
        if (ready.status == 200) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_EQ(json::parse(ready.body)["status"], "ready");

    const auto missing = client_->request("GET", "/v2/nothing");
    EXPECT_EQ(missing.status, 404);
    const auto wrong_method = client_->request("GET", "/v1/batch");
    EXPECT_EQ(wrong_method.status, 405);
    EXPECT_EQ(wrong_method.headers.at("allow"), "POST, OPTIONS");
}

TEST_F(ServeTest, StopsCleanlyOnSigterm) {
    const auto response =
        client_->post("/v1/batch", R"({"batch":[)" + add_to_cart("before-stop") + "]}", kServerKey);
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(server_->stop(), 0) << server_->stderr_text();
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "1");
}

TEST_F(ServeTest, DatabaseDownAnswers503WithRetryAfter) {
    server_->stop();
    start_server({{"FUNNELHOUSE_LOAD_TIMEOUT_MS", "300"}},
                 "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2");
    const auto ready = client_->request("GET", "/readyz");
    EXPECT_EQ(ready.status, 503);
    const auto response =
        client_->post("/v1/batch", R"({"batch":[)" + add_to_cart("d-1") + "]}", kServerKey);
    EXPECT_EQ(response.status, 503) << response.body;
    EXPECT_EQ(response.headers.at("retry-after"), "1");
    EXPECT_NE(response.body.find("database is unavailable"), std::string::npos);
}

TEST_F(ServeTest, OversizeHeadersGet431) {
    const auto answer = client_->raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " +
                                     std::string(10 * 1024, 'p') + "\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 200);
    EXPECT_NE(answer.find("FUNNELHOUSE_MAX_HEADER_BYTES"), std::string::npos);
}

TEST_F(ServeTest, SlowClientIsDisconnectedAfterTheReadTimeout) {
    server_->stop();
    start_server({{"FUNNELHOUSE_HEADER_TIMEOUT_MS", "300"}});
    const auto started = std::chrono::steady_clock::now();
    // Headers that never end: the server must give up on its own.
    const auto answer = client_->raw("POST /v1/batch HTTP/1.1\r\nHost: x\r\n");
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(answer, "");
    EXPECT_LT(waited, std::chrono::seconds(20));
    // And it still serves others.
    EXPECT_EQ(client_->request("GET", "/healthz").status, 200);
}

TEST_F(ServeTest, BrowserKeyCannotForgeAnOrder) {
    const std::string order =
        R"({"type":"track","messageId":"forged","event":"order_completed","userId":"u","properties":{"order_id":"F-1","revenue":1000,"currency":"EUR"}})";
    const auto response = client_->post("/v1/batch", R"({"batch":[)" + order + "]}", kBrowserKey);
    ASSERT_EQ(response.status, 200) << response.body;
    const auto answer = json::parse(response.body);
    EXPECT_EQ(answer["accepted"], 0);
    EXPECT_EQ(answer["rejected"][0]["reason"], "source_not_allowed");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "0");
    EXPECT_EQ(schema_.scalar("SELECT reason || ' ' || source FROM bad_events"),
              "source_not_allowed browser");
}

TEST_F(ServeTest, SigtermAnswersEveryRequestAlreadyAccepted) {
    server_->stop();
    // Batches wait up to 1.5 s, so the requests are still queued when SIGTERM comes.
    start_server({{"FUNNELHOUSE_BATCH_MAX_DELAY_MS", "1500"}});
    constexpr int kClients = 6;
    std::vector<std::thread> clients;
    std::vector<int> statuses(kClients, 0);
    for (int c = 0; c < kClients; ++c) {
        clients.emplace_back([&, c] {
            test::HttpClient client(server_->port());
            statuses[c] = client
                              .post("/v1/batch",
                                    R"({"batch":[)" + add_to_cart("t-" + std::to_string(c)) + "]}",
                                    kServerKey)
                              .status;
        });
    }
    // Wait until all are queued (the loader reports them) before stopping.
    test::HttpClient probe(server_->port());
    for (int attempt = 0; attempt < 100; ++attempt) {
        const auto ready = probe.request("GET", "/readyz");
        if (ready.status == 200 && json::parse(ready.body)["spool"]["unloaded_records"] == kClients)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(server_->stop(), 0);
    for (auto& client : clients) client.join();
    for (int c = 0; c < kClients; ++c) EXPECT_EQ(statuses[c], 200) << "client " << c;
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), std::to_string(kClients));
}

TEST_F(ServeTest, ScreenGroupAndAliasRoutesStoreTheirIds) {
    ASSERT_EQ(client_
                  ->post("/v1/screen", R"({"messageId":"s-1","anonymousId":"a","name":"Basket"})",
                         kBrowserKey)
                  .status,
              200);
    ASSERT_EQ(
        client_
            ->post("/v1/group",
                   R"({"messageId":"g-1","userId":"u","groupId":"acme","traits":{"name":"Acme"}})",
                   kServerKey)
            .status,
        200);
    ASSERT_EQ(
        client_
            ->post("/v1/alias", R"({"messageId":"al-1","userId":"u","previousId":"a"})", kServerKey)
            .status,
        200);
    const auto nobody = client_->post(
        "/v1/track",
        R"({"messageId":"n-1","event":"add_to_cart","userId":"undefined","properties":{"product_id":"p"}})",
        kBrowserKey);
    ASSERT_EQ(nobody.status, 200);
    EXPECT_EQ(json::parse(nobody.body)["rejected"][0]["errors"][0]["path"], "/userId");
    EXPECT_EQ(schema_.scalar("SELECT string_agg(event_id || ':' || event_name || ':' || "
                             "coalesce(group_id, '-') || ':' || "
                             "coalesce(previous_id, '-'), ',' ORDER BY event_id) FROM events"),
              "al-1:alias:-:a,g-1:group:acme:-,s-1:screen_view:-:-");
}

TEST_F(ServeTest, BrowsersGetCorsPlainTextBeaconsAndGzip) {
    server_->stop();
    const auto keys =
        dir_.write("browser-keys.json",
                   std::string(R"([{"name":"shop","key":")") + kBrowserKey +
                       R"(","source":"browser","origins":["https://shop.example"]},)" +
                       R"({"name":"backend","key":")" + kServerKey + R"(","source":"server"}])");
    start_server({{"FUNNELHOUSE_KEYS_FILE", keys.string()}});

    const auto preflight = client_->request(
        "OPTIONS", "/v1/batch", "",
        {{"Origin", "https://shop.example"},
         {"Access-Control-Request-Method", "POST"},
         {"Access-Control-Request-Headers", "authorization, content-type, anonymousid"}});
    EXPECT_EQ(preflight.status, 204);
    EXPECT_EQ(preflight.headers.at("access-control-allow-origin"), "https://shop.example");
    EXPECT_NE(preflight.headers.at("access-control-allow-methods").find("POST"), std::string::npos);
    // What the page asked for, including an SDK's own headers.
    EXPECT_EQ(preflight.headers.at("access-control-allow-headers"),
              "authorization, content-type, anonymousid");

    const auto foreign =
        client_->request("OPTIONS", "/v1/batch", "", {{"Origin", "https://evil.example"}});
    EXPECT_EQ(foreign.status, 403);
    EXPECT_EQ(foreign.headers.count("access-control-allow-origin"), 0u);

    // What navigator.sendBeacon sends: text/plain, the key in the body.
    const auto beacon = client_->request(
        "POST", "/v1/track",
        std::string(R"({"writeKey":")") + kBrowserKey +
            R"(","messageId":"beacon-1","event":"add_to_cart","anonymousId":"a","properties":{"product_id":"p"}})",
        {{"Content-Type", "text/plain;charset=UTF-8"}, {"Origin", "https://shop.example"}});
    ASSERT_EQ(beacon.status, 200) << beacon.body;
    EXPECT_EQ(beacon.headers.at("access-control-allow-origin"), "https://shop.example");
    // So that a page's tracker can read how long a 429 or 503 asks it to wait.
    EXPECT_EQ(beacon.headers.at("access-control-expose-headers"), "Retry-After");

    const auto wrong_page =
        client_->request("POST", "/v1/track",
                         std::string(R"({"writeKey":")") + kBrowserKey +
                             R"(","event":"add_to_cart","anonymousId":"a"})",
                         {{"Content-Type", "text/plain"}, {"Origin", "https://evil.example"}});
    EXPECT_EQ(wrong_page.status, 403);

    const std::string batch = R"({"batch":[)" + add_to_cart("gz-1") + "]}";
    const auto gzipped = client_->request(
        "POST", "/v1/batch", common::gzip_compress(batch),
        {{"Content-Encoding", "gzip"},
         {"Authorization", "Basic " + common::base64_encode(std::string(kBrowserKey) + ":")},
         {"Origin", "https://shop.example"}});
    ASSERT_EQ(gzipped.status, 200) << gzipped.body;

    const auto bomb = client_->request(
        "POST", "/v1/batch",
        common::gzip_compress(R"({"batch":[],"pad":")" + std::string(20 * 1024 * 1024, ' ') +
                              "\"}"),
        {{"Content-Encoding", "gzip"},
         {"Authorization", "Basic " + common::base64_encode(std::string(kServerKey) + ":")}});
    EXPECT_EQ(bomb.status, 413);
    EXPECT_EQ(schema_.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "beacon-1,gz-1");
}

TEST_F(ServeTest, BrowserAndServerCopiesOfAnOrderCountOnce) {
    // The page reports the purchase it saw; the backend reports the order with
    // the same id and the real figures.
    const std::string browser_copy =
        R"({"type":"track","messageId":"order-77","event":"checkout_started","anonymousId":"anon-9","properties":{"value":90,"currency":"EUR"}})";
    const std::string server_copy =
        R"({"type":"track","messageId":"order-77","event":"checkout_started","userId":"user-9","properties":{"value":100,"currency":"EUR"}})";
    const auto first =
        client_->post("/v1/batch", R"({"batch":[)" + browser_copy + "]}", kBrowserKey);
    ASSERT_EQ(first.status, 200) << first.body;
    const auto second =
        client_->post("/v1/batch", R"({"batch":[)" + server_copy + "]}", kServerKey);
    ASSERT_EQ(second.status, 200) << second.body;
    EXPECT_EQ(json::parse(second.body)["duplicates"], 1);
    EXPECT_EQ(json::parse(second.body)["collisions"], 0);
    EXPECT_EQ(
        schema_.scalar(
            "SELECT count(*) || ' ' || min(sources) || ' ' || min(properties->>'value') || ' ' || "
            "min(user_id) || ' ' || min(anonymous_id) FROM events"),
        "1 both 100 user-9 anon-9");

    // The same id reused for another event is a collision, kept for review.
    const auto reused = client_->post(
        "/v1/batch",
        R"({"batch":[{"type":"track","messageId":"order-77","event":"wishlist_added","anonymousId":"anon-9","properties":{"product_id":"p"}}]})",
        kBrowserKey);
    ASSERT_EQ(reused.status, 200);
    EXPECT_EQ(json::parse(reused.body)["collisions"], 1);
    EXPECT_EQ(schema_.scalar("SELECT reason || ' ' || event_name FROM bad_events"),
              "event_id_collision wishlist_added");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "1");
}

// The whole story over HTTP: two anonymous devices, a login on each, a
// browser and a server copy of the checkout, the order from the backend
// (the page cannot forge it), and a shared computer.
TEST_F(ServeTest, JourneyEndsInExactlyThePersonsRowsAndFlags) {
    const auto start = common::now() - std::chrono::hours(1);
    auto at = [&](int minute) {
        return common::format_timestamp(start + std::chrono::minutes(minute));
    };
    auto message = [&](const std::string& id, int minute, const std::string& body) {
        return R"({"messageId":")" + id + R"(","timestamp":")" + at(minute) + R"(",)" + body + "}";
    };
    auto send = [&](const std::string& key, const std::vector<std::string>& messages) {
        std::string batch = R"({"batch":[)";
        for (std::size_t i = 0; i < messages.size(); ++i) batch += (i ? "," : "") + messages[i];
        const auto response = client_->post("/v1/batch", batch + "]}", key);
        EXPECT_EQ(response.status, 200) << response.body;
        return json::parse(response.body);
    };

    send(
        kBrowserKey,
        {message("m-phone-1", 0,
                 R"("type":"page","anonymousId":"a-phone","properties":{"path":"/"})"),
         message(
             "m-phone-2", 1,
             R"("type":"track","event":"product_viewed","anonymousId":"a-phone","properties":{"product_id":"p1"})"),
         message(
             "m-laptop-1", 2,
             R"("type":"track","event":"product_viewed","anonymousId":"a-laptop","properties":{"product_id":"p1"})"),
         message(
             "m-laptop-login", 3,
             R"("type":"identify","anonymousId":"a-laptop","userId":"ann","traits":{"plan":"pro"})"),
         message(
             "chk-1", 4,
             R"("type":"track","event":"checkout_started","anonymousId":"a-laptop","userId":"ann","properties":{"value":90,"currency":"EUR"})")});
    const auto forged = send(
        kBrowserKey,
        {message(
            "ord-1", 5,
            R"("type":"track","event":"order_completed","userId":"ann","properties":{"order_id":"O-1","revenue":1,"currency":"EUR"})")});
    EXPECT_EQ(forged["rejected"][0]["reason"], "source_not_allowed");
    const auto backend = send(
        kServerKey,
        {message(
             "chk-1", 4,
             R"("type":"track","event":"checkout_started","userId":"ann","properties":{"value":100,"currency":"EUR"})"),
         message(
             "ord-1", 5,
             R"("type":"track","event":"order_completed","userId":"ann","properties":{"order_id":"O-1","revenue":100,"cost":60,"currency":"EUR"})")});
    EXPECT_EQ(backend["accepted"], 2);
    EXPECT_EQ(backend["duplicates"], 1);
    send(
        kBrowserKey,
        {message("m-phone-login", 6, R"("type":"identify","anonymousId":"a-phone","userId":"ann")"),
         message("m-kiosk-1", 10,
                 R"("type":"page","anonymousId":"a-kiosk","properties":{"path":"/"})"),
         message("m-kiosk-ann", 11, R"("type":"identify","anonymousId":"a-kiosk","userId":"ann")"),
         message("m-kiosk-bob", 20, R"("type":"identify","anonymousId":"a-kiosk","userId":"bob")"),
         message(
             "m-kiosk-2", 21,
             R"("type":"track","event":"add_to_cart","anonymousId":"a-kiosk","properties":{"product_id":"p2"})")});

    EXPECT_EQ(schema_.scalar("SELECT string_agg(event_id || '=' || person_id, ',' ORDER BY "
                             "event_id) FROM events_stitched"),
              "chk-1=user:ann,m-kiosk-1=user:ann,m-kiosk-2=user:bob,m-kiosk-ann=user:ann,m-kiosk-"
              "bob=user:bob,"
              "m-laptop-1=user:ann,m-laptop-login=user:ann,m-phone-1=user:ann,m-phone-2=user:ann,"
              "m-phone-login=user:ann,ord-1=user:ann");
    EXPECT_EQ(schema_.scalar("SELECT string_agg(person_id || ':' || array_to_string(user_ids, "
                             "'+'), ',' ORDER BY person_id) FROM persons"),
              "user:ann:ann,user:bob:bob");
    EXPECT_EQ(
        schema_.scalar(
            "SELECT sources || ' ' || (properties->>'value') FROM events WHERE event_id = 'chk-1'"),
        "both 100");
    // The page's copy of the order was refused, yet it shows the browser saw
    // the order; the figures are the backend's.
    EXPECT_EQ(schema_.scalar("SELECT sources || ' ' || (properties->>'revenue') FROM events WHERE "
                             "event_id = 'ord-1'"),
              "both 100");
    EXPECT_EQ(schema_.scalar(
                  "SELECT both_sources FROM dedup_coverage WHERE event_name = 'checkout_started'"),
              "1");
    EXPECT_EQ(
        schema_.scalar("SELECT kept_user_id || ' ' || refused_user_id FROM identity_conflicts"),
        "ann bob");
    EXPECT_EQ(schema_.scalar("SELECT string_agg(reason, ',') FROM bad_events"),
              "source_not_allowed");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "11");
}
