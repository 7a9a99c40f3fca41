#include "funnelhouse/common/uuid.hpp"

#include <cstdint>
#include <random>

#include "funnelhouse/common/sha256.hpp"

namespace funnelhouse::common {

namespace {

std::string format_uuid(std::uint64_t high, std::uint64_t low) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(36, '-');
    int position = 0;
    auto put = [&](std::uint64_t word) {
        for (int i = 15; i >= 0; --i) {
            if (position == 8 || position == 13 || position == 18 || position == 23) ++position;
            out[position++] = kHex[(word >> (4 * i)) & 15];
        }
    };
    put(high);
    put(low);
    return out;
}

}  // namespace

std::string uuid_from_name(std::string_view name) {
    const auto digest = sha256(name);
    std::uint64_t high = 0, low = 0;
    for (int i = 0; i < 8; ++i) high = (high << 8) | digest[i];
    for (int i = 8; i < 16; ++i) low = (low << 8) | digest[i];
    high = (high & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000008000ULL;  // version 8
    low = (low & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;    // RFC 4122 variant
    return format_uuid(high, low);
}

std::string new_uuid() {
    // One generator per thread: no lock on the ingest path, and each io
    // thread is seeded from the OS entropy source once.
    thread_local std::mt19937_64 generator{[] {
        std::random_device device;
        std::seed_seq seed{device(), device(), device(), device(), device(), device()};
        return std::mt19937_64{seed};
    }()};
    std::uint64_t high = generator();
    std::uint64_t low = generator();
    high = (high & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
    low = (low & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;    // RFC 4122 variant
    return format_uuid(high, low);
}

}  // namespace funnelhouse::common
