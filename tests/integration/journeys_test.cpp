// The journey models (paths to purchase, their comparison, drop-off, time
// to convert, experiment priorities) on small hand-made shops, loaded
// through the loader's writer into the real PostgreSQL. Every expected
// number is worked out by hand from the definitions in docs/analytics.md;
// the comments show the arithmetic.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "model_shop.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

using test::at;
using test::kDesktop;
using test::kPhone;
using test::Shop;

class JourneysTest : public ::testing::Test {
  protected:
    void SetUp() override { schema_.migrate(); }
    std::string q(const std::string& sql) { return schema_.scalar(sql); }
    void exec(const std::string& sql) {
        auto connection = schema_.connect();
        pqxx::work txn(*connection);
        txn.exec(sql);
        txn.commit();
    }
    test::TestSchema schema_;
};

// A person's way to the cart: a product view, then the two steps in order.
void browse(Shop& shop, const std::string& person, const std::string& first,
            const std::string& second) {
    shop.track("page_view", person, at(0), R"({"path":"/"})");
    shop.track("product_viewed", person, at(0, 1), R"({"product_id":"p"})");
    shop.track(first, person, at(0, 2), R"({"product_id":"p","product_ids":["p","q"]})");
    shop.track(second, person, at(0, 3), R"({"product_id":"p","product_ids":["p","q"]})");
}

// Eight persons with complete 30-day windows (the horizon is day 100) and
// one without. Converters (first order within 30 days): a, i (compared,
// then added), b (added, then compared), g (added only). Non-converters: c
// (compared, then added), d (added, then compared; ordered on day 40, after
// the window), e (searched, added), f (no step).
Shop path_shop() {
    Shop shop;
    browse(shop, "a", "product_compare_opened", "add_to_cart");
    shop.order("a", at(0, 10), "oa", 100, 60);                              // 90-day profit 40
    shop.track("wishlist_added", "a", at(0, 20), R"({"product_id":"p"})");  // after the order
    browse(shop, "i", "product_compare_opened", "add_to_cart");
    shop.order("i", at(3), "oi", 60, 30);  // 30
    browse(shop, "b", "add_to_cart", "product_compare_opened");
    shop.order("b", at(1), "ob", 50, 40);  // 10
    shop.track("page_view", "g", at(0), R"({"path":"/"})");
    shop.track("product_viewed", "g", at(0, 1), R"({"product_id":"p"})");
    shop.track("add_to_cart", "g", at(0, 2), R"({"product_id":"p"})");
    shop.order("g", at(0, 5), "og", 30, 20);  // 10
    browse(shop, "c", "product_compare_opened", "add_to_cart");
    browse(shop, "d", "add_to_cart", "product_compare_opened");
    shop.order("d", at(40), "od", 80, 40);  // 40, but no conversion within 30 days
    shop.track("page_view", "e", at(0), R"({"path":"/"})");
    shop.track("product_viewed", "e", at(0, 1), R"({"product_id":"p"})");
    shop.track("search_used", "e", at(0, 2), R"({"query":"shoes","results_count":3})");
    shop.track("add_to_cart", "e", at(0, 3), R"({"product_id":"p"})");
    shop.track("add_to_cart", "e", at(0, 4), R"({"product_id":"p"})");  // a step once
    shop.track("experiment_viewed", "e", at(0, 5),
               R"({"experiment_id":"x","variant":"control"})");             // not a step
    shop.track("size_guide_opened", "e", at(31), R"({"product_id":"p"})");  // after 30 days
    shop.track("page_view", "f", at(0), R"({"path":"/"})");
    shop.track("page_view", "h", at(100), R"({"path":"/"})");  // the horizon; no window
    return shop;
}

}  // namespace

