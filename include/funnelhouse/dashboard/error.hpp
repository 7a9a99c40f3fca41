#pragma once

#include <system_error>

namespace funnelhouse::dashboard {

// Why a dashboard request got no numbers.
enum class errc {
    invalid_filter = 1,    // a bad query string: 400
    busy,                  // FUNNELHOUSE_DASHBOARD_QUEUE queries already wait: 503
    database_unavailable,  // no connection to PostgreSQL: 503
    timed_out,             // over FUNNELHOUSE_DASHBOARD_TIMEOUT_MS: 503
    query_failed,          // PostgreSQL refused the query (for example not migrated): 500
    page_missing,          // the built page is not where FUNNELHOUSE_DASHBOARD_DIR says: 404
    token_needed,          // data asked of a non-loopback listener without an admin token: 403
};

const std::error_category& dashboard_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), dashboard_category()};
}

}  // namespace funnelhouse::dashboard

template <>
struct std::is_error_code_enum<funnelhouse::dashboard::errc> : std::true_type {};
