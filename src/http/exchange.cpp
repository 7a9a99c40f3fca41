#include "funnelhouse/http/exchange.hpp"

#include <sstream>

#include "funnelhouse/http/error.hpp"
#include "funnelhouse/http/status.hpp"
#include "funnelhouse/ingest/request.hpp"

namespace funnelhouse::http {

Outgoing json(std::string body) {
    Outgoing outgoing;
    outgoing.body = std::move(body);
    return outgoing;
}

Outgoing refusal(std::error_code error, const std::string& message,
                 std::chrono::seconds retry_after) {
    Outgoing outgoing;
    outgoing.status = http_status(error);
    outgoing.body = ingest::error_body(error, message);
    if (worth_retrying(error))
        outgoing.with("Retry-After", std::to_string(retry_after.count() > 0
                                                        ? retry_after.count()
                                                        : retry_after_seconds(error)));
    return outgoing;
}

Outgoing rate_refusal(const RateLimits::Refusal& refused) {
    std::ostringstream rate;
    rate << refused.per_second;
    auto outgoing = refusal(errc::rate_limited,
                            "too many requests from " + refused.who + " (" + refused.setting +
                                " = " + rate.str() + " per second); retry after " +
                                std::to_string(refused.wait.count()) + " s",
                            refused.wait);
    outgoing.close = true;
    return outgoing;
}

}  // namespace funnelhouse::http
