#include "funnelhouse/http/error.hpp"

#include <string>

namespace funnelhouse::http {
namespace {

// The messages are the "error" of an answer's body (docs/api.md).
class HttpCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "funnelhouse.http"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::malformed_http: return "malformed HTTP request";
            case errc::headers_too_large: return "request headers too large";
            case errc::target_too_long: return "request target too long";
            case errc::not_found: return "no such route";
            case errc::method_not_allowed: return "method not allowed";
            case errc::admin_token_required: return "admin token required";
            case errc::rate_limited: return "rate limit exceeded";
            case errc::internal: return "internal error";
        }
        return "unknown HTTP error";
    }
};

}  // namespace

const std::error_category& http_category() noexcept {
    static const HttpCategory category;
    return category;
}

}  // namespace funnelhouse::http