TEST_F(JourneysTest, PathsFollowTheDefinitions) {
    path_shop().load_and_refresh(schema_);

    EXPECT_EQ(q("SELECT string_agg(replace(person_id, 'user:', '') || ' ' || converted || ' ' || "
                "array_to_string(path, "
                "',') || ' ' || gross_profit_90d::float8, '; ' ORDER BY person_id) "
                "FROM models.person_paths"),
              "a true product_viewed,product_compare_opened,add_to_cart 40; "
              "b true product_viewed,add_to_cart,product_compare_opened 10; "
              "c false product_viewed,product_compare_opened,add_to_cart 0; "
              "d false product_viewed,add_to_cart,product_compare_opened 40; "
              "e false product_viewed,search_used,add_to_cart 0; "
              "f false  0; "
              "g true product_viewed,add_to_cart 10; "
              "i true product_viewed,product_compare_opened,add_to_cart 30");

    // Full paths (5 steps at most, the 50 most common kept). Ranks by
    // converters then path: compare-then-add (2) first, then the two with
    // one converter in the paths' order; by non-converters (1 each): (none),
    // add-then-compare, compare-then-add, search.
    const auto paths = [&] {
        return q(
            "SELECT string_agg(concat_ws(' | ', path, steps, persons, converters, "
            "non_converters, round(conversion_rate, 4), persons_with_90d, "
            "round(mean_gross_profit_90d, 4), converter_rank, non_converter_rank), '; ' "
            "ORDER BY path) FROM models.paths");
    };
    EXPECT_EQ(paths(),
              // f: no step, no conversion, profit 0
              "(none) | 0 | 1 | 0 | 1 | 0.0000 | 1 | 0.0000 | 1; "
              // g: 1 of 1 converted, profit 10
              "product_viewed > add_to_cart | 2 | 1 | 1 | 0 | 1.0000 | 1 | 10.0000 | 2; "
              // b and d: 1 of 2, profit (10 + 40) / 2 = 25
              "product_viewed > add_to_cart > product_compare_opened | 3 | 2 | 1 | 1 | 0.5000 | 2 "
              "| 25.0000 | 3 | 2; "
              // a, i and c: 2 of 3, profit (40 + 30 + 0) / 3
              "product_viewed > product_compare_opened > add_to_cart | 3 | 3 | 2 | 1 | 0.6667 | 3 "
              "| 23.3333 | 1 | 3; "
              // e
              "product_viewed > search_used > add_to_cart | 3 | 1 | 0 | 1 | 0.0000 | 1 | 0.0000 | "
              "4");

    // Cut to 2 steps, the most common 1 kept: by converters, product_viewed >
    // add_to_cart (b, d, g: 2 of 3, profit (10 + 40 + 10) / 3 = 20) wins the
    // tie with product_viewed > product_compare_opened by its name; by
    // non-converters (1 each), (none). The rest, (other): a, i, c and e, 2
    // of 4 converted, profit (40 + 30 + 0 + 0) / 4 = 17.5.
    exec("UPDATE models.settings SET path_max_steps = 2, path_top = 1");
    test::refresh_models(schema_);
    EXPECT_EQ(paths(),
              "(none) | 0 | 1 | 0 | 1 | 0.0000 | 1 | 0.0000 | 1; "
              "(other) | 4 | 2 | 2 | 0.5000 | 4 | 17.5000; "
              "product_viewed > add_to_cart | 2 | 3 | 2 | 1 | 0.6667 | 3 | 20.0000 | 1 | 2");
}

