#include "funnelhouse/metrics/registry.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

namespace funnelhouse::metrics {
namespace {

bool valid_label_name(std::string_view name) {
    if (name.empty() || name.rfind("__", 0) == 0) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

std::string escape(std::string_view text, bool quote) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quote)
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

// {a="x",b="y"} with an optional extra label (le for buckets) at the end.
std::string label_text(const std::vector<std::string>& names,
                       const std::vector<std::string>& values, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
    if (names.empty() && extra_name.empty()) return {};
    std::string out = "{";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += ',';
        out += names[i];
        out += "=\"";
        out += escape_label_value(values[i]);
        out += '"';
    }
    if (!extra_name.empty()) {
        if (!names.empty()) out += ',';
        out += extra_name;
        out += "=\"";
        out += extra_value;
        out += '"';
    }
    out += '}';
    return out;
}

const char* type_name(Type type) {
    switch (type) {
        case Type::counter: return "counter";
        case Type::gauge: return "gauge";
        case Type::histogram: return "histogram";
    }
    return "untyped";
}

template <typename Metric>
void render_header(std::string& out, const Family<Metric>& family, Type type) {
    out += "# HELP " + family.name() + " " + escape(family.help(), false) + "\n";
    out += "# TYPE " + family.name() + " " + type_name(type) + "\n";
}

template <typename Metric>
void render_simple(std::string& out, const Family<Metric>& family, Type type) {
    render_header(out, family, type);
    family.each([&](const std::vector<std::string>& values, const Metric& metric) {
        out += family.name() + label_text(family.label_names(), values) + " " +
               format_value(metric.value()) + "\n";
    });
}

void render_histogram(std::string& out, const Family<Histogram>& family) {
    render_header(out, family, Type::histogram);
    family.each([&](const std::vector<std::string>& values, const Histogram& histogram) {
        const auto snapshot = histogram.snapshot();
        for (std::size_t i = 0; i <= snapshot.upper_bounds.size(); ++i) {
            const std::string le = i < snapshot.upper_bounds.size()
                                       ? format_value(snapshot.upper_bounds[i])
                                       : std::string{"+Inf"};
            out += family.name() + "_bucket" + label_text(family.label_names(), values, "le", le) +
                   " " + std::to_string(snapshot.cumulative[i]) + "\n";
        }
        const auto labels = label_text(family.label_names(), values);
        out += family.name() + "_sum" + labels + " " + format_value(snapshot.sum) + "\n";
        out += family.name() + "_count" + labels + " " + std::to_string(snapshot.count) + "\n";
    });
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
    if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
        std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
        throw std::invalid_argument("histogram bounds must be strictly increasing");
}

void Histogram::observe(double value) {
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot snapshot;
    snapshot.upper_bounds = bounds_;
    snapshot.cumulative.resize(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        snapshot.cumulative[i] = running;
    }
    snapshot.count = running;
    snapshot.sum = sum_.load(std::memory_order_relaxed);
    return snapshot;
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
    if (start <= 0 || factor <= 1 || count == 0)
        throw std::invalid_argument("exponential buckets need start > 0, factor > 1, count > 0");
    std::vector<double> bounds;
    bounds.reserve(count);
    double bound = start;
    for (std::size_t i = 0; i < count; ++i, bound *= factor) bounds.push_back(bound);
    return bounds;
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <typename Metric>
Metric& Family<Metric>::with(std::span<const std::string_view> values) {
    if (values.size() != label_names_.size())
        throw std::invalid_argument(name_ + " takes " + std::to_string(label_names_.size()) +
                                    " label values, not " + std::to_string(values.size()));
    {
        std::shared_lock lock(mutex_);
        const auto found = series_.find(values);
        if (found != series_.end()) return *found->second;
    }
    std::lock_guard lock(mutex_);
    auto found = series_.find(values);
    if (found != series_.end()) return *found->second;
    std::vector<std::string> key(values.begin(), values.end());
    std::unique_ptr<Metric> metric;
    if constexpr (std::is_same_v<Metric, Histogram>)
        metric = std::make_unique<Histogram>(bounds_);
    else
        metric = std::make_unique<Metric>();
    auto& stored = *metric;
    series_.emplace(std::move(key), std::move(metric));
    return stored;
}

template <typename Metric>
void Family<Metric>::each(
    const std::function<void(const std::vector<std::string>&, const Metric&)>& visit) const {
    std::shared_lock lock(mutex_);
    for (const auto& [values, metric] : series_) visit(values, *metric);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void Registry::claim(const std::string& name, const std::vector<std::string>& label_names) {
    if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name '" + name + "'");
    std::set<std::string> seen;
    for (const auto& label : label_names) {
        if (!valid_label_name(label) || label == "le" || !seen.insert(label).second)
            throw std::invalid_argument("invalid label name '" + label + "' for " + name);
    }
    const auto taken = [&](const auto& families) {
        return std::any_of(families.begin(), families.end(),
                           [&](const auto& family) { return family->name() == name; });
    };
    if (taken(counters_) || taken(gauges_) || taken(histograms_))
        throw std::invalid_argument("metric '" + name + "' is registered twice");
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    claim(name, label_names);
    counters_.push_back(std::make_unique<Family<Counter>>(std::move(name), std::move(help),
                                                          std::move(label_names)));
    entries_.push_back({Type::counter, counters_.back().get()});
    return *counters_.back();
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    claim(name, label_names);
    gauges_.push_back(std::make_unique<Family<Gauge>>(std::move(name), std::move(help),
                                                      std::move(label_names)));
    entries_.push_back({Type::gauge, gauges_.back().get()});
    return *gauges_.back();
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> bounds) {
    Histogram check(bounds);  // throws on bad bounds before anything is registered
    std::lock_guard lock(mutex_);
    claim(name, label_names);
    histograms_.push_back(std::make_unique<Family<Histogram>>(
        std::move(name), std::move(help), std::move(label_names), std::move(bounds)));
    entries_.push_back({Type::histogram, histograms_.back().get()});
    return *histograms_.back();
}

void Registry::on_collect(std::function<void()> collect) {
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(collect));
}

std::string Registry::render() const {
    std::vector<std::function<void()>> collectors;
    std::vector<Entry> entries;
    {
        std::lock_guard lock(mutex_);
        collectors = collectors_;
        entries = entries_;
    }
    for (const auto& collect : collectors) collect();
    std::string out;
    for (const auto& entry : entries) {
        switch (entry.type) {
            case Type::counter:
                render_simple(out, *static_cast<const Family<Counter>*>(entry.family),
                              Type::counter);
                break;
            case Type::gauge:
                render_simple(out, *static_cast<const Family<Gauge>*>(entry.family), Type::gauge);
                break;
            case Type::histogram:
                render_histogram(out, *static_cast<const Family<Histogram>*>(entry.family));
                break;
        }
    }
    return out;
}

std::string escape_label_value(std::string_view value) { return escape(value, true); }

std::string format_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    // Whole numbers print without an exponent up to 2^53; others in the
    // shortest form that reads back to the same double.
    if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0)
        return fmt::format("{:.0f}", value);
    return fmt::format("{}", value);
}

bool valid_metric_name(std::string_view name) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool letter =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

}  // namespace funnelhouse::metrics
