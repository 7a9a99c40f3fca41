#pragma once

#include <system_error>

namespace funnelhouse::loader {

// Why the loader could not take or store a request's events. None of these
// means something accepted was lost: the request was not acknowledged.
enum class errc {
    overloaded = 1,        // the queue is full
    shutting_down,         // stop() was called
    database_unavailable,  // PostgreSQL stayed unreachable for the load timeout
    load_failed,           // PostgreSQL refused the rows for good
};

const std::error_category& loader_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), loader_category()};
}

}  // namespace funnelhouse::loader

template <>
struct std::is_error_code_enum<funnelhouse::loader::errc> : std::true_type {};
