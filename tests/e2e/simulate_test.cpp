// End-to-end: `funnelhouse simulate` posts a synthetic shop to the real
// server over HTTP, `funnelhouse refresh` builds the models, and the effects
// planted in the shop (docs/analytics.md) come out with the right sign and
// class.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "http_client.hpp"
#include "process.hpp"
#include "serve_env.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

class SimulatedShopTest : public ::testing::Test {
  protected:
    // What goes wrong here is told by each test (SetUp): a failure in
    // SetUpTestSuite itself would have the tests reported as skipped.
    static void SetUpTestSuite() {
        try {
            schema_ = new test::TestSchema;
            dir_ = new test::TempDir;
            schema_->migrate();
            const auto keys = dir_->write(
                "keys.json",
                R"([{"name":"web","key":"shop-browser","source":"browser","origins":["https://shop.example"]},
                    {"name":"backend","key":"shop-server","source":"server"}])");
            env_ = test::serve_env(schema_->url(), keys, dir_->path() / "spool",
                                   {{"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "0"},
                                    {"FUNNELHOUSE_REFRESH_INTERVAL", "0"},
                                    {"FUNNELHOUSE_LOG_LEVEL", "warn"}});
            test::ServerProcess server;
            server.start(env_);
            auto env = env_;
            env["FUNNELHOUSE_SIMULATE_URL"] = "http://127.0.0.1:" + std::to_string(server.port());
            simulated_ = new test::RunResult(test::run_funnelhouse(
                {"simulate", "--persons", "3000", "--days", "240", "--seed", "7"}, env));
            loaded_ = test::wait_until_loaded(server.port(), std::chrono::seconds(120));
            server.stop();
            refreshed_ = new test::RunResult(test::run_funnelhouse({"refresh"}, env_));
        } catch (const std::exception& error) {
            setup_error_ = error.what();
        }
    }
    static void TearDownTestSuite() {
        delete refreshed_;
        delete simulated_;
        delete dir_;
        delete schema_;
    }
    void SetUp() override {
        ASSERT_EQ(setup_error_, "");
        ASSERT_EQ(simulated_->exit_code, 0) << simulated_->err;
        ASSERT_TRUE(loaded_);
        ASSERT_EQ(refreshed_->exit_code, 0) << refreshed_->err;
    }
    static std::string q(const std::string& sql) { return schema_->scalar(sql); }
    static double number(const std::string& sql) { return std::stod(q(sql)); }

    static test::TestSchema* schema_;
    static test::TempDir* dir_;
    static test::Env env_;
    static test::RunResult* simulated_;
    static test::RunResult* refreshed_;
    static bool loaded_;
    static std::string setup_error_;
};

test::TestSchema* SimulatedShopTest::schema_ = nullptr;
test::TempDir* SimulatedShopTest::dir_ = nullptr;
test::Env SimulatedShopTest::env_;
test::RunResult* SimulatedShopTest::simulated_ = nullptr;
test::RunResult* SimulatedShopTest::refreshed_ = nullptr;
std::string SimulatedShopTest::setup_error_;
bool SimulatedShopTest::loaded_ = false;

}  // namespace

