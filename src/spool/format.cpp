#include "funnelhouse/spool/format.hpp"

#include <zlib.h>

#include <cstring>

namespace funnelhouse::spool {
namespace {

constexpr std::string_view kSegmentMagic = "FHSPOOL1";
constexpr std::string_view kRecordMagic = "FHRC";
constexpr std::string_view kPositionMagic = "FHPOS001";
constexpr std::uint8_t kRequestFormat = 1;

void put_u32(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_u64(std::string& out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const char* data) {
    std::uint32_t value = 0;
    for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(data[i]);
    return value;
}

std::uint64_t get_u64(const char* data) {
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(data[i]);
    return value;
}

std::uint32_t checksum(std::string_view first, std::string_view second = {}) {
    auto crc = ::crc32(0L, Z_NULL, 0);
    crc =
        ::crc32(crc, reinterpret_cast<const Bytef*>(first.data()), static_cast<uInt>(first.size()));
    if (!second.empty())
        crc = ::crc32(crc, reinterpret_cast<const Bytef*>(second.data()),
                      static_cast<uInt>(second.size()));
    return static_cast<std::uint32_t>(crc);
}

// The request codec: fixed-width integers, strings as length + bytes,
// optionals behind a presence byte.
class Writer {
  public:
    explicit Writer(std::string& out) : out_(out) {}
    void u8(std::uint8_t value) { out_.push_back(static_cast<char>(value)); }
    void u32(std::uint32_t value) { put_u32(out_, value); }
    void u64(std::uint64_t value) { put_u64(out_, value); }
    void time(common::timestamp value) {
        u64(static_cast<std::uint64_t>(value.time_since_epoch().count()));
    }
    void text(std::string_view value) {
        u32(static_cast<std::uint32_t>(value.size()));
        out_.append(value);
    }
    void maybe_text(const std::optional<std::string>& value) {
        u8(value ? 1 : 0);
        if (value) text(*value);
    }
    void maybe_time(const std::optional<common::timestamp>& value) {
        u8(value ? 1 : 0);
        if (value) time(*value);
    }
    // One field of a row, by its type (common/event.hpp describes the rows).
    void put(const std::string& value) { text(value); }
    void put(const std::optional<std::string>& value) { maybe_text(value); }
    void put(common::timestamp value) { time(value); }
    void put(const std::optional<common::timestamp>& value) { maybe_time(value); }
    void put(common::Source value) { u8(value == common::Source::server ? 1 : 0); }

  private:
    std::string& out_;
};

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }
    std::size_t remaining() const { return in_.size() - pos_; }

    std::uint8_t u8() {
        if (!need(1)) return 0;
        return static_cast<std::uint8_t>(in_[pos_++]);
    }
    std::uint32_t u32() {
        if (!need(4)) return 0;
        const auto value = get_u32(in_.data() + pos_);
        pos_ += 4;
        return value;
    }
    std::uint64_t u64() {
        if (!need(8)) return 0;
        const auto value = get_u64(in_.data() + pos_);
        pos_ += 8;
        return value;
    }
    common::timestamp time() {
        return common::timestamp{std::chrono::microseconds{static_cast<std::int64_t>(u64())}};
    }
    std::string text() {
        const auto size = u32();
        if (!need(size)) return {};
        std::string value(in_.substr(pos_, size));
        pos_ += size;
        return value;
    }
    std::optional<std::string> maybe_text() {
        const auto present = flag();
        if (!present) return std::nullopt;
        return text();
    }
    std::optional<common::timestamp> maybe_time() {
        if (!flag()) return std::nullopt;
        return time();
    }
    common::Source source() {
        const auto value = u8();
        if (value > 1) ok_ = false;
        return value == 1 ? common::Source::server : common::Source::browser;
    }
    void get(std::string& value) { value = text(); }
    void get(std::optional<std::string>& value) { value = maybe_text(); }
    void get(common::timestamp& value) { value = time(); }
    void get(std::optional<common::timestamp>& value) { value = maybe_time(); }
    void get(common::Source& value) { value = source(); }
    // A count of items that each take at least `min_item_bytes`: a count the
    // remaining bytes cannot hold is damage, caught before any allocation.
    std::size_t count(std::size_t min_item_bytes) {
        const auto value = u32();
        if (static_cast<std::uint64_t>(value) * min_item_bytes > remaining()) ok_ = false;
        return ok_ ? value : 0;
    }

