#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "funnelhouse/config/config.hpp"
#include "funnelhouse/dashboard/assets.hpp"
#include "funnelhouse/dashboard/reader.hpp"
#include "funnelhouse/http/limits.hpp"
#include "funnelhouse/http/rate_limits.hpp"
#include "funnelhouse/ingest/request.hpp"
#include "funnelhouse/ingest/write_keys.hpp"
#include "funnelhouse/intake/intake.hpp"
#include "funnelhouse/metrics/instruments.hpp"
#include "funnelhouse/schema/registry.hpp"

namespace funnelhouse::http {

// What every connection and every handler shares while serving; immutable
// except for the limiters and the counters.
struct Services {
    const config::Config& config;
    const schema::SchemaRegistry& registry;
    const ingest::WriteKeyRing& keys;
    intake::Intake& intake;
    metrics::Instruments& metrics;
    ingest::IngestSettings ingest;
    ConnectionLimiter connections;
    RateLimits rate_limits;
    const dashboard::Assets& page;
    const std::optional<dashboard::Asset>& tracker;
    const std::string& tracker_problem;  // the 404 message when it is missing
    dashboard::Reader& reader;
    // Requests handed to a handler whose answer is not written yet:
    // shutdown waits for them.
    std::atomic<int> unanswered{0};
    std::atomic<bool> stopping{false};

    // Counts a request refused by one of the abuse limits.
    void count_limit(std::string_view limit) { metrics.http_limited.with({limit}).inc(); }
};

}  // namespace funnelhouse::http
