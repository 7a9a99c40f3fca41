#include "funnelhouse/db/copy_text.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace funnelhouse::db {

void CopyRow::separate() {
    if (!first_) line_.push_back('\t');
    first_ = false;
}

namespace {

// The escape of a byte COPY's text format gives a meaning to, else null.
const char* escape_of(char c) {
    switch (c) {
        case '\\':
            return "\\\\";
        case '\t':
            return "\\t";
        case '\n':
            return "\\n";
        case '\r':
            return "\\r";
        default:
            return nullptr;
    }
}

// Where the first byte at or after `from` that needs an escape is, or, with
// SSE2, at least where the 16-byte block holding it starts (the caller
// checks byte by byte from there): a whole block without one is skipped in
// a few instructions.
std::size_t skip_plain(std::string_view value, std::size_t from) {
#if defined(__SSE2__)
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i tab = _mm_set1_epi8('\t');
    const __m128i newline = _mm_set1_epi8('\n');
    const __m128i carriage_return = _mm_set1_epi8('\r');
    while (from + 16 <= value.size()) {
        const __m128i bytes =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(value.data() + from));
        const __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(bytes, backslash), _mm_cmpeq_epi8(bytes, tab)),
            _mm_or_si128(_mm_cmpeq_epi8(bytes, newline), _mm_cmpeq_epi8(bytes, carriage_return)));
        if (_mm_movemask_epi8(special) != 0) return from;
        from += 16;
    }
#endif
    return from;
}

}  // namespace

// Runs of ordinary bytes are appended whole: most values hold no byte to
// escape at all.
void CopyRow::field(std::string_view value) {
    separate();
    std::size_t run = 0;
    for (std::size_t i = skip_plain(value, 0); i < value.size(); ++i) {
        const char* escaped = escape_of(value[i]);
        if (!escaped) continue;
        line_.append(value, run, i - run);
        line_ += escaped;
        run = i + 1;
        i = skip_plain(value, run) - 1;  // the loop's ++i lands on it
    }
    line_.append(value, run, value.size() - run);
}

void CopyRow::null() {
    separate();
    line_ += "\\N";
}

void CopyRow::field_or_null(const std::optional<std::string>& value) {
    if (value)
        field(std::string_view{*value});
    else
        null();
}

}  // namespace funnelhouse::db
