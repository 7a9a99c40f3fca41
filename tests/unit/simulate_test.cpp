// The synthetic shop as pure data: deterministic by seed, within its days,
// and accepted by the real request pipeline and contracts.
#include "funnelhouse/simulate/shop.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/ingest/request.hpp"
#include "funnelhouse/ingest/write_keys.hpp"
#include "funnelhouse/schema/registry.hpp"
#include "temp_dir.hpp"

using namespace funnelhouse;

namespace {

simulate::ShopSettings small_shop(std::uint64_t seed) {
    simulate::ShopSettings settings;
    settings.persons = 300;
    settings.days = 60;
    settings.seed = seed;
    settings.end = *common::parse_timestamp("2026-06-01T00:00:00Z");
    return settings;
}

}  // namespace

TEST(SimulatedShop, TheSameSeedGivesTheSameShop) {
    const auto first = simulate::generate_shop(small_shop(3));
    const auto again = simulate::generate_shop(small_shop(3));
    const auto other = simulate::generate_shop(small_shop(4));
    const auto texts = [](const std::vector<simulate::Message>& messages) {
        std::vector<std::string> list;
        for (const auto& message : messages) list.push_back(message.json);
        return list;
    };
    EXPECT_EQ(texts(first), texts(again));
    EXPECT_NE(texts(first), texts(other));
}

TEST(SimulatedShop, MessagesAreInTimeOrderWithinTheirDays) {
    const auto settings = small_shop(5);
    const auto messages = simulate::generate_shop(settings);
    ASSERT_GT(messages.size(), settings.persons);
    const auto start = settings.end - std::chrono::hours(24 * settings.days);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        EXPECT_GE(messages[i].at, start);
        EXPECT_LE(messages[i].at, settings.end + std::chrono::seconds(1));
        if (i > 0) {
            EXPECT_LE(messages[i - 1].at, messages[i].at);
        }
    }
}

TEST(SimulatedShop, EveryMessagePassesTheContractsButBrowserCopiesOfOrders) {
    const auto keys = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"web","key":"b","source":"browser"},{"name":"backend","key":"s","source":"server"}])",
        "test");
    const auto registry = schema::SchemaRegistry::load(test::source_dir() / "schemas");
    const auto messages = simulate::generate_shop(small_shop(6));
    const auto batches = simulate::batch_messages(messages, 200);
    std::size_t total = 0;
    std::size_t orders = 0;
    std::size_t refused_copies = 0;
    std::size_t defects = 0;
    std::set<std::string> names;
    for (const auto& batch : batches) {
        ASSERT_LE(batch.messages, 200u);
        ASSERT_LT(batch.body.size(), 500u * 1024);
        const auto authorization =
            "Basic " + common::base64_encode(batch.sender == common::Source::browser ? "b:" : "s:");
        const auto outcome = ingest::process_request(
            {"/v1/batch", batch.body, authorization, common::now(), "", ""}, keys, registry, {});
        ASSERT_FALSE(outcome.error) << outcome.error_message;
        ASSERT_EQ(outcome.message_count, batch.messages);
        total += outcome.message_count;
        for (const auto& event : outcome.events) {
            names.insert(event.event_name);
            if (event.event_name == "order_completed") ++orders;
        }
        for (const auto& bad : outcome.bad_events) {
            // The tablet page's planted defect: results_count as a string.
            if (bad.reason == "schema_violation") {
                EXPECT_EQ(bad.event_name.value_or(""), "search_used");
                EXPECT_NE(bad.errors.find("/properties/results_count"), std::string::npos)
                    << bad.errors;
                ++defects;
                continue;
            }
            // The browser's copy of a server-only event: refused, as designed.
            EXPECT_EQ(bad.reason, "source_not_allowed") << bad.errors;
            EXPECT_EQ(bad.event_name.value_or(""), "order_completed");
            ++refused_copies;
        }
    }
    EXPECT_EQ(total, messages.size());
    EXPECT_GT(orders, 0u);
    // Some browser copies are missing, as ad blockers cause.
    EXPECT_GT(refused_copies, 0u);
    EXPECT_LT(refused_copies, orders);
    EXPECT_GT(defects, 0u);
    for (const auto* name : {"page_view", "product_viewed", "add_to_cart", "checkout_started",
                             "payment_attempted", "experiment_viewed", "identify",
                             "product_compare_opened", "coupon_applied", "size_guide_opened",
                             "refund_issued"})
        EXPECT_TRUE(names.count(name)) << name;
}
