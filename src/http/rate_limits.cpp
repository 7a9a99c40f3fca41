#include "funnelhouse/http/rate_limits.hpp"

namespace funnelhouse::http {
RateLimits::RateLimits(const config::Config& config, const ingest::WriteKeyRing& keys)
    : by_address_{std::make_unique<RateLimiter>(
                      RateLimit{config.rate_limit_address, config.rate_limit_address_burst},
                      config.rate_limit_tracked),
                  "FUNNELHOUSE_RATE_LIMIT_ADDRESS", config.rate_limit_address},
      by_key_{std::make_unique<RateLimiter>(
                  RateLimit{config.rate_limit_key, config.rate_limit_key_burst},
                  config.rate_limit_tracked),
              "FUNNELHOUSE_RATE_LIMIT_KEY", config.rate_limit_key} {
    for (const auto& key : keys.keys()) {
        if (const auto& own = key.rate_limit)
            key_own_.emplace(
                key.name,
                Limited{std::make_unique<RateLimiter>(RateLimit{own->per_second, own->burst}, 1),
                        "rate_limit of '" + key.name + "' in the keys file", own->per_second});
        if (const auto& per_address = key.address_rate_limit)
            key_address_.emplace(
                key.name, Limited{std::make_unique<RateLimiter>(
                                      RateLimit{per_address->per_second, per_address->burst},
                                      config.rate_limit_tracked),
                                  "address_rate_limit of '" + key.name + "' in the keys file",
                                  per_address->per_second});
    }
}

std::optional<RateLimits::Refusal> RateLimits::take_address(const ingest::WriteKey* key,
                                                            const std::string& address,
                                                            Clock::time_point now) {
    if (key && key->source == common::Source::server) return std::nullopt;
    const auto own = key ? key_address_.find(key->name) : key_address_.end();
    const auto& limited = own == key_address_.end() ? by_address_ : own->second;
    const auto wait = limited.limiter->take(address, now);
    if (!wait) return std::nullopt;
    return Refusal{*wait,
                   own == key_address_.end()
                       ? "this client address"
                       : "this client address with write key '" + key->name + "'",
                   limited.setting, limited.per_second, "rate_address"};
}

std::optional<RateLimits::Refusal> RateLimits::take_key(const ingest::WriteKey& key,
                                                        Clock::time_point now) {
    const auto own = key_own_.find(key.name);
    const auto& limited = own == key_own_.end() ? by_key_ : own->second;
    const auto wait = limited.limiter->take(key.name, now);
    if (!wait) return std::nullopt;
    return Refusal{*wait, "write key '" + key.name + "'", limited.setting, limited.per_second,
                   "rate_key"};
}

}  // namespace funnelhouse::http
