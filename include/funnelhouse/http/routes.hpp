#pragma once

#include <optional>
#include <string_view>

#include "funnelhouse/http/exchange.hpp"
#include "funnelhouse/http/services.hpp"

// The route table: each route of the server, the policies that apply to
// it, and its handler (http/handlers.hpp). Pure: the session asks it.
namespace funnelhouse::http {

enum class Method { get, post };

enum class Served {
    main,        // the ingest API: on the main listener only
    admin,       // on the admin listener when there is one, else on the main one
    everywhere,  // health and the tracker script
};
enum class Cors {
    shop,    // a page whose origin some browser key allows may read the answer
    nobody,  // admin answers are for operators, never for pages of the shop
    anyone,  // the tracker script, loaded by any site (its handler says so)
};
enum class Access {
    open,
    admin_token,              // Authorization: Bearer <FUNNELHOUSE_ADMIN_TOKEN>, when one is set
    admin_token_or_loopback,  // the same; without a token set, loopback listeners only
};

using Handler = void (*)(Services& services, const Incoming& request, Reply reply);

struct Route {
    bool (*matches)(std::string_view path);
    // The metrics label of a request on it: its path, except where paths
    // are many (the page's files) or chosen by the client (unknown panels),
    // so that scanners cannot grow the series without bound.
    std::string_view (*label)(std::string_view path);
    Served served;
    Method method;  // the method it answers; any other is a 405 with `allow`
    const char* allow;
    Cors cors;
    Access access;
    // The ingest API: its token buckets are taken before the body is read.
    bool ingest;
    Handler handler;
    Handler preflight;  // answers OPTIONS, a CORS preflight; null: OPTIONS is a 405
};

// The first route whose path matches, or null.
const Route* match_route(std::string_view path);

// A request target without its query.
std::string_view path_of(std::string_view target);

// Whether a route is served on a listener (the admin one or not), with or
// without an admin listener configured.
bool served_on(const Route& route, bool admin_listener, bool admin_listener_set);

// The access policy: nullopt when the request may go on, else its answer
// (401 without the admin token, 403 for the dashboard's data off loopback
// without a token set).
std::optional<Outgoing> refuse_access(const Route& route, std::string_view admin_token,
                                      std::string_view authorization, bool loopback);

}  // namespace funnelhouse::http
