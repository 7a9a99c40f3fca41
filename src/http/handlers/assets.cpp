#include "funnelhouse/dashboard/error.hpp"
#include "funnelhouse/http/error.hpp"
#include "funnelhouse/http/handlers.hpp"

namespace funnelhouse::http {
namespace {

// A file read at start-up: 304 when the client's copy has its ETag, else
// the body.
Outgoing asset_answer(const dashboard::Asset& asset, std::string_view if_none_match,
                      const char* cache_control) {
    Outgoing outgoing;
    const bool fresh = if_none_match == asset.etag;
    outgoing.status = fresh ? 304 : 200;
    if (!fresh) outgoing.body = asset.body;
    outgoing.content_type = asset.content_type;
    outgoing.with("ETag", asset.etag);
    outgoing.with("Cache-Control", cache_control);
    outgoing.with("X-Content-Type-Options", "nosniff");
    return outgoing;
}

}  // namespace

// The browser tracker, for a page's script tag on any site; revalidated by
// ETag after an hour.
Outgoing tracker_answer(const std::optional<dashboard::Asset>& tracker, const std::string& problem,
                        std::string_view if_none_match) {
    if (!tracker) return refusal(errc::not_found, problem);
    auto outgoing = asset_answer(*tracker, if_none_match, "public, max-age=3600");
    // Any site may load it, also with crossorigin="anonymous" and integrity.
    outgoing.with("Access-Control-Allow-Origin", "*");
    outgoing.with("Cross-Origin-Resource-Policy", "cross-origin");
    return outgoing;
}

// The page holds no data: it asks for the admin token itself and sends it
// with each query.
Outgoing page_answer(const dashboard::Assets& page, std::string_view path,
                     std::string_view if_none_match) {
    if (page.empty()) return refusal(dashboard::errc::page_missing, page.problem());
    const auto relative = path == "/dictionary"              ? std::string_view{"dictionary.html"}
                          : path.size() > kPagePrefix.size() ? path.substr(kPagePrefix.size())
                                                             : std::string_view{"index.html"};
    const auto* asset = page.find(relative);
    if (!asset) return refusal(errc::not_found, "no such route: " + std::string{path});
    auto outgoing = asset_answer(*asset, if_none_match, "no-cache");
    outgoing.with("Referrer-Policy", "no-referrer");
    outgoing.with("X-Frame-Options", "DENY");
    // Nothing but this server's own files and answers, ever.
    outgoing.with("Content-Security-Policy",
                  "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' "
                  "data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; "
                  "form-action 'none'; frame-ancestors 'none'");
    return outgoing;
}

void answer_tracker(Services& services, const Incoming& request, Reply reply) {
    reply(tracker_answer(services.tracker, services.tracker_problem, request.if_none_match));
}

void answer_page(Services& services, const Incoming& request, Reply reply) {
    reply(page_answer(services.page, request.path, request.if_none_match));
}

}  // namespace funnelhouse::http
