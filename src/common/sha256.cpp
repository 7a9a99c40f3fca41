#include "funnelhouse/common/sha256.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace funnelhouse::common {
namespace {

const unsigned char* bytes_of(std::string_view text) {
    return reinterpret_cast<const unsigned char*>(text.data());
}

std::string hex(const std::array<std::uint8_t, 32>& digest) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(digest.size() * 2);
    for (const auto byte : digest) {
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0x0f];
    }
    return out;
}

}  // namespace

std::array<std::uint8_t, 32> sha256(std::string_view bytes) {
    std::array<std::uint8_t, 32> digest{};
    SHA256(bytes_of(bytes), bytes.size(), digest.data());
    return digest;
}

std::string sha256_hex(std::string_view bytes) { return hex(sha256(bytes)); }

std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message) {
    std::array<std::uint8_t, 32> digest{};
    unsigned int size = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes_of(message),
              message.size(), digest.data(), &size) ||
        size != digest.size())
        throw std::runtime_error("HMAC-SHA256 failed");
    return digest;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
    return hex(hmac_sha256(key, message));
}

}  // namespace funnelhouse::common
