#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "funnelhouse/dashboard/assets.hpp"
#include "funnelhouse/http/exchange.hpp"
#include "funnelhouse/http/services.hpp"
#include "funnelhouse/ingest/write_keys.hpp"

// The handlers the route table (http/routes.hpp) names, one per route,
// each in its file under src/http/handlers/, and the pure functions that make their answers.
namespace funnelhouse::http {

// POST /v1/<type> and /v1/batch (ingest.cpp): parses, validates and hands
// the rows to the intake; answers once they are durable or loaded.
void answer_ingest(Services& services, const Incoming& request, Reply reply);

// OPTIONS on an ingest route, the CORS preflight (preflight.cpp).
void answer_preflight(Services& services, const Incoming& request, Reply reply);
// Pure: the key of a request is not known yet, so any browser key that
// accepts the origin is enough; the POST itself is checked against its key.
Outgoing preflight_answer(const ingest::WriteKeyRing& keys, std::string_view origin,
                          std::string_view requested_headers);

// GET /healthz and /readyz, GET /metrics (admin.cpp).
void answer_health(Services& services, const Incoming& request, Reply reply);
void answer_metrics(Services& services, const Incoming& request, Reply reply);

// GET /funnelhouse.js, GET /dashboard[/<file>] and GET /dictionary (the
// page dictionary.html) (assets.cpp), from the files read at start-up only.
void answer_tracker(Services& services, const Incoming& request, Reply reply);
void answer_page(Services& services, const Incoming& request, Reply reply);
// Pure: 304 when the client's copy has the asset's ETag, else the file.
Outgoing tracker_answer(const std::optional<dashboard::Asset>& tracker, const std::string& problem,
                        std::string_view if_none_match);
Outgoing page_answer(const dashboard::Assets& page, std::string_view path,
                     std::string_view if_none_match);

// GET /api/dashboard/<panel>?from=&to=&segment= (panel.cpp): the query runs
// on a reader thread.
void answer_panel(Services& services, const Incoming& request, Reply reply);
// The 503 when FUNNELHOUSE_DASHBOARD_QUEUE queries wait for the readers.
Outgoing readers_busy(const config::Config& config);

// GET /api/dictionary (dictionary.cpp): the data dictionary as an HTML
// fragment for the page at /dictionary, its facts read on a reader thread.
void answer_dictionary(Services& services, const Incoming& request, Reply reply);
// Pure: the fragment from the contracts and the dictionary panel's answer.
Outgoing dictionary_answer(const schema::SchemaRegistry& registry, std::string_view panel_body);

// The prefixes of the dashboard's routes.
inline constexpr std::string_view kPagePrefix = "/dashboard/";
inline constexpr std::string_view kApiPrefix = "/api/dashboard/";

}  // namespace funnelhouse::http
