#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace funnelhouse::common {

// Decodes standard base64 (RFC 4648, with or without padding). Returns
// nullopt on any character outside the alphabet, so a malformed
// Authorization header is an authentication failure, never a crash.
std::optional<std::string> base64_decode(std::string_view text);

std::string base64_encode(std::string_view bytes);

}  // namespace funnelhouse::common
