#pragma once

#include <string>
#include <string_view>

namespace funnelhouse::common {

// `text` without the ASCII whitespace (space, tab, CR, LF, FF, VT) around it.
std::string trim(std::string_view text);

// A CSV field (RFC 4180): as it is, or quoted (quotes doubled) when it holds
// a comma, a quote or a line break.
std::string csv_field(std::string_view text);

}  // namespace funnelhouse::common
