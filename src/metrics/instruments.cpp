#include "funnelhouse/metrics/instruments.hpp"

namespace funnelhouse::metrics {
namespace {

// 0.5 ms to about 16 s: acknowledgements, commits.
std::vector<double> latency_buckets() { return exponential_buckets(0.0005, 2, 16); }

}  // namespace

Instruments::Instruments(Registry& r)
    : registry(r),
      http_requests(r.counter("funnelhouse_http_requests_total",
                              "HTTP requests answered, by route and status code.",
                              {"route", "status"})),
      http_request_seconds(r.histogram(
          "funnelhouse_http_request_duration_seconds",
          "Time from a request read in full to its answer written, by route.", {"route"},
          latency_buckets())),
      http_connections(
          r.gauge("funnelhouse_http_connections", "HTTP connections open now.").get()),
      http_limited(r.counter("funnelhouse_http_limited_total",
                             "Requests refused or connections closed by a limit, by limit "
                             "(docs/security.md lists them with their settings).",
                             {"limit"})),
      events_accepted(r.counter("funnelhouse_events_accepted_total",
                                "Events that passed their contract, in requests answered 200, by "
                                "write key source and event name.",
                                {"source", "event"})),
      events_rejected(r.counter("funnelhouse_events_rejected_total",
                                "Messages rejected into bad_events, in requests answered 200, by "
                                "source, reason and event name.",
                                {"source", "reason", "event"})),
      events_without_consent(r.counter("funnelhouse_events_without_consent_total",
                                       "Valid events without analytics consent, in requests "
                                       "answered 200, by what was done: anonymized (kept without "
                                       "the person) or dropped.",
                                       {"action"})),
      events_inserted(r.counter("funnelhouse_events_inserted_total",
                                "Events committed as new rows of events, by source and event "
                                "name.",
                                {"source", "event"})),
      events_deduplicated(r.counter(
          "funnelhouse_events_deduplicated_total",
          "Events whose id was already stored for the same event (a retry, or the other "
          "source's copy), by source and event name.",
          {"source", "event"})),
      event_id_collisions(r.counter("funnelhouse_event_id_collisions_total",
                                    "Events whose id was stored for another event or person "
                                    "(kept in bad_events), by source.",
                                    {"source"})),
      identity_links(r.counter("funnelhouse_identity_links_total",
                               "Links of an anonymous (or previous) id to a user id applied by "
                               "this server's loader (identify, alias, or an event carrying "
                               "both).")
                         .get()),
      identity_conflicts(r.counter("funnelhouse_identity_conflicts_total",
                                   "Links refused because the anonymous id already belongs to "
                                   "another user (a shared device).")
                             .get()),
      events_suppressed(r.counter("funnelhouse_events_suppressed_total",
                                  "Events and rejected messages of an erased person (funnelhouse "
                                  "forget) that the loader did not store.")
                            .get()),
      loader_batch_events(r.histogram("funnelhouse_loader_batch_events",
                                      "Events and rejected messages per committed batch.", {},
                                      exponential_buckets(1, 2, 15))),
      loader_commit_seconds(r.histogram(
          "funnelhouse_loader_commit_duration_seconds",
          "Time to write and commit one batch in PostgreSQL.", {}, latency_buckets())),
      loader_batches(
          r.counter("funnelhouse_loader_batches_total", "Batches committed in PostgreSQL.").get()),
      loader_errors(r.counter("funnelhouse_loader_errors_total",
                              "Failed batch writes: transient ones are retried, permanent ones "
                              "split the batch and quarantine the refused record.",
                              {"kind"})),
      loader_quarantined_records(
          r.counter("funnelhouse_loader_quarantined_records_total",
                    "Spool records set aside in the quarantine since start.")
              .get()),
      database_connected(r.gauge("funnelhouse_database_connected",
                                 "1 when the loader holds a working PostgreSQL connection.")
                             .get()),
      database_connects(r.counter("funnelhouse_database_connects_total",
                                  "Attempts of the loader to connect to PostgreSQL, by result.",
                                  {"result"})),
      model_refresh_seconds(r.histogram("funnelhouse_model_refresh_duration_seconds",
                                        "Time of each refresh of the analytics models.", {},
                                        exponential_buckets(0.25, 2, 14))),
      model_refresh_failures(r.counter("funnelhouse_model_refresh_failures_total",
                                       "Model refreshes that failed (retried at the next "
                                       "interval).")
                                 .get()),
      model_last_refresh(r.gauge("funnelhouse_model_last_refresh_timestamp_seconds",
                                 "Unix time when the models were last refreshed; 0 before the "
                                 "first refresh.")
                             .get()),
      activation_deliveries(r.counter("funnelhouse_activation_deliveries_total",
                                      "Events done with per destination, by result: sent, "
                                      "failed (refused, or out of tries) or skipped (no "
                                      "consent, no value, erased).",
                                      {"destination", "result"})),
      activation_retries(r.counter("funnelhouse_activation_retries_total",
                                   "Events put back for another try (429, 5xx, timeouts, "
                                   "network errors), per destination.",
                                   {"destination"})),
      activation_requests(r.counter("funnelhouse_activation_requests_total",
                                    "Requests to destinations, by HTTP status (0: no answer).",
                                    {"destination", "status"})),
      activation_pending(r.gauge("funnelhouse_activation_pending",
                                 "Events waiting to be sent (or being sent), per destination.",
                                 {"destination"})),
      activation_oldest_pending(r.gauge("funnelhouse_activation_oldest_pending_age_seconds",
                                        "Age of the oldest event waiting to be sent, per "
                                        "destination; 0 when none waits.",
                                        {"destination"})) {
    // Series without labels show from the start (zero), not at first use.
    loader_batch_events.get();
    loader_commit_seconds.get();
    model_refresh_seconds.get();
    database_connects.with({"ok"});
    database_connects.with({"failed"});
    loader_errors.with({"transient"});
    loader_errors.with({"permanent"});
    for (const char* limit : {"rate_address", "rate_key", "connections", "connections_per_address",
                              "header_timeout", "body_timeout", "header_bytes",
                              "request_line_bytes", "body_bytes", "event_bytes", "json_depth"})
        http_limited.with({limit});
    events_without_consent.with({"anonymized"});
    events_without_consent.with({"dropped"});
}

}  // namespace funnelhouse::metrics
