// The analytics models (models/) on small hand-made shops,
// loaded through the loader's writer into the real PostgreSQL. Every
// expected number below is worked out by hand from the definitions in
// docs/analytics.md; the comments show the arithmetic.
#include <gtest/gtest.h>

#include <cmath>

#include "funnelhouse/loader/writer.hpp"
#include "funnelhouse/models/refresh.hpp"
#include "funnelhouse/schema/registry.hpp"
#include "model_shop.hpp"
#include "sample_events.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

using test::at;
using test::kDesktop;
using test::kPhone;
using test::Shop;

class ModelsTest : public ::testing::Test {
  protected:
    void SetUp() override { schema_.migrate(); }
    std::string q(const std::string& sql) { return schema_.scalar(sql); }
    test::TestSchema schema_;
};

}  // namespace

TEST_F(ModelsTest, PersonValueWindowsRefundsAndCohortsFollowTheDefinitions) {
    Shop shop;
    // u1 lands on /shoes from a newsletter link on a phone.
    shop.track("page_view", "u1", at(0),
               R"({"path":"/shoes","url":"https://shop.test/shoes?utm_source=Newsletter"})",
               std::string(R"({"page":{"url":"https://shop.test/shoes?utm_source=Newsletter"},)") +
                   kPhone + "}");
    shop.track("size_guide_opened", "u1", at(0, 60), R"({"product_id":"p"})");
    shop.track("size_guide_opened", "u1", at(0, 70), R"({"product_id":"p"})");  // same session
    shop.track("size_guide_opened", "u1", at(2), R"({"product_id":"p"})");
    shop.order("u1", at(2, 5), "o1", 100, 60);
    shop.refund("u1", at(35), "o1", 20);
    shop.order("u1", at(40), "o2", 50, std::nullopt);
    // u2 comes from Google on a desktop and only adds to cart.
    shop.track(
        "page_view", "u2", at(1), R"({"path":"/"})",
        std::string(
            R"({"page":{"url":"https://shop.test/","referrer":"https://www.google.com/search?q=shoes"},)") +
            kDesktop + "}");
    shop.track("add_to_cart", "u2", at(1, 5), R"({"product_id":"p"})");
    // once_per_user: signing up twice, on two days, is one occurrence.
    shop.track("newsletter_signup", "u2", at(1, 6), R"({"list":"weekly"})");
    shop.track("newsletter_signup", "u2", at(2), R"({"list":"weekly"})");
    // u3 browses anonymously from an ad campaign, logs in, and orders late.
    shop.anonymous("page_view", "a3", at(3), R"({"path":"/sale"})",
                   R"({"campaign":{"source":"Ads"},"page":{"path":"/sale"}})");
    auto& login = shop.anonymous("identify", "a3", at(3, 1));
    login.user_id = "u3";
    shop.order("u3", at(100), "o3", 200, 150);
    // The horizon: the latest event, 200 days in.
    shop.track("page_view", "late", at(200));
    shop.load_and_refresh(schema_);

    EXPECT_EQ(q("SELECT to_char(horizon AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM models.horizon"),
              "2026-07-20");
    EXPECT_EQ(q("SELECT string_agg(person_id || ' ' || channel || ' ' || landing_page || ' ' || "
                "device_type, '; ' ORDER BY person_id) FROM models.person_firsts"),
              "user:late direct (none) unknown; user:u1 newsletter /shoes mobile; "
              "user:u2 google.com / desktop; user:u3 ads /sale unknown");
    // u1's sessions: the landing page; the size guide an hour later (a new
    // session) twice; day 2; the refund on day 35; the order on day 40.
    EXPECT_EQ(q("SELECT count(*) FROM models.sessions WHERE person_id = 'user:u1'"), "5");
    EXPECT_EQ(q("SELECT occurrences FROM models.early_conversions "
                "WHERE person_id = 'user:u2' AND event_name = 'newsletter_signup'"),
              "1");
    EXPECT_EQ(q("SELECT count(*) FROM models.occurrences "
                "WHERE person_id = 'user:u2' AND event_name = 'newsletter_signup'"),
              "1");
    // once_per_session: three size-guide events, two occurrences.
    EXPECT_EQ(q("SELECT occurrences FROM models.early_conversions "
                "WHERE person_id = 'user:u1' AND event_name = 'size_guide_opened'"),
              "2");

    // u1, 30 days: o1 only (100 revenue, 100 - 60 = 40 profit), no refund yet.
    EXPECT_EQ(q("SELECT concat_ws(' ', complete_30d, orders_30d, revenue_30d, gross_profit_30d, "
                "refunds_30d, refunded_orders_30d, orders_without_cost_30d) FROM "
                "models.person_value WHERE person_id = 'user:u1'"),
              "t 1 100.000000 40.000000 0 0 0");
    // 60 days: o1 and o2 (150 revenue, 40 + 50 profit), minus the refund of 20.
    EXPECT_EQ(q("SELECT concat_ws(' ', orders_60d, revenue_60d, gross_profit_60d, refunds_60d, "
                "refunded_orders_60d, orders_without_cost_60d) FROM models.person_value "
                "WHERE person_id = 'user:u1'"),
              "2 130.000000 70.000000 20.000000 1 1");
    // u3 was first seen on day 3: o3 on day 100 is outside 90 days, inside 180.
    EXPECT_EQ(q("SELECT concat_ws(' ', orders_90d, gross_profit_90d, orders_180d, revenue_180d, "
                "gross_profit_180d, complete_180d) FROM models.person_value "
                "WHERE person_id = 'user:u3'"),
              "0 0 1 200.000000 50.000000 t");
    EXPECT_EQ(q("SELECT concat_ws(' ', complete_30d, complete_180d) FROM models.person_value "
                "WHERE person_id = 'user:late'"),
              "f f");

    // Everyone: four persons, three with complete windows (late's are not).
    // 30 days: (100 + 0 + 0) / 3 revenue, 40 / 3 profit; 90 days: 70 / 3;
    // 180 days: (70 + 0 + 50) / 3 = 40. Repeat rate: u1 is the only buyer
    // within 90 days, with 2 orders. Refund rate: 1 of 2 orders.
    EXPECT_EQ(
        q("SELECT concat_ws(' ', persons, persons_complete_30d, round(revenue_per_person_30d, 4), "
          "round(gross_profit_per_person_30d, 4), round(gross_profit_per_person_90d, 4), "
          "round(gross_profit_per_person_180d, 4), round(revenue_per_person_180d, 4), "
          "repeat_rate_90d, refund_rate_90d, orders_without_cost_90d) "
          "FROM models.cohort_ltv WHERE cohort_kind = 'all'"),
        "4 3 33.3333 13.3333 23.3333 40.0000 110.0000 1.00000000000000000000 "
        "0.50000000000000000000 1");
    EXPECT_EQ(q("SELECT string_agg(cohort_kind || '=' || cohort || ':' || persons, ' ' "
                "ORDER BY cohort_kind, cohort) FROM models.cohort_ltv "
                "WHERE cohort_kind NOT IN ('all', 'landing_page')"),
              "channel=ads:1 channel=direct:1 channel=google.com:1 channel=newsletter:1 "
              "first_seen_month=2026-01:3 first_seen_month=2026-07:1 "
              "micro_conversion=add_to_cart:1 micro_conversion=newsletter_signup:1 "
              "micro_conversion=page_view:4 "
              "micro_conversion=size_guide_opened:1");
    // Landing-page cohorts: one person each.
    EXPECT_EQ(q("SELECT count(*) || ' ' || sum(persons) FROM models.cohort_ltv "
                "WHERE cohort_kind = 'landing_page' AND persons = 1 AND cohort IN "
                "('/shoes', '/', '/sale', '(none)')"),
              "4 4");
    // The refund counts against the order's person.
    EXPECT_EQ(q("SELECT person_id || ' ' || order_known FROM models.refunds"), "user:u1 true");
}

TEST_F(ModelsTest, UpliftIntervalClassAndExpectedRevenueFollowTheDefinitions) {
    Shop shop;
    // Three persons open a comparison on day 0; four only view a page.
    // 90-day gross profit: with {20, 20, 30}, without {0, 0, 0, 10}.
    for (const auto* person : {"w1", "w2", "w3"})
        shop.track("product_compare_opened", person, at(0), R"({"product_ids":["a","b"]})");
    for (const auto* person : {"n1", "n2", "n3", "n4"}) shop.track("page_view", person, at(0));
    shop.order("w1", at(1), "ow1", 20, 0);
    shop.order("w2", at(1), "ow2", 20, 0);
    shop.order("w3", at(50), "ow3", 30, 0);  // not within 30 days of the comparison
    shop.order("n4", at(1), "on4", 10, 0);
    shop.track("page_view", "late", at(120));  // the horizon
    schema_.scalar("UPDATE models.settings SET min_persons_per_side = 3");
    shop.load_and_refresh(schema_);

    // mean with = 70 / 3, without = 10 / 4 = 2.5, uplift = 20.8333.
    // var with = ((20 - 23.33)^2 * 2 + (30 - 23.33)^2) / 2 = 33.3333,
    // var without = (3 * 2.5^2 + 7.5^2) / 3 = 25.
    // se^2 = 33.3333 / 3 + 25 / 4 = 17.3611; df = se^4 / ((11.1111^2) / 2 + (6.25^2) / 3)
    //      = 301.4082 / 74.7479 = 4.0323.
    const double se = std::sqrt(100.0 / 9 + 25.0 / 4);
    const double df = std::pow(100.0 / 9 + 25.0 / 4, 2) /
                      (std::pow(100.0 / 9, 2) / 2 + std::pow(25.0 / 4, 2) / 3);
    EXPECT_NEAR(df, 4.0323, 1e-4);
    const double t = std::stod(q("SELECT models.t_975(" + std::to_string(df) + ")"));
    EXPECT_EQ(
        q("SELECT concat_ws(' ', persons_with, persons_without, round(gross_profit_90d_with, 4), "
          "round(gross_profit_90d_without, 4), round(uplift, 4)) FROM models.event_value "
          "WHERE event_name = 'product_compare_opened'"),
        "3 4 23.3333 2.5000 20.8333");
    const double low = std::stod(
        q("SELECT uplift_low FROM models.event_value WHERE event_name = 'product_compare_opened'"));
    const double high = std::stod(q(
        "SELECT uplift_high FROM models.event_value WHERE event_name = 'product_compare_opened'"));
    EXPECT_NEAR(low, 20.833333 - t * se, 1e-4);
    EXPECT_NEAR(high, 20.833333 + t * se, 1e-4);
    EXPECT_GT(low, 0);
    // Relative: 20.8333 / (80 / 7) = 1.8229 >= 1.0: P0, while its contract
    // declares P2.
    EXPECT_EQ(
        q("SELECT concat_ws(' ', round(relative_uplift, 4), value_class, declared_class, "
          "class_disagrees) FROM models.event_value WHERE event_name = 'product_compare_opened'"),
        "1.8229 P0 P2 t");
    // Page views: the mirror image, significant or not it is no uplift.
    EXPECT_EQ(q("SELECT value_class FROM models.event_value WHERE event_name = 'page_view'"), "P3");
    // 2 of the 3 comparisons are followed by an order within 30 days; the
    // mean order is (20 + 20 + 30 + 10) / 4 = 20: each is worth 13.3333.
    EXPECT_EQ(q("SELECT concat_ws(' ', occurrences_complete_30d, round(order_within_30d_share, 4), "
                "round(mean_order_revenue, 4), round(expected_revenue_per_occurrence, 4)) "
                "FROM models.event_value WHERE event_name = 'product_compare_opened'"),
              "3 0.6667 20.0000 13.3333");

    // With the default 30 persons a side, nothing is classified.
    schema_.scalar("UPDATE models.settings SET min_persons_per_side = 30");
    test::refresh_models(schema_);
    EXPECT_EQ(q("SELECT string_agg(DISTINCT value_class, ',') FROM models.event_value"),
              "unclassified");
}

TEST_F(ModelsTest, TheTQuantileMatchesTheTables) {
    // Student's t, 97.5%: df 30 2.042272, 60 2.000298, 120 1.979930.
    EXPECT_NEAR(std::stod(q("SELECT models.t_975(30)")), 2.042272, 1e-5);
    EXPECT_NEAR(std::stod(q("SELECT models.t_975(60)")), 2.000298, 1e-5);
    EXPECT_NEAR(std::stod(q("SELECT models.t_975(120)")), 1.979930, 1e-5);
    EXPECT_NEAR(std::stod(q("SELECT models.t_975(NULL)")), 1.959964, 1e-6);
}

TEST_F(ModelsTest, FunnelStepsAreReachedInOrder) {
    Shop shop;
    const std::string phone = std::string("{") + kPhone + "}";
    const std::string desktop = std::string("{") + kDesktop + "}";
    // f1 goes all the way on a phone, ten minutes per step up to checkout.
    shop.track("product_viewed", "f1", at(0), R"({"product_id":"p"})", phone);
    shop.track("add_to_cart", "f1", at(0, 10), R"({"product_id":"p"})", phone);
    shop.track("checkout_started", "f1", at(0, 20), R"({"value":10,"currency":"EUR"})", phone);
    shop.track("payment_attempted", "f1", at(0, 25), R"({"payment_method":"card","success":true})",
               phone);
    shop.order("f1", at(0, 26), "of1", 10, 5);
    // f2 adds to cart before viewing: only the later add-to-cart counts.
    shop.track("add_to_cart", "f2", at(0), R"({"product_id":"p"})", desktop);
    shop.track("product_viewed", "f2", at(0, 5), R"({"product_id":"p"})", desktop);
    shop.track("add_to_cart", "f2", at(0, 15), R"({"product_id":"p"})", desktop);
    // f3 skips the cart: checkout without step 2 does not count.
    shop.track("product_viewed", "f3", at(0), R"({"product_id":"p"})", desktop);
    shop.track("checkout_started", "f3", at(0, 1), R"({"value":10,"currency":"EUR"})", desktop);
    shop.load_and_refresh(schema_);

    EXPECT_EQ(q("SELECT string_agg(persons::text, ',' ORDER BY step) FROM models.funnel "
                "WHERE funnel = 'purchase' AND dimension = 'all'"),
              "3,2,1,1,1");
    EXPECT_EQ(
        q("SELECT string_agg(coalesce(round(rate_from_previous, 4)::text, '-'), ',' "
          "ORDER BY step) FROM models.funnel WHERE funnel = 'purchase' AND dimension = 'all'"),
        "-,0.6667,0.5000,1.0000,1.0000");
    // Step 1 to 2: f1 10 minutes, f2 10 minutes after its view.
    EXPECT_EQ(q("SELECT string_agg(coalesce(median_seconds_to_next::text, '-'), ',' ORDER BY step) "
                "FROM models.funnel WHERE funnel = 'purchase' AND dimension = 'all'"),
              "600,600,300,60,-");
    EXPECT_EQ(q("SELECT string_agg(persons::text, ',' ORDER BY step) FROM models.funnel "
                "WHERE funnel = 'purchase' AND dimension = 'device_type' AND segment = 'desktop'"),
              "2,1,0,0,0");
    EXPECT_EQ(q("SELECT round(rate_from_first, 4) FROM models.funnel WHERE funnel = 'purchase' "
                "AND dimension = 'all' AND step = 5"),
              "0.3333");
}

TEST_F(ModelsTest, AnExperimentThatWinsConversionButLosesRepeatBuyersIsARegression) {
    Shop shop;
    const auto expose = [&](const std::string& person, const std::string& variant) {
        shop.track("experiment_viewed", person, at(0),
                   R"({"experiment_id":"checkout_v2","variant":")" + variant + R"("})");
    };
    // Control: two of three buy, both twice. Variant B: all three buy once.
    for (const auto* person : {"c1", "c2", "c3"}) expose(person, "control");
    for (const auto* person : {"b1", "b2", "b3"}) expose(person, "B");
    shop.order("c1", at(5), "oc1a", 10, 0);
    shop.order("c1", at(20), "oc1b", 10, 0);
    shop.order("c2", at(10), "oc2a", 10, 0);
    shop.order("c2", at(30), "oc2b", 10, 0);
    shop.order("b1", at(3), "ob1", 5, 0);
    shop.order("b2", at(4), "ob2", 5, 0);
    shop.order("b3", at(6), "ob3", 5, 0);
    shop.track("page_view", "late", at(70));  // 60 days after exposure are complete
    schema_.scalar("UPDATE models.settings SET min_persons_per_side = 3");
    shop.load_and_refresh(schema_);

    // Conversion: control 2/3, B 3/3, lift 1/3. Repeat: control 2/2, B 0/3;
    // pooled 2/5: z = -1 / sqrt(0.4 * 0.6 * (1/3 + 1/2)) = -2.2361.
    // Profit per person: control 40/3, B 15/3: change -8.3333.
    EXPECT_EQ(
        q("SELECT concat_ws(' ', persons, round(conversion_30d, 4), round(repeat_rate_60d, 4), "
          "round(gross_profit_per_person_60d, 4), round(conversion_lift, 4), "
          "round(repeat_rate_z, 4), round(profit_change, 4), verdict) "
          "FROM models.experiment_guardrails WHERE variant = 'B'"),
        "3 1.0000 0.0000 5.0000 0.3333 -2.2361 -8.3333 regression");
    EXPECT_EQ(q("SELECT verdict FROM models.experiment_guardrails WHERE variant = 'control'"),
              "control");
    // The default minimum of 30 persons a side withholds judgement.
    schema_.scalar("UPDATE models.settings SET min_persons_per_side = 30");
    test::refresh_models(schema_);
    EXPECT_EQ(q("SELECT verdict FROM models.experiment_guardrails WHERE variant = 'B'"),
              "insufficient_data");
}

TEST_F(ModelsTest, TrackingHealthFlagsADropAndRejections) {
    Shop shop;
    // add_to_cart: 10 a day for 7 days, 5 on day 8, 10 on day 9 (the last,
    // still filling).
    for (int day = 1; day <= 9; ++day) {
        const int count = day == 8 ? 5 : 10;
        for (int i = 0; i < count; ++i)
            shop.track("add_to_cart", "t" + std::to_string(i), at(day, i), R"({"product_id":"p"})");
    }
    shop.order("t0", at(9, 30), "ot", 10, 1);
    std::vector<common::BadEvent> bad(2);
    bad[0].bad_event_id = "00000000-0000-4000-8000-000000000001";
    bad[0].event_id = "x1";
    bad[0].event_name = "add_to_cart";
    bad[0].raw_event = "{}";
    bad[0].errors = "[]";
    bad[0].reason = "schema_violation";
    bad[0].route = "/v1/track";
    bad[0].write_key_name = "web";
    bad[0].received_at = at(9, 40);
    // The browser's copy of the stored order: expected, not a rejection.
    bad[1] = bad[0];
    bad[1].bad_event_id = "00000000-0000-4000-8000-000000000002";
    bad[1].event_id = "e85";  // the order's id (the 86th event)
    bad[1].event_name = "order_completed";
    bad[1].reason = "source_not_allowed";
    shop.load_and_refresh(schema_, bad);

    EXPECT_EQ(q("SELECT event_name FROM events WHERE event_id = 'e85'"), "order_completed");
    EXPECT_EQ(q("SELECT concat_ws(' ', events, trailing_7d_mean IS NULL, alert) FROM "
                "models.tracking_health WHERE event_name = 'add_to_cart' AND day = '2026-01-08'"),
              "10 t f");
    // Day 9 of the year is the 8th day: 5 against a mean of 10.
    EXPECT_EQ(q("SELECT concat_ws(' ', events, round(trailing_7d_mean, 2), round(volume_ratio, 2), "
                "alert) FROM models.tracking_health WHERE event_name = 'add_to_cart' "
                "AND day = '2026-01-09'"),
              "5 10.00 0.50 t");
    // The last day: no volume alert while it fills, but 1 rejection in 11.
    EXPECT_EQ(q("SELECT concat_ws(' ', partial_day, events, rejected, rejection_reasons, "
                "round(rejection_rate, 4), alert) FROM models.tracking_health "
                "WHERE event_name = 'add_to_cart' AND day = '2026-01-10'"),
              "t 10 1 {\"schema_violation\": 1} 0.0909 t");
    // Its browser copy counts as seen by both sources.
    EXPECT_EQ(q("SELECT concat_ws(' ', events, both_sources, rejected, alert) FROM "
                "models.tracking_health WHERE event_name = 'order_completed'"),
              "1 1 0 f");
}

TEST_F(ModelsTest, ReadersKeepTheirRowsWithoutWaitingWhileARefreshRuns) {
    Shop shop;
    shop.track("page_view", "first", at(0));
    shop.load_and_refresh(schema_);
    EXPECT_EQ(q("SELECT count(*) FROM models.person_value"), "1");

    Shop more;  // its one event is e0 too: an id of its own
    auto writer = schema_.connect();
    loader::prepare_staging(*writer);
    auto& second = more.track("page_view", "second", at(1));
    second.event_id = "second-visit";
    loader::write_batch(*writer, {&second}, {});

    auto refresher = schema_.connect();
    models::Refresh refresh(*refresher, test::repository_contracts(), test::model_catalog());
    refresh.build();
    const auto buffer = refresh.buffer();
    // Every model is rebuilt, not yet switched: a reader neither waits (a
    // lock wait would hit the timeout) nor sees a half-built model.
    auto reader = schema_.connect();
    {
        pqxx::nontransaction read(*reader);
        read.exec("SET statement_timeout = 2000");
        EXPECT_EQ(read.exec("SELECT count(*) FROM models.person_value")[0][0].as<std::string>(),
                  "1");
        EXPECT_EQ(read.exec("SELECT count(*) FROM models.sessions")[0][0].as<std::string>(), "1");
    }
    refresh.commit();
    EXPECT_EQ(q("SELECT count(*) FROM models.person_value"), "2");
    EXPECT_EQ(q("SELECT current FROM models.state"), buffer);
}
