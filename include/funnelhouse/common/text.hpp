#pragma once

#include <string>
#include <string_view>

namespace funnelhouse::common {

// `text` without the ASCII whitespace (space, tab, CR, LF, FF, VT) around it.
std::string trim(std::string_view text);

}  // namespace funnelhouse::common