TEST_F(JourneysTest, PathComparisonTellsTheOrderOfTwoSteps) {
    path_shop().load_and_refresh(schema_);
    const auto row = [&](const std::string& first, const std::string& second) {
        return q(
            "SELECT concat_ws(' | ', converters_with, non_converters_with, "
            "round(share_of_converters, 4), round(share_of_non_converters, 4), "
            "round(difference, 4), round(difference_low, 4), round(difference_high, 4), "
            "round(conversion_rate_with, 4), round(conversion_rate_without, 4), "
            "round(lift, 4), reversed_persons, round(conversion_rate_reversed, 4), "
            "round(difference_from_reversed, 4), round(difference_from_reversed_low, 4), "
            "round(difference_from_reversed_high, 4)) FROM models.path_comparison WHERE "
            "first_event = '" +
            first + "' AND " +
            (second.empty() ? "kind = 'event'" : "second_event = '" + second + "'"));
    };
    // 4 converters (a, i, b, g), 4 non-converters (c, d, e, f).
    // product_compare_opened: 3 of 4 converters (a, i, b) and 2 of 4 others
    // (c, d): 0.75 - 0.5 = 0.25 ± 1.96 sqrt(.75 .25 / 4 + .5 .5 / 4) =
    // 0.6482. Conversion: 3 of the 5 with it, 1 of the 3 without; lift
    // 0.6 / 0.3333 - 1 = 0.8.
    EXPECT_EQ(row("product_compare_opened", ""),
              "3 | 2 | 0.7500 | 0.5000 | 0.2500 | -0.3982 | 0.8982 | 0.6000 | 0.3333 | 0.8000");
    // Compared, then added: a, i and c; 2 of 4 against 1 of 4: 0.25 ±
    // 0.6482 again. Conversion 2 of 3, against 2 of the other 5: lift
    // 0.6667 / 0.4 - 1. The reverse order, b and d: 1 of 2 converted, 0.5;
    // 0.6667 - 0.5 = 0.1667 ± 1.96 sqrt(.6667 .3333 / 3 + .5 .5 / 2) =
    // 0.8745.
    EXPECT_EQ(row("product_compare_opened", "add_to_cart"),
              "2 | 1 | 0.5000 | 0.2500 | 0.2500 | -0.3982 | 0.8982 | 0.6667 | 0.4000 | 0.6667 | "
              "2 | 0.5000 | 0.1667 | -0.7078 | 1.0412");
    EXPECT_EQ(row("add_to_cart", "product_compare_opened"),
              "1 | 1 | 0.2500 | 0.2500 | 0.0000 | -0.6001 | 0.6001 | 0.5000 | 0.5000 | 0.0000 | "
              "3 | 0.6667 | -0.1667 | -1.0412 | 0.7078");
    // add_to_cart: every converter and 3 non-converters (c, d, e); nobody
    // without it converted, so no lift. 1 - .75 ± 1.96 sqrt(0 + .75 .25 / 4).
    EXPECT_EQ(row("add_to_cart", ""),
              "4 | 3 | 1.0000 | 0.7500 | 0.2500 | -0.1743 | 0.6743 | 0.5714 | 0.0000");
    // search_used: e only; conversion 0 against 4 of 7: lift -1.
    EXPECT_EQ(row("search_used", ""),
              "0 | 1 | 0.0000 | 0.2500 | -0.2500 | -0.6743 | 0.1743 | 0.0000 | 0.5714 | -1.0000");
    // Steps: product_viewed, product_compare_opened, add_to_cart,
    // search_used; pairs: viewed before each of the other three, compared
    // before added and added before compared, searched before added.
    EXPECT_EQ(q("SELECT count(*) FILTER (WHERE kind = 'event') || ' ' || count(*) FILTER "
                "(WHERE kind = 'pair') FROM models.path_comparison"),
              "4 6");
    // Nobody added to the cart before viewing the product: no reverse order.
    // Viewed, then added: funnel steps only; compared, then added: not.
    EXPECT_EQ(q("SELECT concat_ws(' ', reversed_persons, conversion_rate_reversed, "
                "funnel_steps_only) FROM models.path_comparison WHERE first_event = "
                "'product_viewed' AND second_event = 'add_to_cart'"),
              "0 t");
    EXPECT_EQ(q("SELECT string_agg(r, ', ' ORDER BY r) FROM (SELECT concat_ws(' ', "
                "first_event, second_event) AS r FROM models.path_comparison WHERE NOT "
                "funnel_steps_only) x"),
              "add_to_cart product_compare_opened, product_compare_opened, "
              "product_compare_opened add_to_cart, product_viewed product_compare_opened, "
              "product_viewed search_used, search_used, search_used add_to_cart");
}

