#pragma once

#include <system_error>

namespace funnelhouse::spool {

// Why the spool refused a request's records. None of these loses anything
// already acknowledged: the refused request was not written at all.
enum class errc {
    spool_full = 1,  // the spool holds FUNNELHOUSE_SPOOL_MAX_BYTES
    disk_full,       // free disk would fall below FUNNELHOUSE_SPOOL_MIN_FREE_BYTES
    write_failed,    // the disk refused the write or the sync
    shutting_down,   // close() was called
    record_too_large,  // the encoded request exceeds the spool's record limit
};

const std::error_category& spool_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), spool_category()};
}

}  // namespace funnelhouse::spool

template <>
struct std::is_error_code_enum<funnelhouse::spool::errc> : std::true_type {};