  private:
    bool flag() {
        const auto value = u8();
        if (value > 1) ok_ = false;
        return ok_ && value == 1;
    }
    bool need(std::size_t bytes) {
        if (!ok_ || in_.size() - pos_ < bytes) {
            ok_ = false;
            return false;
        }
        return true;
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

// The fewest bytes a field of each type takes: a length, a presence byte, a
// time, the source byte.
struct MinimumBytes {
    std::size_t total = 0;
    void operator()(const char*, const char*, const std::string&) { total += 4; }
    template <typename T>
    void operator()(const char*, const char*, const std::optional<T>&) {
        total += 1;
    }
    void operator()(const char*, const char*, common::timestamp) { total += 8; }
    void operator()(const char*, const char*, common::Source) { total += 1; }
};

// The smallest encoded event and bad event: a count the remaining bytes
// cannot hold is damage, caught before any allocation.
std::size_t smallest_event() {
    MinimumBytes bytes;
    const common::Event empty;
    common::for_each_event_field(empty, bytes);
    return bytes.total;
}
std::size_t smallest_bad_event() {
    MinimumBytes bytes;
    const common::BadEvent empty;
    common::for_each_bad_event_field(empty, bytes);
    return bytes.total;
}

}  // namespace

std::string segment_header(std::uint64_t segment) {
    std::string out(kSegmentMagic);
    put_u64(out, segment);
    return out;
}

std::optional<std::uint64_t> parse_segment_header(std::string_view bytes) {
    if (bytes.size() < kSegmentHeaderBytes || bytes.substr(0, 8) != kSegmentMagic)
        return std::nullopt;
    return get_u64(bytes.data() + 8);
}

void append_record(std::string& out, std::string_view payload) {
    std::string length;
    put_u32(length, static_cast<std::uint32_t>(payload.size()));
    out.append(kRecordMagic);
    out.append(length);
    put_u32(out, checksum(length, payload));
    out.append(payload);
}

RecordCheck check_record(std::string_view bytes, std::size_t offset, std::size_t& size) {
    if (offset > bytes.size()) return RecordCheck::incomplete;
    const auto rest = bytes.substr(offset);
    // A partial header is incomplete only when what is there could still be
    // the start of a record.
    const auto magic = rest.substr(0, kRecordMagic.size());
    if (magic != kRecordMagic.substr(0, magic.size())) return RecordCheck::invalid;
    if (rest.size() < kRecordHeaderBytes) return RecordCheck::incomplete;
    const auto length = get_u32(rest.data() + 4);
    if (length > kMaxPayloadBytes) return RecordCheck::invalid;
    if (rest.size() - kRecordHeaderBytes < length) return RecordCheck::incomplete;
    const auto expected = get_u32(rest.data() + 8);
    if (checksum(rest.substr(4, 4), rest.substr(kRecordHeaderBytes, length)) != expected)
        return RecordCheck::invalid;
    size = kRecordHeaderBytes + length;
    return RecordCheck::ok;
}

std::string_view record_payload(std::string_view bytes, std::size_t offset, std::size_t size) {
    return bytes.substr(offset + kRecordHeaderBytes, size - kRecordHeaderBytes);
}

ScanResult scan_records(std::string_view bytes, std::size_t from) {
    ScanResult result;
    result.valid_end = std::min(from, bytes.size());
    std::size_t offset = result.valid_end;
    while (offset < bytes.size()) {
        std::size_t size = 0;
        if (check_record(bytes, offset, size) == RecordCheck::ok) {
            result.records.push_back({offset, size});
            offset += size;
            result.valid_end = offset;
            continue;
        }
        // Not a record here (or one cut short): look for the next intact
        // record after it. If there is one, the bytes between are damage in
        // the middle; if not, everything from here on is a torn tail.
        std::size_t next = offset + 1;
        bool found = false;
        for (;;) {
            const auto hit = bytes.find(kRecordMagic, next);
            if (hit == std::string_view::npos) break;
            std::size_t hit_size = 0;
            if (check_record(bytes, hit, hit_size) == RecordCheck::ok) {
                result.damaged.push_back({offset, hit - offset});
                offset = hit;
                found = true;
                break;
            }
            next = hit + 1;
        }
        if (!found) break;
    }
    return result;
}

std::string encode_position(Position position) {
    std::string out(kPositionMagic);
    put_u64(out, position.segment);
    put_u64(out, position.offset);
    put_u32(out, checksum(std::string_view(out).substr(kPositionMagic.size())));
    return out;
}

std::optional<Position> decode_position(std::string_view bytes) {
    if (bytes.size() != kPositionMagic.size() + 20 ||
        bytes.substr(0, kPositionMagic.size()) != kPositionMagic)
        return std::nullopt;
    const auto body = bytes.substr(kPositionMagic.size(), 16);
    if (checksum(body) != get_u32(bytes.data() + kPositionMagic.size() + 16)) return std::nullopt;
    return Position{get_u64(body.data()), get_u64(body.data() + 8)};
}

std::string encode_request(const SpooledRequest& request) {
    std::string out;
    std::size_t estimate = 32;
    for (const auto& event : request.events)
        estimate += 128 + event.properties.size() + event.context.size();
    for (const auto& bad : request.bad_events) estimate += 128 + bad.raw_event.size();
    out.reserve(estimate);
    Writer w(out);
    w.u8(kRequestFormat);
    w.u64(request.ticket);
    w.time(request.spooled_at);
    w.u32(static_cast<std::uint32_t>(request.events.size()));
    const auto put = [&w](const char*, const char*, const auto& value) { w.put(value); };
    for (const auto& e : request.events) common::for_each_event_field(e, put);
    w.u32(static_cast<std::uint32_t>(request.bad_events.size()));
    for (const auto& b : request.bad_events) common::for_each_bad_event_field(b, put);
    return out;
}

std::optional<SpooledRequest> decode_request(std::string_view payload) {
    Reader r(payload);
    if (r.u8() != kRequestFormat) return std::nullopt;
    SpooledRequest request;
    request.ticket = r.u64();
    request.spooled_at = r.time();
    static const auto kSmallestEvent = smallest_event();
    static const auto kSmallestBadEvent = smallest_bad_event();
    const auto get = [&r](const char*, const char*, auto& value) { r.get(value); };
    const auto events = r.count(kSmallestEvent);
    request.events.reserve(events);
    for (std::size_t i = 0; i < events && r.ok(); ++i)
        common::for_each_event_field(request.events.emplace_back(), get);
    const auto bad_events = r.count(kSmallestBadEvent);
    request.bad_events.reserve(bad_events);
    for (std::size_t i = 0; i < bad_events && r.ok(); ++i)
        common::for_each_bad_event_field(request.bad_events.emplace_back(), get);
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return request;
}

}  // namespace funnelhouse::spool