// One shop, loaded once (each test of a suite runs in a process of its own
// under ctest): every planted effect is checked in this one test.
TEST_F(SimulatedShopTest, PlantedEffectsComeOutOfTheModels) {
    {
        SCOPED_TRACE("everything posted is stored and every model refreshed");
        EXPECT_NE(simulated_->out.find("of 3000 persons over 240 days"), std::string::npos)
            << simulated_->out;
        EXPECT_NE(refreshed_->out.find("40 models refreshed"), std::string::npos) << refreshed_->out;
        // The browser copies of orders are refused, and each counts as seen;
        // the planted defect's search_used messages are refused by the contract.
        EXPECT_EQ(q("SELECT string_agg(DISTINCT reason || ' ' || event_name, ',') FROM bad_events"),
                  "schema_violation search_used,source_not_allowed order_completed");
        EXPECT_EQ(q("SELECT count(*) FROM bad_events b LEFT JOIN events e USING (event_id) "
                    "WHERE b.reason = 'source_not_allowed' AND e.sources IS DISTINCT FROM 'both'"),
                  "0");
        // Over 5% of search_used is rejected: tracking health raises an alert.
        EXPECT_EQ(q("SELECT bool_and(alert AND rejection_rate > 0.05) FROM models.tracking_health "
                    "WHERE event_name = 'search_used'"),
                  "t");
        // Ad blockers: some orders only the backend reported.
        EXPECT_GT(number("SELECT count(*) FROM events WHERE event_name = 'order_completed' "
                         "AND sources = 'server'"),
                  0);
        EXPECT_EQ(q("SELECT count(*) FROM models.orders"),
                  q("SELECT count(*) FROM events WHERE event_name = 'order_completed'"));
    }
    {
        SCOPED_TRACE("persons who came back on another device are one person");
        EXPECT_GT(number("SELECT count(*) FROM (SELECT person_id FROM identity_map "
                         "WHERE id_type = 'anonymous' GROUP BY person_id HAVING count(*) > 1) x"),
                  0);
        EXPECT_EQ(q("SELECT count(*) FROM identity_conflicts"), "0");
    }
    {
        SCOPED_TRACE("comparing products is a valuable micro conversion");
        EXPECT_GT(number("SELECT uplift_low FROM models.event_value "
                         "WHERE event_name = 'product_compare_opened'"),
                  0);
        EXPECT_TRUE(q("SELECT value_class FROM models.event_value "
                      "WHERE event_name = 'product_compare_opened'") <= "P2");
        EXPECT_GT(number("SELECT repeat_rate_90d FROM models.cohort_ltv "
                         "WHERE cohort = 'product_compare_opened'"),
                  number("SELECT repeat_rate_90d FROM models.cohort_ltv WHERE cohort_kind = 'all'"));
    }
    {
        SCOPED_TRACE("comparing before the cart converts twice as often as comparing after");
        const std::string pair =
            " FROM models.path_comparison WHERE kind = 'pair' AND first_event = "
            "'product_compare_opened' AND second_event = 'add_to_cart'";
        // The right sign, and an interval that excludes no difference.
        EXPECT_GT(number("SELECT difference_from_reversed_low" + pair), 0);
        const double ratio = number("SELECT conversion_rate_with / conversion_rate_reversed" + pair);
        EXPECT_GT(ratio, 1.5);
        EXPECT_LT(ratio, 2.7);
        // Those who compared first are more common among converters.
        EXPECT_GT(number("SELECT difference_low" + pair), 0);
    }
    {
        SCOPED_TRACE("a coupon wins first orders but loses margin and repeat buyers");
        // First orders: among persons who added to cart in their first week.
        const std::string first_order_rate =
            "SELECT avg((v.orders_30d > 0)::int) FROM models.person_value v "
            "JOIN models.early_conversions cart ON cart.person_id = v.person_id "
            "AND cart.event_name = 'add_to_cart' WHERE v.complete_30d AND ";
        const std::string with_coupon =
            "EXISTS (SELECT 1 FROM models.early_conversions c WHERE c.person_id = v.person_id "
            "AND c.event_name = 'coupon_applied')";
        EXPECT_GT(number(first_order_rate + with_coupon), number(first_order_rate + "NOT " + with_coupon));
        EXPECT_LT(number("SELECT sum(gross_profit) / sum(revenue) FROM models.orders "
                         "WHERE coupon IS NOT NULL AND cost IS NOT NULL"),
                  number("SELECT sum(gross_profit) / sum(revenue) FROM models.orders "
                         "WHERE coupon IS NULL AND cost IS NOT NULL"));
        EXPECT_LT(number("SELECT repeat_rate_90d FROM models.cohort_ltv WHERE cohort = 'coupon_applied'"),
                  number("SELECT repeat_rate_90d FROM models.cohort_ltv WHERE cohort_kind = 'all'"));
        EXPECT_LT(number("SELECT uplift FROM models.event_value WHERE event_name = 'coupon_applied'"), 0);
        EXPECT_EQ(q("SELECT value_class FROM models.event_value WHERE event_name = 'coupon_applied'"),
                  "P3");
    }
    {
        SCOPED_TRACE("the size guide cuts refunds");
        EXPECT_LT(number("SELECT refund_rate_90d FROM models.cohort_ltv WHERE cohort = 'size_guide_opened'"),
                  number("SELECT refund_rate_90d FROM models.cohort_ltv WHERE cohort_kind = 'all'"));
    }
    {
        SCOPED_TRACE("the newsletter brings more valuable customers than ads");
        EXPECT_GT(number("SELECT gross_profit_per_person_90d FROM models.channel_quality "
                         "WHERE channel = 'newsletter'"),
                  number("SELECT gross_profit_per_person_90d FROM models.channel_quality "
                         "WHERE channel = 'ads'"));
        EXPECT_EQ(q("SELECT string_agg(channel, ',' ORDER BY channel) FROM models.channel_quality"),
                  "ads,direct,google.com,newsletter");
    }
    {
        SCOPED_TRACE("the new checkout is a regression in disguise");
        EXPECT_GT(number("SELECT conversion_lift FROM models.experiment_guardrails WHERE variant = 'B'"), 0);
        EXPECT_EQ(q("SELECT verdict FROM models.experiment_guardrails WHERE variant = 'B'"),
                  "regression");
    }
    {
        SCOPED_TRACE("the funnel narrows step by step");
        EXPECT_EQ(q("SELECT bool_and(rate_from_previous <= 1) FROM models.funnel "
                    "WHERE funnel = 'purchase' AND dimension = 'all' AND step > 1"),
                  "t");
        EXPECT_GT(number("SELECT persons FROM models.funnel WHERE funnel = 'purchase' "
                         "AND dimension = 'all' AND step = 5"),
                  0);
        EXPECT_EQ(q("SELECT string_agg(DISTINCT segment, ',') FROM models.funnel "
                    "WHERE dimension = 'device_type'"),
                  "desktop,mobile,tablet");
    }
}

