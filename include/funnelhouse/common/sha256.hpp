#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace funnelhouse::common {

// SHA-256 (FIPS 180-4). Used for migration checksums; small enough to keep
// the dependency list to what the project already has.
std::array<std::uint8_t, 32> sha256(std::string_view bytes);

std::string sha256_hex(std::string_view bytes);

}  // namespace funnelhouse::common
