#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/metrics/registry.hpp"

namespace funnelhouse::metrics {

// Counts gathered on one thread (for one request, one batch) and added to
// their counters at once: one series lookup per distinct label set instead
// of one per event. Meant for a handful of distinct label sets.
class Tally {
  public:
    void add(Family<Counter>& family, std::initializer_list<std::string_view> labels,
             double amount = 1.0);
    // Adds everything gathered to the counters and starts over.
    void record();
    void clear() { rows_.clear(); }

  private:
    struct Row {
        Family<Counter>* family;
        std::vector<std::string> labels;
        double count;
    };
    std::vector<Row> rows_;
};

}  // namespace funnelhouse::metrics
