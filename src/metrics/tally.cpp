#include "funnelhouse/metrics/tally.hpp"

#include <algorithm>

namespace funnelhouse::metrics {

void Tally::add(Family<Counter>& family, std::initializer_list<std::string_view> labels,
                double amount) {
    for (auto& row : rows_)
        if (row.family == &family && std::equal(row.labels.begin(), row.labels.end(),
                                                labels.begin(), labels.end())) {
            row.count += amount;
            return;
        }
    rows_.push_back({&family, std::vector<std::string>(labels.begin(), labels.end()), amount});
}

void Tally::record() {
    std::vector<std::string_view> labels;
    for (const auto& row : rows_) {
        labels.assign(row.labels.begin(), row.labels.end());
        row.family->with(labels).inc(row.count);
    }
    rows_.clear();
}

}  // namespace funnelhouse::metrics
