#include "funnelhouse/ingest/error.hpp"

#include <string>

namespace funnelhouse::ingest {
namespace {

class IngestCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "funnelhouse.ingest"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::malformed_json:
                return "body is not valid JSON";
            case errc::wrong_shape:
                return "body does not have the expected shape";
            case errc::malformed_http:
                return "malformed HTTP request";
            case errc::headers_too_large:
                return "request headers too large";
            case errc::request_too_large:
                return "request body too large";
            case errc::event_too_large:
                return "event too large";
            case errc::missing_write_key:
                return "missing write key";
            case errc::unknown_write_key:
                return "unknown write key";
            case errc::not_found:
                return "no such route";
            case errc::method_not_allowed:
                return "method not allowed";
            case errc::overloaded:
                return "server is overloaded";
            case errc::database_unavailable:
                return "database unavailable";
            case errc::load_failed:
                return "events could not be stored";
            case errc::shutting_down:
                return "server is shutting down";
        }
        return "unknown ingest error";
    }
};

}  // namespace

const std::error_category& ingest_category() noexcept {
    static const IngestCategory category;
    return category;
}

unsigned http_status(std::error_code error) noexcept {
    if (!error) return 200;
    if (error.category() != ingest_category()) return 500;
    switch (static_cast<errc>(error.value())) {
        case errc::malformed_json:
        case errc::malformed_http:
        case errc::wrong_shape:
            return 400;
        case errc::headers_too_large:
            return 431;
        case errc::missing_write_key:
        case errc::unknown_write_key:
            return 401;
        case errc::not_found:
            return 404;
        case errc::method_not_allowed:
            return 405;
        case errc::request_too_large:
        case errc::event_too_large:
            return 413;
        case errc::overloaded:
        case errc::database_unavailable:
        case errc::shutting_down:
            return 503;
        case errc::load_failed:
            return 500;
    }
    return 500;
}

}  // namespace funnelhouse::ingest
