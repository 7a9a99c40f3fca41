#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace funnelhouse::metrics {

// A value that only goes up (requests served, events accepted).
class Counter {
  public:
    void inc(double amount = 1.0) { value_.fetch_add(amount, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> value_{0.0};
};

// A value that goes up and down (bytes in the spool, connection state).
class Gauge {
  public:
    void set(double value) { value_.store(value, std::memory_order_relaxed); }
    void add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets by upper bound, with their sum.
class Histogram {
  public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double value);

    struct Snapshot {
        std::vector<double> upper_bounds;
        std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
        double sum = 0;
        std::uint64_t count = 0;
    };
    Snapshot snapshot() const;

  private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
    std::atomic<double> sum_{0.0};
};

// Bucket bounds: `count` values from `start`, each `factor` times the last.
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

enum class Type { counter, gauge, histogram };

// Orders label value lists, so that a lookup by string_views needs no copy.
struct LabelsLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
        return std::lexicographical_compare(
            a.begin(), a.end(), b.begin(), b.end(),
            [](const auto& x, const auto& y) { return std::string_view{x} < std::string_view{y}; });
    }
};

// All series of one metric name, one per combination of label values.
// Series live as long as the registry; references to them stay valid.
template <typename Metric>
class Family {
  public:
    Family(std::string name, std::string help, std::vector<std::string> label_names,
           std::vector<double> bounds = {});

    // The series with these label values (as many as the family has label
    // names), created at first use. Finding an existing series allocates
    // nothing and takes a shared lock only.
    Metric& with(std::span<const std::string_view> values);
    Metric& with(std::initializer_list<std::string_view> values) {
        return with(std::span<const std::string_view>(values.begin(), values.size()));
    }
    Metric& get() { return with(std::span<const std::string_view>{}); }

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    const std::vector<std::string>& label_names() const { return label_names_; }

    // Calls `visit(label values, series)` in label order.
    void each(const std::function<void(const std::vector<std::string>&, const Metric&)>& visit) const;

  private:
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    std::vector<double> bounds_;
    mutable std::shared_mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<Metric>, LabelsLess> series_;
};

// The metrics of one process, rendered in the Prometheus text format
// (version 0.0.4). Names and label names are checked when registered
// (std::invalid_argument); label values are escaped when rendered.
class Registry {
  public:
    Family<Counter>& counter(std::string name, std::string help,
                             std::vector<std::string> label_names = {});
    Family<Gauge>& gauge(std::string name, std::string help,
                         std::vector<std::string> label_names = {});
    Family<Histogram>& histogram(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds);

    // Runs before each render, to set gauges that are read from elsewhere
    // (the spool's size, the database connection state).
    void on_collect(std::function<void()> collect);

    std::string render() const;

  private:
    void claim(const std::string& name, const std::vector<std::string>& label_names);

    struct Entry {
        Type type;
        void* family;
    };
    mutable std::mutex mutex_;
    std::vector<Entry> entries_;  // in registration order
    std::vector<std::unique_ptr<Family<Counter>>> counters_;
    std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
    std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
    std::vector<std::function<void()>> collectors_;
};

// Escapes a label value for the text format: backslash, double quote and
// line feed (HELP text escapes the same but the quote).
std::string escape_label_value(std::string_view value);
// Formats a sample value as Prometheus reads it (NaN, +Inf, -Inf, numbers).
std::string format_value(double value);
// Whether `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
bool valid_metric_name(std::string_view name);

}  // namespace funnelhouse::metrics
