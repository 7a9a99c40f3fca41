#include "funnelhouse/http/limits.hpp"

#include <gtest/gtest.h>

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
