#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/common/event.hpp"

// The bytes of the spool, as pure functions: no files here, so every case
// (torn tails, flipped bits, lengths pointing past the end) is tested and
// fuzzed without a disk.
namespace funnelhouse::spool {

// A segment file starts with a 16-byte header: "FHSPOOL1" and the segment's
// number (u64, little endian). Records follow back to back:
//   magic "FHRC" | payload length u32 | CRC-32 of length and payload u32 | payload
// All integers are little endian. The magic lets a reader find the next
// record after a damaged stretch; the checksum covers the length too, so a
// flipped length is caught rather than followed.
inline constexpr std::size_t kSegmentHeaderBytes = 16;
inline constexpr std::size_t kRecordHeaderBytes = 12;
// No request produces a record near this size (requests are limited to
// 64 MiB); a larger length is damage, not a record to allocate for.
inline constexpr std::size_t kMaxPayloadBytes = 256u * 1024 * 1024;

std::string segment_header(std::uint64_t segment);
// The segment number, or nullopt when `bytes` does not start with a header.
std::optional<std::uint64_t> parse_segment_header(std::string_view bytes);

// Appends one framed record to `out`.
void append_record(std::string& out, std::string_view payload);

enum class RecordCheck {
    ok,          // a whole record with a matching checksum
    incomplete,  // the bytes end before the record does
    invalid,     // not a record: wrong magic, impossible length or bad checksum
};
// Checks the record starting at `offset`; on ok, `size` is its framed size.
RecordCheck check_record(std::string_view bytes, std::size_t offset, std::size_t& size);
// The payload of a record that check_record found ok.
std::string_view record_payload(std::string_view bytes, std::size_t offset, std::size_t size);

struct RecordExtent {
    std::size_t offset = 0;
    std::size_t size = 0;  // header included
};
struct DamagedRange {
    std::size_t offset = 0;
    std::size_t bytes = 0;
};
// What a segment's bytes hold from `from` on.
struct ScanResult {
    std::vector<RecordExtent> records;  // every intact record, in order
    // Stretches that are not records but are followed by intact ones:
    // corruption in the middle.
    std::vector<DamagedRange> damaged;
    // The end of the last intact record (or `from`): bytes after it hold no
    // intact record and are a torn tail when valid_end < bytes.size().
    std::size_t valid_end = 0;
};
// Never reads outside `bytes`, whatever they hold.
ScanResult scan_records(std::string_view bytes, std::size_t from);

// The loader's position: the next byte to load, in a segment. Everything
// before it has been committed to PostgreSQL.
struct Position {
    std::uint64_t segment = 0;
    std::uint64_t offset = 0;
    friend auto operator<=>(const Position&, const Position&) = default;
};
// The position file's content: magic, the two numbers, a checksum.
std::string encode_position(Position position);
std::optional<Position> decode_position(std::string_view bytes);

// One request's rows as the spool keeps them.
struct SpooledRequest {
    // Identifies the waiting request in the `loaded` acknowledgement mode;
    // 0 when nobody waits.
    std::uint64_t ticket = 0;
    common::timestamp spooled_at{};
    std::vector<common::Event> events;
    std::vector<common::BadEvent> bad_events;
};
std::string encode_request(const SpooledRequest& request);
// nullopt when the payload is not an encoded request (it never throws).
std::optional<SpooledRequest> decode_request(std::string_view payload);

}  // namespace funnelhouse::spool
