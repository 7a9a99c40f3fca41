#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace funnelhouse::common {

// Event times are kept to the microsecond, PostgreSQL's timestamptz precision.
using timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// Parses an ISO 8601 / RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.fraction]`
// followed by `Z`, `+HH:MM`, `-HH:MM`, `+HHMM` or nothing (read as UTC).
// Fractions beyond microseconds are truncated. Returns nullopt for anything
// else, including impossible dates such as February 30.
std::optional<timestamp> parse_timestamp(std::string_view text);

// Formats as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, which PostgreSQL reads exactly.
std::string format_timestamp(timestamp value);

timestamp now();

}  // namespace funnelhouse::common