TEST(ServeRefresh, ServeRefreshesTheModelsAtStartAndOnItsInterval) {
    test::TestSchema schema;
    schema.migrate();
    test::TempDir dir;
    const auto keys = dir.write("keys.json", R"([{"name":"backend","key":"k","source":"server"}])");
    test::ServerProcess server;
    server.start(test::serve_env(schema.url(), keys, dir.path() / "spool",
                                 {{"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "0"},
                                  {"FUNNELHOUSE_REFRESH_INTERVAL", "1s"}}));
    const auto refreshed_at = [&] {
        return schema.scalar("SELECT refreshed_at FROM models.state");
    };
    // The first refresh runs at start, before any event.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (refreshed_at().empty() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_FALSE(refreshed_at().empty());
    EXPECT_EQ(schema.scalar("SELECT count(*) FROM models.person_events"), "0");
    // An event posted now reaches the models at a later refresh.
    test::HttpClient client(server.port());
    ASSERT_EQ(client
                  .post("/v1/track",
                        R"({"type":"track","messageId":"m-1","event":"add_to_cart","userId":"u","properties":{"product_id":"p"}})",
                        "k")
                  .status,
              200);
    while (schema.scalar("SELECT count(*) FROM models.person_events") != "1" &&
           std::chrono::steady_clock::now() < until + std::chrono::seconds(10))
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(schema.scalar("SELECT person_id FROM models.person_events"), "user:u");
    EXPECT_EQ(server.stop(), 0) << server.stderr_text();
}
