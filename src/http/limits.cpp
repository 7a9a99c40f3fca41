#include "funnelhouse/http/limits.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cmath>

namespace funnelhouse::http {

RateLimiter::RateLimiter(RateLimit limit, std::size_t max_tracked)
    : limit_{limit.per_second, std::max(limit.burst, 1.0)},
      max_tracked_(std::max<std::size_t>(max_tracked, 1)),
      overflow_{limit_.burst, Clock::time_point{}} {}

std::optional<std::chrono::seconds> RateLimiter::take_from(Bucket& bucket,
                                                           Clock::time_point now) const {
    const double elapsed =
        std::max(0.0, std::chrono::duration<double>(now - bucket.updated).count());
    bucket.tokens = std::min(limit_.burst, bucket.tokens + elapsed * limit_.per_second);
    bucket.updated = std::max(bucket.updated, now);
    if (bucket.tokens >= 1.0) {
        bucket.tokens -= 1.0;
        return std::nullopt;
    }
    // At most a day: a tiny configured rate must not overflow the cast.
    const double wait = std::min((1.0 - bucket.tokens) / limit_.per_second, 86'400.0);
    return std::chrono::seconds{std::max<long long>(1, static_cast<long long>(std::ceil(wait)))};
}

void RateLimiter::forget_full(Clock::time_point now) {
    const double refill_seconds = limit_.burst / limit_.per_second;
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        const double idle = std::chrono::duration<double>(now - it->second.updated).count();
        if (it->second.tokens + idle * limit_.per_second >= limit_.burst || idle >= refill_seconds)
            it = buckets_.erase(it);
        else
            ++it;
    }
}

std::optional<std::chrono::seconds> RateLimiter::take(std::string_view key,
                                                      Clock::time_point now) {
    if (!limit_.enabled()) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(std::string{key});
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_tracked_) forget_full(now);
        if (buckets_.size() >= max_tracked_) return take_from(overflow_, now);
        it = buckets_.emplace(std::string{key}, Bucket{limit_.burst, now}).first;
    }
    return take_from(it->second, now);
}

std::size_t RateLimiter::tracked() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

ConnectionLimiter::ConnectionLimiter(std::size_t max_total, std::size_t max_per_address)
    : max_total_(max_total), max_per_address_(max_per_address) {}

ConnectionLimiter::Verdict ConnectionLimiter::open(const std::string& address) {
    std::lock_guard lock(mutex_);
    if (total_ >= max_total_) return Verdict::too_many;
    auto& count = per_address_[address];
    if (count >= max_per_address_) {
        if (count == 0) per_address_.erase(address);
        return Verdict::too_many_from_address;
    }
    ++count;
    ++total_;
    return Verdict::admitted;
}

void ConnectionLimiter::close(const std::string& address) {
    std::lock_guard lock(mutex_);
    const auto it = per_address_.find(address);
    if (it == per_address_.end()) return;
    --total_;
    if (--it->second == 0) per_address_.erase(it);
}

std::size_t ConnectionLimiter::open_connections() const {
    std::lock_guard lock(mutex_);
    return total_;
}

std::optional<std::string> last_forwarded_address(std::string_view header) {
    const auto comma = header.rfind(',');
    std::string_view last = comma == std::string_view::npos ? header : header.substr(comma + 1);
    while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
    while (!last.empty() && (last.back() == ' ' || last.back() == '\t')) last.remove_suffix(1);
    if (last.empty() || last.size() > 45) return std::nullopt;
    const std::string text{last};
    unsigned char bytes[16];
    if (inet_pton(AF_INET, text.c_str(), bytes) != 1 && inet_pton(AF_INET6, text.c_str(), bytes) != 1)
        return std::nullopt;
    return text;
}

}  // namespace funnelhouse::http
