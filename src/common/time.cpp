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

}  // namespace

std::optional<timestamp> parse_timestamp(std::string_view text) {
    using namespace std::chrono;
    std::size_t pos = 0;
    int year, month, day, hour, minute, second;
    if (!read_digits(text, pos, 4, year) || !expect(text, pos, '-') ||
        !read_digits(text, pos, 2, month) || !expect(text, pos, '-') ||
        !read_digits(text, pos, 2, day))
        return std::nullopt;
    if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' '))
        return std::nullopt;
    ++pos;
    if (!read_digits(text, pos, 2, hour) || !expect(text, pos, ':') ||
        !read_digits(text, pos, 2, minute) || !expect(text, pos, ':') ||
        !read_digits(text, pos, 2, second))
        return std::nullopt;
    // A leap second (:60) is folded into the next second, as PostgreSQL does.
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;

    std::int64_t micros = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 6) micros = micros * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (int i = digits; i < 6; ++i) micros *= 10;
    }

    int offset_minutes = 0;
    if (pos < text.size()) {
        const char sign = text[pos];
        if (sign == 'Z' || sign == 'z') {
            ++pos;
        } else if (sign == '+' || sign == '-') {
            ++pos;
            int offset_hours, offset_mins;
            if (!read_digits(text, pos, 2, offset_hours)) return std::nullopt;
            if (pos < text.size() && text[pos] == ':') ++pos;
            if (!read_digits(text, pos, 2, offset_mins)) return std::nullopt;
            if (offset_hours > 23 || offset_mins > 59) return std::nullopt;
            offset_minutes = (offset_hours * 60 + offset_mins) * (sign == '-' ? -1 : 1);
        } else {
            return std::nullopt;
        }
    }
    if (pos != text.size()) return std::nullopt;

    const year_month_day date{std::chrono::year{year}, std::chrono::month{unsigned(month)},
                              std::chrono::day{unsigned(day)}};
    if (!date.ok()) return std::nullopt;
    const auto midnight = time_point_cast<microseconds>(sys_days{date});
    const timestamp result = midnight + hours{hour} + minutes{minute} + seconds{second} +
                             microseconds{micros} - minutes{offset_minutes};
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
