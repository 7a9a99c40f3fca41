#pragma once

#include "funnelhouse/metrics/registry.hpp"

namespace funnelhouse::metrics {

// Every metric Funnelhouse itself records, registered once per process and
// handed by reference to the modules that record them. docs/operations.md
// says what each one tells.
struct Instruments {
    explicit Instruments(Registry& registry);

    Registry& registry;

    // http: one series per route (the API's routes, or "other") and status.
    Family<Counter>& http_requests;           // route, status
    Family<Histogram>& http_request_seconds;  // route
    Gauge& http_connections;                  // open now
    // Requests or connections stopped by a limit: rate_address, rate_key,
    // connections, connections_per_address, header_timeout, body_timeout,
    // header_bytes, request_line_bytes, body_bytes, event_bytes, json_depth.
    Family<Counter>& http_limited;  // limit

    // ingest: what the requests' messages became. `event` is the contract's
    // name, or "(unknown)" for a name no contract declares.
    Family<Counter>& events_accepted;  // source, event
    Family<Counter>& events_rejected;  // source, reason, event
    // Valid events without analytics consent: anonymized or dropped.
    Family<Counter>& events_without_consent;  // action

    // loader: what PostgreSQL made of the accepted events.
    Family<Counter>& events_inserted;      // source, event
    Family<Counter>& events_deduplicated;  // source, event
    Family<Counter>& event_id_collisions;  // source
    Counter& identity_links;               // anonymous ids newly tied to a user
    Counter& identity_conflicts;           // links refused: the id has another user
    Counter& events_suppressed;            // of an erased person: not stored
    Family<Histogram>& loader_batch_events;
    Family<Histogram>& loader_commit_seconds;
    Counter& loader_batches;
    Family<Counter>& loader_errors;  // kind: transient | permanent
    Counter& loader_quarantined_records;
    Gauge& database_connected;
    Family<Counter>& database_connects;  // result: ok | failed

    // models
    Family<Histogram>& model_refresh_seconds;
    Counter& model_refresh_failures;
    Gauge& model_last_refresh;  // Unix time of the last refresh that committed

    // activation: per destination of the destinations file.
    Family<Counter>& activation_deliveries;  // destination, result: sent | failed | skipped
    Family<Counter>& activation_retries;     // destination
    Family<Counter>& activation_requests;    // destination, status
    Family<Gauge>& activation_pending;        // destination
    Family<Gauge>& activation_oldest_pending;  // destination
};

// The event label of a name: the name when a contract declares it, else
// "(unknown)", so that arbitrary names cannot grow the series without bound.
inline constexpr std::string_view kUnknownEvent = "(unknown)";

}  // namespace funnelhouse::metrics
