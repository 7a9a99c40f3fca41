#pragma once

#include <system_error>

namespace funnelhouse::loader {

// Why a request waiting for its events to be loaded (the `loaded`
// acknowledgement mode) was answered before they were. None of these loses
// anything: the events stay in the spool (or its quarantine).
enum class errc {
    shutting_down = 1,     // the server stopped before they were loaded
    database_unavailable,  // PostgreSQL stayed unreachable for the load timeout
    load_failed,           // PostgreSQL refused the rows for good (quarantined)
};

const std::error_category& loader_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), loader_category()};
}

}  // namespace funnelhouse::loader

template <>
struct std::is_error_code_enum<funnelhouse::loader::errc> : std::true_type {};
