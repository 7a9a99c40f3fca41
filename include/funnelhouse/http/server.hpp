#pragma once

#include "funnelhouse/config/config.hpp"
#include "funnelhouse/ingest/write_keys.hpp"
#include "funnelhouse/intake/intake.hpp"
#include "funnelhouse/metrics/instruments.hpp"
#include "funnelhouse/schema/registry.hpp"

namespace funnelhouse::http {

// Serves the ingest API until SIGINT or SIGTERM, handing each request's rows
// to `intake`. Then it stops accepting connections, answers the requests in
// flight, closes the intake (everything submitted is synced, and the loader
// drains until the shutdown timeout), and returns; what is not loaded stays
// in the spool for the next start.
// Prints "listening on http://HOST:PORT" to stdout once the socket is bound
// (port 0 picks a free port), preceded by "admin listening on http://..."
// when FUNNELHOUSE_ADMIN_LISTEN is set. Serves /metrics from `metrics`.
// Throws std::runtime_error when it cannot listen.
void serve(const config::Config& config, const schema::SchemaRegistry& registry,
           const ingest::WriteKeyRing& keys, intake::Intake& intake,
           metrics::Instruments& metrics);

}  // namespace funnelhouse::http
