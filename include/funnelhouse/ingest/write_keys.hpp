#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "funnelhouse/common/source.hpp"

namespace funnelhouse::ingest {

struct WriteKey {
    std::string name;  // stored with each event; the key itself never is
    std::string key;
    common::Source source;
    // Browser keys: the page origins allowed to send with this key
    // ("https://shop.example"); empty means any origin, "*" likewise.
    std::vector<std::string> origins;

    bool allows_origin(std::string_view origin) const;
};

class WriteKeyRing {
  public:
    // The keys file is a JSON list of {"name","key","source"} objects.
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
