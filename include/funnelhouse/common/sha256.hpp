#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace funnelhouse::common {

// SHA-256 (FIPS 180-4). Used for migration checksums and keyed hashes of
// personal data; small enough to keep
// the dependency list to what the project already has.
std::array<std::uint8_t, 32> sha256(std::string_view bytes);

std::string sha256_hex(std::string_view bytes);

// HMAC-SHA256 (RFC 2104) as lowercase hex: a keyed hash, so that whoever
// reads a hashed value cannot confirm a guess without the key.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

}  // namespace funnelhouse::common
