#pragma once

#include <string>
#include <string_view>

#include "funnelhouse/common/time.hpp"

namespace funnelhouse::common {

// One structured log line: {"time":"...Z","level":"info","message":"..."}
// and a line feed. Bytes that are not UTF-8 are replaced, so every line is
// valid JSON whatever the message holds.
std::string json_log_line(timestamp time, std::string_view level, std::string_view message);

// Points spdlog's default logger at stderr with the given level (trace ...
// off) and format (json: json_log_line; text: for a person at a terminal).
void setup_logging(const std::string& level, bool json);

}  // namespace funnelhouse::common