TEST_F(JourneysTest, DropOffFindsTheLargestLossAndWhereItIsWorst) {
    Shop shop;
    // 40 persons on a desktop: 32 add to the cart, 24 start the checkout
    // and pay, 12 order. 20 on a phone: 4 add, start, pay and order.
    const auto person = [&](const std::string& id, const char* device, int last_step) {
        const std::string context = std::string("{") + device + "}";
        shop.track("product_viewed", id, at(0), R"({"product_id":"p"})", context);
        const char* steps[] = {"add_to_cart", "checkout_started", "payment_attempted"};
        for (int step = 0; step < 3 && step < last_step - 1; ++step)
            shop.track(steps[step], id, at(0, step + 1), R"({"product_id":"p"})", context);
        if (last_step == 5) shop.order(id, at(0, 5), "o-" + id, 10, 5);
    };
    for (int i = 0; i < 40; ++i)
        person("d" + std::to_string(i), kDesktop, i < 12 ? 5 : i < 24 ? 4 : i < 32 ? 2 : 1);
    for (int i = 0; i < 20; ++i) person("m" + std::to_string(i), kPhone, i < 4 ? 5 : 1);
    shop.load_and_refresh(schema_);

    const auto rows = [&](const std::string& where) {
        return q(
            "SELECT string_agg(concat_ws(' ', step, segment, reached, continued, "
            "round(loss, 4), round(loss_low, 4), round(loss_high, 4), round(loss_of_all, 4), "
            "largest, worse_than_all, worst_rank), '; ' ORDER BY step, segment) "
            "FROM models.drop_off WHERE funnel = 'purchase' AND " +
            where);
    };
    // Everyone: 60, 36, 28, 28, 16. Losses 0.4, 0.2222, 0, 0.4286: the
    // largest is paying to ordering. Wilson intervals (z = 1.96): 36 of 60
    // went on, loss in [0.2857, 0.5263]; 28 of 36, [0.1172, 0.3808]; 28 of
    // 28, [0, 0.1206]; 16 of 28, [0.2651, 0.6093].
    EXPECT_EQ(rows("dimension = 'all'"),
              "1 all 60 36 0.4000 0.2857 0.5263 0.4000 f f; "
              "2 all 36 28 0.2222 0.1172 0.3808 0.2222 f f; "
              "3 all 28 28 0.0000 0.0000 0.1206 0.0000 f f; "
              "4 all 28 16 0.4286 0.2651 0.6093 0.4286 t f");
    // The phone loses 16 of 20 at the first step, 0.8 in [0.5840, 0.9193]:
    // above everyone's 0.4 even at its low end, so worse than all and first
    // of the device types there. The desktop loses 8 of 40, 0.2 in [0.1050,
    // 0.3476]. The desktop's largest loss is its last step (12 of 24: 0.5 in
    // [0.3143, 0.6857], not credibly above 0.4286); the phone's, its first.
    EXPECT_EQ(rows("dimension = 'device_type' AND step IN (1, 4)"),
              "1 desktop 40 32 0.2000 0.1050 0.3476 0.4000 f f 2; "
              "1 mobile 20 4 0.8000 0.5840 0.9193 0.4000 t t 1; "
              "4 desktop 24 12 0.5000 0.3143 0.6857 0.4286 t f 1; "
              "4 mobile 4 4 0.0000 0.0000 0.4899 0.4286 f f 2");
    // Every step of every segment: 4 steps for all, 2 device types, 1
    // channel (direct) and 1 landing page ((none)).
    EXPECT_EQ(q("SELECT count(*) FROM models.drop_off"), "20");
}

