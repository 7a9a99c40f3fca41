#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "funnelhouse/config/config.hpp"
#include "funnelhouse/http/limits.hpp"
#include "funnelhouse/ingest/write_keys.hpp"

namespace funnelhouse::http {

// The ingest routes' rate limits (docs/security.md): a token bucket per
// client address for browser keys and for requests whose key is not known
// (a backend's server key speaks for many people from one address), and
// one per write key. A key's own limits in the keys file ("rate_limit",
// "address_rate_limit") replace the defaults for it.
class RateLimits {
  public:
    RateLimits(const config::Config& config, const ingest::WriteKeyRing& keys);

    // A request over a limit: what the 429 says, and the metric's label.
    struct Refusal {
        std::chrono::seconds wait;
        std::string who;      // "this client address", "write key 'web'"
        std::string setting;  // what sets the limit
        double per_second = 0;
        const char* limit = "";  // rate_address or rate_key
    };

    // One token of the address's bucket; `key` is null when the request
    // names no known key yet. Server keys take none.
    std::optional<Refusal> take_address(const ingest::WriteKey* key, const std::string& address,
                                        Clock::time_point now);
    // One token of the key's bucket.
    std::optional<Refusal> take_key(const ingest::WriteKey& key, Clock::time_point now);

  private:
    struct Limited {
        std::unique_ptr<RateLimiter> limiter;
        std::string setting;
        double per_second = 0;
    };
    Limited by_address_;
    Limited by_key_;
    std::unordered_map<std::string, Limited> key_address_;  // by key name
    std::unordered_map<std::string, Limited> key_own_;      // by key name
};

}  // namespace funnelhouse::http
