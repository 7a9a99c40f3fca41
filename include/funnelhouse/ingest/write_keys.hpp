#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "funnelhouse/common/source.hpp"

namespace funnelhouse::ingest {

// A token bucket of the keys file: requests per second flow in, at most
// `burst` are kept. per_second 0 turns the limit off.
struct KeyRateLimit {
    double per_second = 0;
    double burst = 0;
};

struct WriteKey {
    std::string name;  // stored with each event; the key itself never is
    std::string key;
    common::Source source;
    // Browser keys: the page origins allowed to send with this key
    // ("https://shop.example"); empty means any origin, "*" likewise.
    std::vector<std::string> origins;
    // "rate_limit": the key's own bucket, instead of
    // FUNNELHOUSE_RATE_LIMIT_KEY and _BURST.
    std::optional<KeyRateLimit> rate_limit;
    // "address_rate_limit" (browser keys): each client address's bucket for
    // the requests with this key, instead of FUNNELHOUSE_RATE_LIMIT_ADDRESS
    // and _BURST. Server keys are not limited per address.
    std::optional<KeyRateLimit> address_rate_limit;

    bool allows_origin(std::string_view origin) const;
};

class WriteKeyRing {
  public:
    // The keys file is a JSON list of {"name","key","source"} objects, with
    // "origins", "rate_limit" and "address_rate_limit" where they apply.
    // Throws std::runtime_error naming the file and the offending entry.
    static WriteKeyRing load(const std::filesystem::path& file);
    static WriteKeyRing from_json_text(std::string_view text, std::string_view origin);

    const WriteKey* find(std::string_view key) const;
    // Whether some browser key accepts requests from this origin: decides
    // CORS answers before the key of a request is known (preflight).
    bool any_browser_key_allows(std::string_view origin) const;
    const std::vector<WriteKey>& keys() const { return keys_; }

  private:
    std::vector<WriteKey> keys_;
    std::unordered_map<std::string, std::size_t> by_key_;
};

// The write key of a request: HTTP Basic with the key as user name and an
// empty password (what Segment's SDKs send). nullopt when the header is
// absent or not Basic.
std::optional<std::string> write_key_from_authorization(std::string_view header);

}  // namespace funnelhouse::ingest
