#pragma once

#include "funnelhouse/config/config.hpp"
#include "funnelhouse/ingest/write_keys.hpp"
#include "funnelhouse/loader/loader.hpp"
#include "funnelhouse/schema/registry.hpp"

namespace funnelhouse::http {

// Serves the ingest API until SIGINT or SIGTERM, then stops accepting,
// lets the loader drain, answers the requests still waiting, and returns.
// Prints "listening on http://HOST:PORT" to stdout once the socket is bound
// (port 0 picks a free port). Throws std::runtime_error when it cannot listen.
void serve(const config::Config& config, const schema::SchemaRegistry& registry,
           const ingest::WriteKeyRing& keys, loader::Loader& loader);

}  // namespace funnelhouse::http