TEST_F(JourneysTest, ExperimentPrioritiesWeighTheLiftByValue) {
    Shop shop;
    // Ten persons add to the cart and order at once, 100 each, at a cost of
    // 60 or 59 (profit 40 or 41); ten add to a wishlist, and every other one
    // of them orders on day 5, 20 at a cost of 19 (profit 1). 15 orders,
    // 1,100: a mean of 73.3333.
    for (int i = 0; i < 10; ++i) {
        const auto cart = "c" + std::to_string(i);
        shop.track("page_view", cart, at(0), R"({"path":"/"})");
        shop.track("add_to_cart", cart, at(0, 1), R"({"product_id":"p"})");
        shop.order(cart, at(0, 5), "o" + cart, 100, i % 2 == 0 ? 60 : 59);
        const auto wish = "w" + std::to_string(i);
        shop.track("page_view", wish, at(0), R"({"path":"/"})");
        shop.track("wishlist_added", wish, at(0, 1), R"({"product_id":"p"})");
        if (i % 2 == 0) shop.order(wish, at(5), "o" + wish, 20, 19);
    }
    // The last 28 days up to the horizon (day 100): 3 carts and 1 wishlist,
    // 0.75 and 0.25 a week.
    shop.track("page_view", "h", at(80), R"({"path":"/"})");
    shop.track("add_to_cart", "h", at(80, 1), R"({"product_id":"p"})");
    shop.track("add_to_cart", "h", at(80, 2), R"({"product_id":"p"})");
    shop.track("add_to_cart", "h", at(90), R"({"product_id":"p"})");
    shop.track("wishlist_added", "h", at(90, 1), R"({"product_id":"p"})");
    shop.track("page_view", "h", at(100), R"({"path":"/"})");
    shop.load(schema_);
    exec(
        "INSERT INTO models.experiment_candidates (name, target_event, expected_lift, "
        "confidence, ease) VALUES ('cart button', 'add_to_cart', 0.1, 5, 4), "
        "('wishlist hearts', 'wishlist_added', 0.5, 4, 5), "
        "('quiz', 'quiz_completed', 0.3, 8, 8)");
    test::refresh_models(schema_);

    const auto queue = [&] {
        return q(
            "SELECT string_agg(concat_ws(' | ', name, occurrences_per_week, value_class, "
            "round(value_per_occurrence, 4), value_source, round(value_per_week, 4), "
            "ice_score, round(value_score, 4), ice_rank, value_rank), '; ' ORDER BY name) "
            "FROM models.experiment_priorities");
    };
    // Fewer than 30 persons a side: unclassified, so valued by the expected
    // revenue per occurrence. Carts with complete 30 days: all 10 followed by
    // an order, 73.3333; wishlists: 5 of 10, 36.6667.
    // cart button: ICE 0.1 x 5 x 4 = 2; 0.75 x 0.1 x 73.3333 = 5.5 a week,
    // score 5.5 x 20 = 110. wishlist hearts: ICE 0.5 x 4 x 5 = 10; 0.25 x
    // 0.5 x 36.6667 = 4.5833 a week, score 91.6667. quiz: ICE 19.2, never
    // seen: no value, last by value.
    EXPECT_EQ(queue(),
              "cart button | 0.75 | unclassified | 73.3333 | expected_revenue_per_occurrence | "
              "5.5000 | 2.0 | 110.0000 | 3 | 1; "
              "quiz | 0 | 19.2 | 1 | 3; "
              "wishlist hearts | 0.25 | unclassified | 36.6667 | "
              "expected_revenue_per_occurrence | 4.5833 | 10.0 | 91.6667 | 2 | 2");

    // With 2 persons a side enough, both are classified (h's 90 days are not
    // complete). Carts in the first week: profit 40.5 on average against
    // 0.5, an uplift of 40; both sides' variance 10 x 0.25 / 9, so the 95%
    // interval is 40 ± t(0.975, 18) x sqrt(2 x 0.2778 / 10) = 40 ± 0.4952:
    // credible, the cart is valued by it. 0.75 x 0.1 x 40 = 3 a week, score
    // 60: now below the wishlist, whose uplift (-40) is not credible, so
    // that it keeps its expected revenue.
    exec("UPDATE models.settings SET min_persons_per_side = 2");
    test::refresh_models(schema_);
    EXPECT_EQ(q("SELECT round(uplift_low, 4) FROM models.event_value "
                "WHERE event_name = 'add_to_cart'"),
              "39.5048");
    EXPECT_EQ(queue(),
              "cart button | 0.75 | P0 | 40.0000 | uplift_90d_gross_profit | 3.0000 | 2.0 | "
              "60.0000 | 3 | 2; "
              "quiz | 0 | 19.2 | 1 | 3; "
              "wishlist hearts | 0.25 | P3 | 36.6667 | expected_revenue_per_occurrence | 4.5833 | "
              "10.0 | 91.6667 | 2 | 1");

    // The queue refuses what it cannot score.
    EXPECT_THROW(exec("INSERT INTO models.experiment_candidates VALUES "
                      "('bold', 'add_to_cart', 0.1, 11, 5)"),
                 pqxx::check_violation);
    EXPECT_THROW(exec("INSERT INTO models.experiment_candidates VALUES "
                      "('negative', 'add_to_cart', -0.1, 5, 5)"),
                 pqxx::check_violation);
}

