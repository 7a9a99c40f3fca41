#include "funnelhouse/http/error.hpp"
#include "funnelhouse/http/status.hpp"

#include <gtest/gtest.h>

#include "funnelhouse/ingest/error.hpp"
#include "funnelhouse/loader/error.hpp"
#include "funnelhouse/spool/error.hpp"

using namespace funnelhouse;

TEST(HttpStatus, OneMappingForEveryError) {
    EXPECT_EQ(http::http_status({}), 200u);
    EXPECT_EQ(http::http_status(ingest::errc::malformed_json), 400u);
    EXPECT_EQ(http::http_status(http::errc::malformed_http), 400u);
    EXPECT_EQ(http::http_status(ingest::errc::wrong_shape), 400u);
    EXPECT_EQ(http::http_status(ingest::errc::unknown_write_key), 401u);
    EXPECT_EQ(http::http_status(ingest::errc::missing_write_key), 401u);
    EXPECT_EQ(http::http_status(ingest::errc::not_found), 404u);
    EXPECT_EQ(http::http_status(http::errc::method_not_allowed), 405u);
    EXPECT_EQ(http::http_status(ingest::errc::event_too_large), 413u);
    EXPECT_EQ(http::http_status(ingest::errc::request_too_large), 413u);
    EXPECT_EQ(http::http_status(http::errc::headers_too_large), 431u);
    EXPECT_EQ(http::http_status(http::errc::internal), 500u);
    EXPECT_EQ(http::http_status(http::errc::admin_token_required), 401u);
    EXPECT_EQ(http::http_status(http::errc::rate_limited), 429u);
    EXPECT_EQ(http::http_status(http::errc::target_too_long), 414u);
    EXPECT_EQ(http::http_status(http::errc::not_found), 404u);
    EXPECT_EQ(http::http_status(spool::errc::spool_full), 503u);
    EXPECT_EQ(http::http_status(spool::errc::disk_full), 503u);
    EXPECT_EQ(http::http_status(spool::errc::write_failed), 503u);
    EXPECT_EQ(http::http_status(spool::errc::shutting_down), 503u);
    EXPECT_EQ(http::http_status(loader::errc::shutting_down), 503u);
    EXPECT_EQ(http::http_status(loader::errc::database_unavailable), 503u);
    EXPECT_EQ(http::http_status(loader::errc::load_failed), 500u);
    EXPECT_EQ(http::http_status(std::make_error_code(std::errc::io_error)), 500u);
}

// The "error" of an answer's body is the message of its code (docs/api.md):
// moving a code to HTTP's own category kept each one.
TEST(HttpStatus, HttpErrorsKeepTheirDocumentedNames) {
    EXPECT_EQ(std::error_code(http::errc::rate_limited).message(), "rate limit exceeded");
    EXPECT_EQ(std::error_code(http::errc::method_not_allowed).message(), "method not allowed");
    EXPECT_EQ(std::error_code(http::errc::admin_token_required).message(), "admin token required");
    EXPECT_EQ(std::error_code(http::errc::target_too_long).message(), "request target too long");
    EXPECT_EQ(std::error_code(http::errc::not_found).message(),
              std::error_code(ingest::errc::not_found).message());
}

TEST(HttpStatus, OnlyTemporaryRefusalsInviteARetry) {
    EXPECT_TRUE(http::worth_retrying(spool::errc::spool_full));
    EXPECT_TRUE(http::worth_retrying(loader::errc::database_unavailable));
    EXPECT_FALSE(http::worth_retrying(loader::errc::load_failed));
    EXPECT_FALSE(http::worth_retrying(ingest::errc::request_too_large));
}

TEST(HttpStatus, AFullSpoolAsksForALongerPauseThanABriefRefusal) {
    EXPECT_EQ(http::retry_after_seconds(spool::errc::spool_full), 5u);
    EXPECT_EQ(http::retry_after_seconds(spool::errc::disk_full), 5u);
    EXPECT_EQ(http::retry_after_seconds(loader::errc::database_unavailable), 1u);
}
