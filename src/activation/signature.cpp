#include "funnelhouse/activation/signature.hpp"

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/common/sha256.hpp"

namespace funnelhouse::activation {

std::optional<std::string> webhook_key(std::string_view secret) {
    constexpr std::string_view kPrefix = "whsec_";
    if (secret.substr(0, kPrefix.size()) != kPrefix)
        return secret.empty() ? std::nullopt : std::optional<std::string>(secret);
    auto key = common::base64_decode(secret.substr(kPrefix.size()));
    if (!key || key->empty()) return std::nullopt;
    return key;
}

std::string webhook_signature(std::string_view key, std::string_view id, std::int64_t timestamp,
                              std::string_view body) {
    std::string content;
    content.reserve(id.size() + body.size() + 24);
    content += id;
    content += '.';
    content += std::to_string(timestamp);
    content += '.';
    content += body;
    const auto mac = common::hmac_sha256(key, content);
    return "v1," + common::base64_encode(
                       std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

}  // namespace funnelhouse::activation
