#pragma once

#include <string>
#include <string_view>
#include <vector>

// UTF-8 checks that ingest (rejected messages) and the dashboard (query
// strings) both need.
namespace funnelhouse::common {

// Offsets of the bytes of `text` that are not part of a well-formed UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF), each byte of a broken sequence counted once.
std::vector<std::size_t> invalid_utf8_offsets(std::string_view text);

// `text` with each of those bytes replaced by U+FFFD: storable in a text
// column and still showing where the damage was.
std::string with_replacement_characters(std::string_view text);

}  // namespace funnelhouse::common
