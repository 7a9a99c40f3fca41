#pragma once

#include <system_error>

namespace funnelhouse::http {

// Failures of HTTP itself, before a request reaches a stage: its framing,
// its route and method, the admin token, the abuse limits. (What a stage
// refuses keeps its stage's own category; http/status maps them all.)
enum class errc {
    malformed_http = 1,
    headers_too_large,     // request line and headers over their limit: 431
    target_too_long,       // the request target over its limit: 414
    not_found,             // no such route
    method_not_allowed,    // 405 with Allow
    admin_token_required,  // an admin route without the admin token: 401
    rate_limited,          // over a token bucket: 429 with Retry-After
    internal,
};

const std::error_category& http_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), http_category()};
}

}  // namespace funnelhouse::http

template <>
struct std::is_error_code_enum<funnelhouse::http::errc> : std::true_type {};
