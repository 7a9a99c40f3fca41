#pragma once

#include "funnelhouse/metrics/registry.hpp"

namespace funnelhouse::metrics {

// Registers the standard process gauges (resident and virtual memory, open
// file descriptors, start time), read from /proc at each render.
void add_process_metrics(Registry& registry);

}  // namespace funnelhouse::metrics
