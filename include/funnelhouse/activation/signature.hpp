#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace funnelhouse::activation {

// Webhook deliveries are signed as the Standard Webhooks specification
// describes: each carries `webhook-id` (the idempotency key: the same on
// every retry), `webhook-timestamp` (Unix seconds) and `webhook-signature`,
// "v1," then the base64 of HMAC-SHA256 over "<id>.<timestamp>.<body>".

// The signing key of a secret written as the specification shows it,
// "whsec_" then the key in base64; nullopt when that base64 is not valid or
// the key is empty. A secret without the prefix is the key's bytes.
std::optional<std::string> webhook_key(std::string_view secret);

// The `webhook-signature` header of one delivery.
std::string webhook_signature(std::string_view key, std::string_view id, std::int64_t timestamp,
                              std::string_view body);

}  // namespace funnelhouse::activation
