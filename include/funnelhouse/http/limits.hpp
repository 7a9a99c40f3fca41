#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace funnelhouse::http {

using Clock = std::chrono::steady_clock;

// A token bucket: `per_second` tokens flow in, at most `burst` are kept.
// per_second == 0 turns the limit off.
struct RateLimit {
    double per_second = 0;
    double burst = 0;
    bool enabled() const { return per_second > 0; }
};

// One bucket per key (a write key's name, a client address's prefix). The
// number of buckets is bounded: when `max_tracked` keys are tracked, buckets
// that have refilled completely are forgotten (they would grant the same as a
// new one); when none has, the new keys share one overflow bucket, so that a
// flood from ever new addresses cannot grow memory and still gets limited.
// Time is passed in, so the arithmetic is tested without waiting.
class RateLimiter {
  public:
    RateLimiter(RateLimit limit, std::size_t max_tracked);

    // Takes one token for `key`. nullopt when granted; otherwise the whole
    // seconds (at least 1) until the next token, for Retry-After.
    std::optional<std::chrono::seconds> take(std::string_view key, Clock::time_point now);

    std::size_t tracked() const;
    bool enabled() const { return limit_.enabled(); }

  private:
    struct Bucket {
        double tokens;
        Clock::time_point updated;
    };
    std::optional<std::chrono::seconds> take_from(Bucket& bucket, Clock::time_point now) const;
    void forget_full(Clock::time_point now);

    const RateLimit limit_;
    const std::size_t max_tracked_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Bucket> buckets_;
    Bucket overflow_;
};

// Concurrent connections, in all and per client address. A refused
// connection is closed at once: it never costs a session.
class ConnectionLimiter {
  public:
    ConnectionLimiter(std::size_t max_total, std::size_t max_per_address);

    enum class Verdict { admitted, too_many, too_many_from_address };
    Verdict open(const std::string& address);
    void close(const std::string& address);

    std::size_t open_connections() const;

  private:
    const std::size_t max_total_;
    const std::size_t max_per_address_;
    mutable std::mutex mutex_;
    std::size_t total_ = 0;
    std::unordered_map<std::string, std::size_t> per_address_;
};

// The last address of an X-Forwarded-For header (the one the trusted proxy
// in front added); nullopt when the header holds no address.
std::optional<std::string> last_forwarded_address(std::string_view header);

}  // namespace funnelhouse::http
