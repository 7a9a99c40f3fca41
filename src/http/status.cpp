#include "funnelhouse/http/status.hpp"

#include "funnelhouse/dashboard/error.hpp"
#include "funnelhouse/http/error.hpp"
#include "funnelhouse/ingest/error.hpp"
#include "funnelhouse/loader/error.hpp"
#include "funnelhouse/spool/error.hpp"

namespace funnelhouse::http {

unsigned http_status(std::error_code error) noexcept {
    if (!error) return 200;
    if (error.category() == ingest::ingest_category()) {
        switch (static_cast<ingest::errc>(error.value())) {
            case ingest::errc::malformed_json:
            case ingest::errc::wrong_shape:
            case ingest::errc::nesting_too_deep:
                return 400;
            case ingest::errc::missing_write_key:
            case ingest::errc::unknown_write_key:
                return 401;
            case ingest::errc::origin_not_allowed:
                return 403;
            case ingest::errc::unsupported_encoding:
                return 415;
            case ingest::errc::not_found:
                return 404;
            case ingest::errc::request_too_large:
            case ingest::errc::event_too_large:
                return 413;
        }
    }
    if (error.category() == http_category()) {
        switch (static_cast<errc>(error.value())) {
            case errc::malformed_http:
                return 400;
            case errc::admin_token_required:
                return 401;
            case errc::not_found:
                return 404;
            case errc::method_not_allowed:
                return 405;
            case errc::target_too_long:
                return 414;
            case errc::rate_limited:
                return 429;
            case errc::headers_too_large:
                return 431;
            case errc::internal:
                return 500;
        }
    }
    if (error.category() == dashboard::dashboard_category()) {
        switch (static_cast<dashboard::errc>(error.value())) {
            case dashboard::errc::invalid_filter:
                return 400;
            case dashboard::errc::busy:
            case dashboard::errc::database_unavailable:
            case dashboard::errc::timed_out:
                return 503;
            case dashboard::errc::query_failed:
                return 500;
            case dashboard::errc::page_missing:
                return 404;
            case dashboard::errc::token_needed:
                return 403;
        }
    }
    if (error.category() == loader::loader_category()) {
        switch (static_cast<loader::errc>(error.value())) {
            case loader::errc::shutting_down:
            case loader::errc::database_unavailable:
                return 503;
            case loader::errc::load_failed:
                return 500;
        }
    }
    if (error.category() == spool::spool_category()) {
        switch (static_cast<spool::errc>(error.value())) {
            case spool::errc::spool_full:
            case spool::errc::disk_full:
            case spool::errc::write_failed:
            case spool::errc::shutting_down:
                return 503;
            case spool::errc::record_too_large:
                return 413;
        }
    }
    return 500;
}

bool worth_retrying(std::error_code error) noexcept {
    const auto status = http_status(error);
    return status == 503 || status == 429;
}

unsigned retry_after_seconds(std::error_code error) noexcept {
    // A full spool or disk empties at the loader's pace, not in a moment.
    if (error == spool::errc::spool_full || error == spool::errc::disk_full) return 5;
    return 1;
}

}  // namespace funnelhouse::http
