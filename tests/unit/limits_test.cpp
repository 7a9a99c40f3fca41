#include "funnelhouse/http/limits.hpp"

#include <gtest/gtest.h>

#include "funnelhouse/common/networks.hpp"
#include "funnelhouse/http/rate_limits.hpp"

using namespace funnelhouse;
using namespace std::chrono_literals;

TEST(RateLimiter, GrantsTheBurstThenOneTokenPerInterval) {
    http::RateLimiter limiter({2, 5}, 100);  // 2 per second, 5 at once
    const auto start = http::Clock::time_point{} + 1h;
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.take("a", start)) << i;
    const auto wait = limiter.take("a", start);
    ASSERT_TRUE(wait.has_value());
    EXPECT_EQ(wait->count(), 1);  // half a second, rounded up to what Retry-After can say
    // Half a second later one token has flowed in, and only one.
    EXPECT_FALSE(limiter.take("a", start + 500ms));
    EXPECT_TRUE(limiter.take("a", start + 500ms));
    // Other keys have buckets of their own.
    EXPECT_FALSE(limiter.take("b", start));
    // A long pause refills to the burst, not beyond.
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.take("a", start + 1h)) << i;
    EXPECT_TRUE(limiter.take("a", start + 1h));
}

TEST(RateLimiter, RetryAfterCoversTheWholeWaitAtSlowRates) {
    http::RateLimiter limiter({0.1, 1}, 100);  // one request every ten seconds
    const auto start = http::Clock::time_point{} + 1h;
    EXPECT_FALSE(limiter.take("a", start));
    const auto wait = limiter.take("a", start + 1s);
    ASSERT_TRUE(wait.has_value());
    EXPECT_EQ(wait->count(), 9);
}

TEST(RateLimiter, ZeroRateTurnsTheLimitOff) {
    http::RateLimiter limiter({0, 0}, 100);
    const auto now = http::Clock::time_point{} + 1h;
    for (int i = 0; i < 10'000; ++i) ASSERT_FALSE(limiter.take("a", now));
    EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(RateLimiter, ManyNewAddressesShareOneBucketInsteadOfGrowingMemory) {
    http::RateLimiter limiter({1, 2}, 3);
    const auto now = http::Clock::time_point{} + 1h;
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.take("tracked-" + std::to_string(i), now));
    // Three buckets are tracked and none is full again: newcomers share the
    // overflow bucket, which holds a burst of 2.
    EXPECT_FALSE(limiter.take("new-1", now));
    EXPECT_FALSE(limiter.take("new-2", now));
    EXPECT_TRUE(limiter.take("new-3", now));
    EXPECT_EQ(limiter.tracked(), 3u);
    // Once the tracked buckets have refilled they are forgotten, and a new
    // key gets a bucket of its own.
    EXPECT_FALSE(limiter.take("new-4", now + 10s));
    EXPECT_EQ(limiter.tracked(), 1u);
}

TEST(ConnectionLimiter, CountsInAllAndPerAddress) {
    http::ConnectionLimiter limiter(3, 2);
    using Verdict = http::ConnectionLimiter::Verdict;
    EXPECT_EQ(limiter.open("10.0.0.1"), Verdict::admitted);
    EXPECT_EQ(limiter.open("10.0.0.1"), Verdict::admitted);
    EXPECT_EQ(limiter.open("10.0.0.1"), Verdict::too_many_from_address);
    EXPECT_EQ(limiter.open("10.0.0.2"), Verdict::admitted);
    EXPECT_EQ(limiter.open("10.0.0.3"), Verdict::too_many);
    EXPECT_EQ(limiter.open_connections(), 3u);
    limiter.close("10.0.0.1");
    EXPECT_EQ(limiter.open("10.0.0.3"), Verdict::admitted);
    // Closing what was never admitted changes nothing.
    limiter.close("10.9.9.9");
    EXPECT_EQ(limiter.open_connections(), 3u);
}

TEST(ForwardedFor, TakesTheLastAddressOnly) {
    EXPECT_EQ(http::last_forwarded_address("198.51.100.7, 203.0.113.9"), "203.0.113.9");
    EXPECT_EQ(http::last_forwarded_address(" 2001:db8::1 "), "2001:db8::1");
    EXPECT_FALSE(http::last_forwarded_address(""));
    EXPECT_FALSE(http::last_forwarded_address("203.0.113.9, unknown"));
    EXPECT_FALSE(http::last_forwarded_address("203.0.113.9:443"));
}

TEST(RateLimits, AddressesForBrowserKeysKeysForAllAndAKeysOwnLimits) {
    config::Config config;
    config.rate_limit_address = 1;
    config.rate_limit_address_burst = 2;
    config.rate_limit_key = 1;
    config.rate_limit_key_burst = 3;
    const auto keys = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"web","key":"b","source":"browser"},
            {"name":"kiosk","key":"k","source":"browser","address_rate_limit":{"per_second":1,"burst":5}},
            {"name":"backend","key":"s","source":"server","rate_limit":{"per_second":0}},
            {"name":"batch","key":"t","source":"server"}])",
        "k");
    http::RateLimits limits(config, keys);
    const auto now = http::Clock::time_point{} + 1h;
    const auto* web = keys.find("b");
    // An address: 2 at once, for a browser key or no key alike.
    EXPECT_FALSE(limits.take_address(web, "192.0.2.1", now));
    EXPECT_FALSE(limits.take_address(nullptr, "192.0.2.1", now));
    const auto refused = limits.take_address(web, "192.0.2.1", now);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->who, "this client address");
    EXPECT_EQ(refused->setting, "FUNNELHOUSE_RATE_LIMIT_ADDRESS");
    EXPECT_STREQ(refused->limit, "rate_address");
    // The kiosk key's own address bucket holds 5, apart from the default one.
    for (int i = 0; i < 5; ++i)
        EXPECT_FALSE(limits.take_address(keys.find("k"), "192.0.2.1", now)) << i;
    const auto kiosk = limits.take_address(keys.find("k"), "192.0.2.1", now);
    ASSERT_TRUE(kiosk);
    EXPECT_EQ(kiosk->who, "this client address with write key 'kiosk'");
    EXPECT_EQ(kiosk->setting, "address_rate_limit of 'kiosk' in the keys file");
    // Server keys are never limited by address.
    for (int i = 0; i < 100; ++i)
        EXPECT_FALSE(limits.take_address(keys.find("t"), "192.0.2.1", now));
    // Keys: 3 at once by default; the backend's own limit is off.
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(limits.take_key(*keys.find("t"), now));
    const auto batch = limits.take_key(*keys.find("t"), now);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->who, "write key 'batch'");
    EXPECT_EQ(batch->setting, "FUNNELHOUSE_RATE_LIMIT_KEY");
    EXPECT_STREQ(batch->limit, "rate_key");
    for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limits.take_key(*keys.find("s"), now));
}

