#include "funnelhouse/common/uuid.hpp"

#include <cstdint>
#include <random>

namespace funnelhouse::common {

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

    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(36, '-');
    int position = 0;
    auto put = [&](std::uint64_t word, int nibbles) {
        for (int i = nibbles - 1; i >= 0; --i) {
            if (position == 8 || position == 13 || position == 18 || position == 23) ++position;
            out[position++] = kHex[(word >> (4 * i)) & 15];
        }
    };
    put(high, 16);
    put(low, 16);
    return out;
}

}  // namespace funnelhouse::common
