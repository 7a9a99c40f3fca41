#include "funnelhouse/http/routes.hpp"

#include "funnelhouse/dashboard/error.hpp"
#include "funnelhouse/dashboard/query.hpp"
#include "funnelhouse/http/error.hpp"
#include "funnelhouse/http/handlers.hpp"
#include "funnelhouse/ingest/message.hpp"

namespace funnelhouse::http {
namespace {

bool is_ingest_route(std::string_view path) { return ingest::find_ingest_route(path) != nullptr; }
bool is_tracker(std::string_view path) { return path == "/funnelhouse.js"; }
bool is_health(std::string_view path) { return path == "/healthz" || path == "/readyz"; }
bool is_metrics(std::string_view path) { return path == "/metrics"; }
bool is_page_route(std::string_view path) {
    return path == "/dashboard" || path == "/dictionary" ||
           path.substr(0, kPagePrefix.size()) == kPagePrefix;
}
bool is_dictionary_api(std::string_view path) { return path == "/api/dictionary"; }
bool is_api_route(std::string_view path) { return path.substr(0, kApiPrefix.size()) == kApiPrefix; }

std::string_view path_label(std::string_view path) { return path; }
std::string_view page_label(std::string_view path) {
    return path == "/dictionary" ? "/dictionary" : "/dashboard";
}
std::string_view panel_label(std::string_view path) {
    return dashboard::find_panel(path.substr(kApiPrefix.size())) ? path : "other";
}

// Compares without stopping at the first difference, so that the time taken
// does not tell how much of a guessed token was right.
bool same_secret(std::string_view given, std::string_view expected) {
    unsigned char difference = given.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < given.size(); ++i)
        difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
    return difference == 0;
}

// Each route, its policies and its handler, in the order they are matched.
constexpr Route kRoutes[] = {
    {is_tracker, path_label, Served::everywhere, Method::get, "GET", Cors::anyone, Access::open,
     false, answer_tracker, nullptr},
    {is_health, path_label, Served::everywhere, Method::get, "GET", Cors::shop, Access::open, false,
     answer_health, nullptr},
    {is_metrics, path_label, Served::admin, Method::get, "GET", Cors::nobody, Access::admin_token,
     false, answer_metrics, nullptr},
    {is_page_route, page_label, Served::admin, Method::get, "GET", Cors::nobody, Access::open,
     false, answer_page, nullptr},
    {is_api_route, panel_label, Served::admin, Method::get, "GET", Cors::nobody,
     Access::admin_token_or_loopback, false, answer_panel, nullptr},
    {is_dictionary_api, path_label, Served::admin, Method::get, "GET", Cors::nobody,
     Access::admin_token_or_loopback, false, answer_dictionary, nullptr},
    {is_ingest_route, path_label, Served::main, Method::post, "POST, OPTIONS", Cors::shop,
     Access::open, true, answer_ingest, answer_preflight},
};

}  // namespace

const Route* match_route(std::string_view path) {
    for (const auto& route : kRoutes)
        if (route.matches(path)) return &route;
    return nullptr;
}

std::string_view path_of(std::string_view target) {
    const auto query = target.find('?');
    return query == std::string_view::npos ? target : target.substr(0, query);
}

bool served_on(const Route& route, bool admin_listener, bool admin_listener_set) {
    if (route.served == Served::main) return !admin_listener;
    if (route.served == Served::admin) return admin_listener || !admin_listener_set;
    return true;
}

std::optional<Outgoing> refuse_access(const Route& route, std::string_view admin_token,
                                      std::string_view authorization, bool loopback) {
    if (route.access == Access::open) return std::nullopt;
    if (!admin_token.empty()) {
        constexpr std::string_view scheme = "Bearer ";
        if (authorization.substr(0, scheme.size()) == scheme &&
            same_secret(authorization.substr(scheme.size()), admin_token))
            return std::nullopt;
        return refusal(errc::admin_token_required,
                       "this route needs the header Authorization: Bearer "
                       "<FUNNELHOUSE_ADMIN_TOKEN>")
            .with("WWW-Authenticate", "Bearer realm=\"funnelhouse\"");
    }
    // Without a token, business numbers are served on loopback only.
    if (route.access == Access::admin_token_or_loopback && !loopback)
        return refusal(dashboard::errc::token_needed,
                       "the dashboard's data is served to other hosts only with "
                       "FUNNELHOUSE_ADMIN_TOKEN set (without it, only on a listener bound to a "
                       "loopback address)");
    return std::nullopt;
}

}  // namespace funnelhouse::http
