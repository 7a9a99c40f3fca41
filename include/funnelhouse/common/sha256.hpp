#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace funnelhouse::common {

// SHA-256 and HMAC-SHA256, from OpenSSL's libcrypto. Used for migration
// checksums, keyed hashes of personal data, the hashes ad platforms match
// on, and webhook signatures.
std::array<std::uint8_t, 32> sha256(std::string_view bytes);

std::string sha256_hex(std::string_view bytes);

// HMAC-SHA256 (RFC 2104): a keyed hash, so that whoever reads a hashed value
// cannot confirm a guess without the key.
std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message);

// The same as lowercase hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

}  // namespace funnelhouse::common
