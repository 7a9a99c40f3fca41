#include "funnelhouse/ingest/json_spans.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <nlohmann/json.hpp>

namespace funnelhouse::ingest {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_space(std::string_view text, std::size_t pos) {
    while (pos < text.size() && is_space(text[pos])) ++pos;
    return pos;
}

// The position of the first quote or backslash at or after `pos`, or the
// text's size; sixteen bytes at a time where the text has them.
std::size_t next_quote_or_backslash(std::string_view text, std::size_t pos) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    for (; pos + 16 <= text.size(); pos += 16) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + pos));
        const int found = _mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)));
        if (found) return pos + static_cast<std::size_t>(__builtin_ctz(found));
    }
#endif
    while (pos < text.size() && text[pos] != '"' && text[pos] != '\\') ++pos;
    return pos;
}

// pos at the opening quote; returns the position after the closing quote.
std::size_t skip_string(std::string_view text, std::size_t pos) {
    ++pos;
    while (true) {
        pos = next_quote_or_backslash(text, pos);
        if (pos >= text.size()) return text.size();
        if (text[pos] == '"') return pos + 1;
        pos += 2;  // an escape: the byte after the backslash is not a closing quote
    }
}

bool starts_number(char c) { return c == '-' || (c >= '0' && c <= '9'); }

std::size_t number_end(std::string_view text, std::size_t pos) {
    while (pos < text.size() && text[pos] != ',' && text[pos] != '}' && text[pos] != ']' &&
           !is_space(text[pos]))
        ++pos;
    return pos;
}

// The bytes a scan inside an array or object stops at: quotes, brackets
// and (when numbers are checked) the first byte of a number.
struct StopBytes {
    bool stop[256] = {};
    constexpr explicit StopBytes(bool numbers) {
        for (const char c : {'"', '{', '[', '}', ']'}) stop[static_cast<unsigned char>(c)] = true;
        if (numbers)
            for (const char c : {'-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'})
                stop[static_cast<unsigned char>(c)] = true;
    }
};
constexpr StopBytes kStructure{false};
constexpr StopBytes kStructureAndNumbers{true};

// Returns the position just after the value starting at pos. With `plain`,
// clears it when a number in the value does not print as sent.
std::size_t skip_value(std::string_view text, std::size_t pos, bool* plain = nullptr) {
    if (pos >= text.size()) return pos;
    const char first = text[pos];
    if (first == '"') return skip_string(text, pos);
    if (first == '{' || first == '[') {
        const auto& stops = plain ? kStructureAndNumbers : kStructure;
        std::size_t depth = 0;
        while (pos < text.size()) {
            const char c = text[pos];
            if (!stops.stop[static_cast<unsigned char>(c)]) {
                ++pos;
            } else if (c == '"') {
                pos = skip_string(text, pos);
            } else if (c == '{' || c == '[') {
                ++depth;
                ++pos;
            } else if (c == '}' || c == ']') {
                ++pos;
                if (--depth == 0) return pos;
            } else {
                const auto end = number_end(text, pos);
                if (*plain && !prints_as_sent(text.substr(pos, end - pos))) *plain = false;
                pos = end;
            }
        }
        return pos;
    }
    // number, true, false, null
    const auto end = number_end(text, pos);
    if (plain && starts_number(first) && !prints_as_sent(text.substr(pos, end - pos)))
        *plain = false;
    return end;
}

bool key_equals(std::string_view quoted_key, std::string_view member) {
    const auto inner = quoted_key.substr(1, quoted_key.size() - 2);
    if (inner.find('\\') == std::string_view::npos) return inner == member;
    const auto decoded = nlohmann::json::parse(quoted_key, nullptr, false);
    return decoded.is_string() && decoded.get_ref<const std::string&>() == member;
}

struct Member {
    std::string_view key;  // with its quotes
    std::size_t key_start;
    std::size_t value_start;
    std::size_t value_end;
    bool plain = true;
};

// The members of the top-level object, in order; nullopt when the text is not
// an object.
// The members of the object at `pos` (after spaces), in order; nullopt when
// there is no object there. `end`, if given, receives the position after it.
std::optional<std::vector<Member>> object_members(std::string_view text, bool check_numbers = false,
                                                  std::size_t pos = 0, std::size_t* end = nullptr) {
    pos = skip_space(text, pos);
    if (pos >= text.size() || text[pos] != '{') return std::nullopt;
    ++pos;
    std::vector<Member> members;
    members.reserve(16);
    while (true) {
        pos = skip_space(text, pos);
        if (pos >= text.size()) return std::nullopt;
        if (text[pos] == '}') break;
        if (text[pos] == ',') {
            ++pos;
            continue;
        }
        if (text[pos] != '"') return std::nullopt;
        Member member;
        member.key_start = pos;
        pos = skip_string(text, pos);
        member.key = text.substr(member.key_start, pos - member.key_start);
        pos = skip_space(text, pos);
        if (pos >= text.size() || text[pos] != ':') return std::nullopt;
        member.value_start = skip_space(text, pos + 1);
        member.value_end =
            skip_value(text, member.value_start, check_numbers ? &member.plain : nullptr);
        pos = member.value_end;
        members.push_back(member);
    }
    if (end) *end = pos + 1;
    return members;
}

