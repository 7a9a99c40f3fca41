#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace funnelhouse::common {

enum class InflateStatus { ok, too_large, corrupt };

struct Inflated {
    InflateStatus status = InflateStatus::ok;
    std::string bytes;
};

// Decompresses a gzip (RFC 1952) or zlib (RFC 1950) stream, stopping as soon
// as the output would pass `limit` bytes, so a small body that inflates to
// gigabytes costs at most `limit` bytes of memory. Concatenated gzip members
// are read in turn.
Inflated inflate_bounded(std::string_view compressed, std::size_t limit);

// For tests and clients: gzip-compresses `bytes`.
std::string gzip_compress(std::string_view bytes);

}  // namespace funnelhouse::common