TEST_F(JourneysTest, TimeToConvertAndOrderTimingFollowTheDefinitions) {
    Shop shop;
    // t1: first touch day 0 00:00, a cart 10 minutes later; back on day 2
    // (a second session) for another cart and an order 20 minutes in.
    shop.track("page_view", "t1", at(0), R"({"path":"/"})");
    shop.track("add_to_cart", "t1", at(0, 10), R"({"product_id":"p"})");
    shop.track("page_view", "t1", at(2), R"({"path":"/"})");
    shop.track("add_to_cart", "t1", at(2, 5), R"({"product_id":"p"})");
    shop.order("t1", at(2, 20), "ot1", 10, 5);
    // t2: first touch day 1 00:00, a cart 25 minutes later, an order at 35.
    shop.track("page_view", "t2", at(1), R"({"path":"/"})");
    shop.track("add_to_cart", "t2", at(1, 25), R"({"product_id":"p"})");
    shop.order("t2", at(1, 35), "ot2", 10, 5);
    shop.load_and_refresh(schema_);

    const auto row = [&](const std::string& name) {
        return q(
            "SELECT persons || ' ' || median_seconds_from_first_touch || ' ' || "
            "p75_seconds_from_first_touch || ' ' || median_seconds_from_session_start || ' ' "
            "|| p75_seconds_from_session_start FROM models.time_to_convert WHERE event_name = '" +
            name + "'");
    };
    // add_to_cart, first occurrences only: 600 s (t1) and 1500 s (t2) from
    // first touch and from session start alike; median 1050, 75th
    // percentile 600 + 0.75 * 900 = 1275.
    EXPECT_EQ(row("add_to_cart"), "2 1050 1275 1050 1275");
    // order_completed: t1 2 days 20 minutes (174000 s) from first touch, 1200 s
    // into its second session; t2 2100 s both. Median (174000 + 2100) / 2 =
    // 88050, 75th 2100 + 0.75 * 171900 = 131025; from session start 1650
    // and 1200 + 0.75 * 900 = 1875.
    EXPECT_EQ(row("order_completed"), "2 88050 131025 1650 1875");
    EXPECT_EQ(q("SELECT count(*) FROM models.time_to_convert WHERE event_name = 'page_view'"), "0");
    // How long, from first touch: the carts (600 s, 1500 s) and t2's order
    // (2100 s) within the hour, t1's order (2 days) within the week.
    const auto buckets = [&](const std::string& name) {
        return q("SELECT concat_ws(' ', under_1_minute, under_1_hour, under_1_day, under_1_week, "
                 "over_1_week) FROM models.time_to_convert WHERE event_name = '" +
                 name + "'");
    };
    EXPECT_EQ(buckets("add_to_cart"), "0 2 0 0 0");
    EXPECT_EQ(buckets("order_completed"), "0 1 0 1 0");
    // Per person, the same first occurrences.
    EXPECT_EQ(q("SELECT string_agg(replace(person_id, 'user:', '') || ' ' || event_name || ' ' || "
                "seconds_from_first_touch || ' ' || seconds_from_session_start, ', ' ORDER BY "
                "person_id, event_name) FROM models.first_occurrences"),
              "t1 add_to_cart 600 600, t1 order_completed 174000 1200, "
              "t2 add_to_cart 1500 1500, t2 order_completed 2100 2100");
    EXPECT_EQ(q("SELECT string_agg(order_id || ' ' || seconds_from_first_touch || ' ' || "
                "sessions_before, ',' ORDER BY order_id) FROM models.order_timing"),
              "ot1 174000 1,ot2 2100 0");
}
