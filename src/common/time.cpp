#include "funnelhouse/common/time.hpp"

#include <cstdio>

namespace funnelhouse::common {
namespace {

bool read_digits(std::string_view text, std::size_t& pos, int count, int& value) {
    if (pos + count > text.size()) return false;
    value = 0;
    for (int i = 0; i < count; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    pos += count;
    return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
}

struct DateTime {
    int year, month, day, hour, minute, second;
};

// YYYY-MM-DD, then 'T', 't' or ' ', then hh:mm:ss.
bool read_date_time(std::string_view text, std::size_t& pos, DateTime& at) {
    if (!read_digits(text, pos, 4, at.year) || !expect(text, pos, '-') ||
        !read_digits(text, pos, 2, at.month) || !expect(text, pos, '-') ||
        !read_digits(text, pos, 2, at.day))
        return false;
    if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' '))
        return false;
    ++pos;
    if (!read_digits(text, pos, 2, at.hour) || !expect(text, pos, ':') ||
        !read_digits(text, pos, 2, at.minute) || !expect(text, pos, ':') ||
        !read_digits(text, pos, 2, at.second))
        return false;
    // A leap second (:60) is folded into the next second, as PostgreSQL does.
    return at.hour <= 23 && at.minute <= 59 && at.second <= 60;
}

// An optional fraction of a second: '.' and at least one digit; digits
// past the sixth are dropped.
bool read_fraction(std::string_view text, std::size_t& pos, std::int64_t& micros) {
    if (pos >= text.size() || text[pos] != '.') return true;
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (digits < 6) micros = micros * 10 + (text[pos] - '0');
        ++digits;
        ++pos;
    }
    for (int i = digits; i < 6; ++i) micros *= 10;
    return digits > 0;
}

// An optional offset: 'Z', 'z', or a sign and hh[:]mm, in minutes east.
bool read_offset(std::string_view text, std::size_t& pos, int& offset_minutes) {
    if (pos >= text.size()) return true;
    const char sign = text[pos++];
    if (sign == 'Z' || sign == 'z') return true;
    if (sign != '+' && sign != '-') return false;
    int offset_hours, offset_mins;
    if (!read_digits(text, pos, 2, offset_hours)) return false;
    if (pos < text.size() && text[pos] == ':') ++pos;
    if (!read_digits(text, pos, 2, offset_mins)) return false;
    if (offset_hours > 23 || offset_mins > 59) return false;
    offset_minutes = (offset_hours * 60 + offset_mins) * (sign == '-' ? -1 : 1);
    return true;
}

}  // namespace

std::optional<timestamp> parse_timestamp(std::string_view text) {
    using namespace std::chrono;
    std::size_t pos = 0;
    DateTime at;
    std::int64_t micros = 0;
    int offset_minutes = 0;
    if (!read_date_time(text, pos, at) || !read_fraction(text, pos, micros) ||
        !read_offset(text, pos, offset_minutes) || pos != text.size())
        return std::nullopt;
    const year_month_day date{std::chrono::year{at.year}, std::chrono::month{unsigned(at.month)},
                              std::chrono::day{unsigned(at.day)}};
    if (!date.ok()) return std::nullopt;
    const auto midnight = time_point_cast<microseconds>(sys_days{date});
    const timestamp result = midnight + hours{at.hour} + minutes{at.minute} +
                             seconds{at.second} + microseconds{micros} - minutes{offset_minutes};
    // After the offset the instant must still have a four-digit year, or it
    // could not be written back in this format.
    constexpr auto kFirst = sys_days{std::chrono::year{1} / 1 / 1};
    constexpr auto kEnd = sys_days{std::chrono::year{10000} / 1 / 1};
    if (result < kFirst || result >= kEnd) return std::nullopt;
    return result;
}

std::string format_timestamp(timestamp value) {
    using namespace std::chrono;
    const auto day_start = floor<days>(value);
    const year_month_day date{day_start};
    const hh_mm_ss<microseconds> time{value - day_start};
    const int year = static_cast<int>(date.year());
    if (year < 0 || year > 9999) {
        char buffer[48];
        std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", year,
                      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                      static_cast<int>(time.hours().count()),
                      static_cast<int>(time.minutes().count()),
                      static_cast<int>(time.seconds().count()),
                      static_cast<long long>(time.subseconds().count()));
        return buffer;
    }
    // The loader formats several times per event: digits by hand, not printf.
    std::string out = "0000-00-00T00:00:00.000000Z";
    const auto put = [&out](std::size_t end, long long number, int digits) {
        for (int i = 0; i < digits; ++i, number /= 10)
            out[end - static_cast<std::size_t>(i)] = static_cast<char>('0' + number % 10);
    };
    put(3, year, 4);
    put(6, static_cast<unsigned>(date.month()), 2);
    put(9, static_cast<unsigned>(date.day()), 2);
    put(12, time.hours().count(), 2);
    put(15, time.minutes().count(), 2);
    put(18, time.seconds().count(), 2);
    put(25, time.subseconds().count(), 6);
    return out;
}

timestamp now() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now());
}

}  // namespace funnelhouse::common
