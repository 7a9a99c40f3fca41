#include "funnelhouse/common/gzip.hpp"

#include <zlib.h>

#include <array>

namespace funnelhouse::common {

Inflated inflate_bounded(std::string_view compressed, std::size_t limit) {
    Inflated result;
    z_stream stream{};
    // 15 window bits + 32: detect gzip or zlib headers automatically.
    if (inflateInit2(&stream, 15 + 32) != Z_OK) {
        result.status = InflateStatus::corrupt;
        return result;
    }
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    stream.avail_in = static_cast<uInt>(compressed.size());
    std::array<char, 16 * 1024> chunk{};
    for (;;) {
        stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
        stream.avail_out = static_cast<uInt>(chunk.size());
        const int rc = inflate(&stream, Z_NO_FLUSH);
        const std::size_t produced = chunk.size() - stream.avail_out;
        if (result.bytes.size() + produced > limit) {
            result.status = InflateStatus::too_large;
            break;
        }
        result.bytes.append(chunk.data(), produced);
        if (rc == Z_STREAM_END) {
            if (stream.avail_in == 0) break;
            // Another gzip member follows.
            if (inflateReset(&stream) != Z_OK) {
                result.status = InflateStatus::corrupt;
                break;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && stream.avail_in == 0) {  // input ended mid-stream
            result.status = InflateStatus::corrupt;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            result.status = InflateStatus::corrupt;
            break;
        }
    }
    inflateEnd(&stream);
    if (result.status != InflateStatus::ok) result.bytes.clear();
    return result;
}

std::string gzip_compress(std::string_view bytes) {
    z_stream stream{};
    deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out;
    out.resize(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 32);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    stream.avail_in = static_cast<uInt>(bytes.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

}  // namespace funnelhouse::common
