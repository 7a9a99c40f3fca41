#pragma once

#include "funnelhouse/config/config.hpp"
#include "funnelhouse/ingest/write_keys.hpp"
#include "funnelhouse/loader/loader.hpp"
#include "funnelhouse/metrics/instruments.hpp"
#include "funnelhouse/schema/registry.hpp"
#include "funnelhouse/spool/spool.hpp"

namespace funnelhouse::http {

// Serves the ingest API until SIGINT or SIGTERM. Then it stops accepting
// connections, answers the requests in flight, closes the spool (everything
// appended is synced), lets the loader drain until the shutdown timeout, and
// returns; what is not loaded stays in the spool for the next start.
// Prints "listening on http://HOST:PORT" to stdout once the socket is bound
// (port 0 picks a free port), preceded by "admin listening on http://..."
// when FUNNELHOUSE_ADMIN_LISTEN is set. Serves /metrics from `metrics`.
// Throws std::runtime_error when it cannot listen.
void serve(const config::Config& config, const schema::SchemaRegistry& registry,
           const ingest::WriteKeyRing& keys, spool::Spool& spool, loader::Loader& loader,
           metrics::Instruments& metrics);

}  // namespace funnelhouse::http