std::vector<MemberSpan> spans_of(std::string_view text, const std::vector<Member>& members) {
    std::vector<MemberSpan> spans;
    spans.reserve(members.size());
    for (const auto& m : members)
        spans.push_back({m.key, text.substr(m.value_start, m.value_end - m.value_start), m.plain});
    return spans;
}

}  // namespace

bool prints_as_sent(std::string_view number) {
    const char* const first = number.data();
    const char* const last = first + number.size();
    if (number.find_first_of(".eE") == std::string_view::npos) {
        // An integer: read as a 64-bit one, printed as its digits ("-0" as 0).
        if (number == "-0") return false;
        std::int64_t signed_value = 0;
        std::uint64_t unsigned_value = 0;
        const auto read = number.front() == '-' ? std::from_chars(first, last, signed_value)
                                                : std::from_chars(first, last, unsigned_value);
        return read.ec == std::errc{} && read.ptr == last;
    }
    double value = 0;
    const auto read = std::from_chars(first, last, value);
    if (read.ec != std::errc{} || read.ptr != last) return false;
    // What nlohmann::json's dump writes for a double.
    char printed[64];
    const char* const end = nlohmann::detail::to_chars(printed, printed + sizeof printed, value);
    return std::string_view(printed, static_cast<std::size_t>(end - printed)) == number;
}

std::optional<std::vector<MemberSpan>> object_member_spans(std::string_view text) {
    const auto members = object_members(text, true);
    if (!members) return std::nullopt;
    return spans_of(text, *members);
}

namespace {

// The elements of the array at `pos` ('['), each message with its members
// (in one pass over its bytes); nullopt when the text ends early.
std::optional<std::vector<MessageSpans>> messages_in(std::string_view array, std::size_t pos) {
    std::vector<MessageSpans> messages;
    ++pos;
    while (true) {
        pos = skip_space(array, pos);
        if (pos >= array.size()) return std::nullopt;
        if (array[pos] == ']') return messages;
        if (array[pos] == ',') {
            ++pos;
            continue;
        }
        const auto start = pos;
        MessageSpans message;
        if (array[pos] == '{') {
            std::size_t object_end = pos;
            const auto members = object_members(array, true, pos, &object_end);
            if (!members) return std::nullopt;
            message.members = spans_of(array, *members);
            pos = object_end;
        } else {
            pos = skip_value(array, pos);
        }
        message.text = array.substr(start, pos - start);
        messages.push_back(std::move(message));
    }
}

}  // namespace

std::optional<std::vector<MessageSpans>> batch_message_spans(std::string_view body) {
    const auto members = object_members(body);
    if (!members) return std::nullopt;
    // Like the DOM parser, the last occurrence of a duplicated key wins.
    const Member* batch = nullptr;
    for (const auto& m : *members)
        if (key_equals(m.key, "batch")) batch = &m;
    if (!batch || body[batch->value_start] != '[') return std::nullopt;
    return messages_in(body.substr(0, batch->value_end), batch->value_start);
}

std::string without_member(std::string_view text, std::string_view member) {
    std::string out{text};
    // One occurrence per pass keeps the comma rule simple when a key repeats.
    for (;;) {
        const auto members = object_members(out);
        if (!members) return out;
        std::size_t i = 0;
        while (i < members->size() && !key_equals((*members)[i].key, member)) ++i;
        if (i == members->size()) return out;
        const auto& m = (*members)[i];
        // Take one separating comma with the member: the one after it, or for
        // the last member the one before it.
        if (i + 1 < members->size())
            out.erase(m.key_start, (*members)[i + 1].key_start - m.key_start);
        else if (i > 0)
            out.erase((*members)[i - 1].value_end, m.value_end - (*members)[i - 1].value_end);
        else
            out.erase(m.key_start, m.value_end - m.key_start);
    }
}

bool nests_deeper_than(std::string_view text, std::size_t limit) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

}  // namespace funnelhouse::ingest
