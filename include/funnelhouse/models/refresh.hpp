#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/connection>

#include "funnelhouse/metrics/instruments.hpp"
#include "funnelhouse/schema/registry.hpp"

namespace funnelhouse::models {

struct RefreshStep {
    std::string model;
    std::chrono::milliseconds took{0};
};

struct RefreshReport {
    std::size_t contracts = 0;  // contract versions written to models.contracts
    std::vector<RefreshStep> steps;
    std::chrono::milliseconds took{0};
};

// Writes what the contracts declare (value class, frequency, sources) to
// models.contracts, then rebuilds every model in the order of
// models.definitions in the buffer readers are not using, and switches the
// views to it, all in one transaction: readers see the previous rows until
// it commits. A second refresh waits for the first.
RefreshReport refresh(pqxx::connection& connection, const schema::SchemaRegistry& registry);

// Refreshes at start and then on an interval, on a thread of its own with a
// connection of its own (never on the io threads). A failed refresh is
// logged and tried again at the next interval. Durations and failures are
// recorded in `instruments` when given.
class Refresher {
  public:
    Refresher(std::string database_url, const schema::SchemaRegistry& registry,
              std::chrono::seconds interval, metrics::Instruments* instruments = nullptr);
    ~Refresher();
    Refresher(const Refresher&) = delete;
    Refresher& operator=(const Refresher&) = delete;

    void start();
    // Waits for a refresh under way (PostgreSQL is asked to cancel it).
    void stop();

  private:
    void run();

    std::string database_url_;
    const schema::SchemaRegistry& registry_;
    std::chrono::seconds interval_;
    metrics::Instruments* metrics_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    pqxx::connection* active_ = nullptr;  // the connection refreshing, under mutex_
    std::thread thread_;
};

}  // namespace funnelhouse::models
