#pragma once

#include <system_error>

namespace funnelhouse::http {

// The one place that decides which HTTP status answers an error, whichever
// stage reported it (ingest, spool, loader). Unknown errors are 500.
unsigned http_status(std::error_code error) noexcept;

// Whether a client should send the same request again later (503 answers
// carry Retry-After).
bool worth_retrying(std::error_code error) noexcept;

// The Retry-After value, in seconds, for an error worth retrying.
unsigned retry_after_seconds(std::error_code error) noexcept;

}  // namespace funnelhouse::http