TEST(Networks, ParsesAddressesAndNetworksAndMatchesThem) {
    const auto proxies = common::Networks::parse(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,, ::1");
    EXPECT_EQ(proxies.size(), 4u);
    EXPECT_TRUE(proxies.contains("10.1.2.3"));
    EXPECT_TRUE(proxies.contains("192.0.2.7"));
    EXPECT_FALSE(proxies.contains("192.0.2.8"));
    EXPECT_FALSE(proxies.contains("11.0.0.1"));
    EXPECT_TRUE(proxies.contains("2001:db8:1::5"));
    EXPECT_FALSE(proxies.contains("2001:db9::5"));
    EXPECT_TRUE(proxies.contains("::1"));
    EXPECT_TRUE(proxies.contains("::ffff:10.9.9.9"));  // IPv4-mapped: its IPv4 address
    EXPECT_FALSE(proxies.contains("not an address"));
    EXPECT_TRUE(common::Networks::parse("").empty());
    EXPECT_FALSE(common::Networks::parse("").contains("127.0.0.1"));
    EXPECT_TRUE(common::Networks::parse("0.0.0.0/0").contains("203.0.113.9"));
    const auto refusal = [](const std::string& list) -> std::string {
        try {
            common::Networks::parse(list);
        } catch (const std::invalid_argument& error) {
            return error.what();
        }
        return "accepted";
    };
    EXPECT_EQ(refusal("10.0.0.1/8"), "'10.0.0.1/8' has bits set past its prefix: write 10.0.0.0/8");
    EXPECT_EQ(refusal("proxy.internal"),
              "'proxy.internal' is not an IP address or network such as 10.0.0.0/8");
    EXPECT_EQ(refusal("10.0.0.0/33"), "'10.0.0.0/33' is not an IPv4 network such as 10.0.0.0/8");
    EXPECT_EQ(refusal("2001:db8::/129"),
              "'2001:db8::/129' is not an IPv6 network such as 2001:db8::/32");
}
