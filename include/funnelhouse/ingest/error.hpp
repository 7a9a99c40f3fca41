#pragma once

#include <system_error>

namespace funnelhouse::ingest {

// Request-level failures on the ingest path. Per-event problems are not
// errors: they become rejections stored in bad_events.
enum class errc {
    malformed_json = 1,
    wrong_shape,
    request_too_large,
    event_too_large,
    unsupported_encoding,
    origin_not_allowed,
    missing_write_key,
    unknown_write_key,
    not_found,         // a route that names no message type
    nesting_too_deep,  // JSON deeper than FUNNELHOUSE_MAX_JSON_DEPTH: 400
};

const std::error_category& ingest_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), ingest_category()};
}

}  // namespace funnelhouse::ingest

template <>
struct std::is_error_code_enum<funnelhouse::ingest::errc> : std::true_type {};
