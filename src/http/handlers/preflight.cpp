#include "funnelhouse/http/handlers.hpp"
#include "funnelhouse/ingest/error.hpp"

namespace funnelhouse::http {

Outgoing preflight_answer(const ingest::WriteKeyRing& keys, std::string_view origin,
                          std::string_view requested_headers) {
    if (origin.empty() || !keys.any_browser_key_allows(origin))
        return refusal(ingest::errc::origin_not_allowed,
                       origin.empty() ? "a preflight needs an Origin header"
                                      : "origin '" + std::string{origin.substr(0, 200)} +
                                            "' is not allowed by any browser write key");
    Outgoing outgoing;
    outgoing.status = 204;
    outgoing.with("Access-Control-Allow-Methods", "POST, OPTIONS");
    // Allow what the page asks for: SDKs add headers of their own (for
    // example RudderStack's AnonymousId). Credentials are in the body or
    // Authorization either way; CORS only decides who reads the answer.
    outgoing.with("Access-Control-Allow-Headers",
                  requested_headers.empty() ? "Authorization, Content-Type, Content-Encoding"
                                            : std::string{requested_headers.substr(0, 1024)});
    outgoing.with("Vary", "Origin, Access-Control-Request-Headers");
    outgoing.with("Access-Control-Max-Age", "600");
    outgoing.with("Content-Length", "0");
    return outgoing;
}

void answer_preflight(Services& services, const Incoming& request, Reply reply) {
    reply(preflight_answer(services.keys, request.origin, request.requested_headers));
}

}  // namespace funnelhouse::http
