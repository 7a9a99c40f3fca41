#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/connection>
#include <pqxx/transaction>

#include "funnelhouse/metrics/instruments.hpp"
#include "funnelhouse/models/catalog.hpp"
#include "funnelhouse/schema/registry.hpp"

namespace funnelhouse::models {

struct RefreshStep {
    std::string model;
    std::chrono::milliseconds took{0};
};

struct RefreshReport {
    std::size_t contracts = 0;  // contract versions written to models.contracts
    std::vector<RefreshStep> steps;
    // What this refresh dropped because its file is gone: models by name,
    // functions by signature ("models_a.f(integer)").
    std::vector<std::string> dropped;
    std::chrono::milliseconds took{0};
};

// The role that owns the models (migrations/0008_models_as_files.sql): a
// refresh builds them as it, with its rights and no more.
inline constexpr const char* kModelsRole = "funnelhouse_models";

// Writes what the contracts declare (value class, frequency, sources) to
// models.contracts, then, all in one transaction: makes the functions that
// read no model, builds every model of `catalog` empty (so that a file that
// does not compile stops the refresh before any work, naming file and line),
// builds them again with their rows in the buffer readers are not using,
// switches the views in `models` to it, and makes the functions that read
// models. Readers see the previous rows until it commits. A second refresh
// waits for the first. Throws CatalogError for a file that does not compile.
RefreshReport refresh(pqxx::connection& connection, const schema::SchemaRegistry& registry,
                      const Catalog& catalog);

// A refresh in two steps, for callers that interleave work with it (the
// tests read the models between them): the constructor starts the
// transaction and compiles; build() fills the buffer; commit() switches the
// views and commits. Destroyed before commit(), it changes nothing.
class Refresh {
  public:
    Refresh(pqxx::connection& connection, const schema::SchemaRegistry& registry,
            const Catalog& catalog);
    void build();
    RefreshReport commit();
    const std::string& buffer() const { return buffer_; }

  private:
    pqxx::work txn_;
    const Catalog& catalog_;
    std::string buffer_;
    bool citus_ = false;  // distributes the tables whose files say how
    RefreshReport report_;
    std::chrono::steady_clock::time_point started_;
};

// Compiles every file of `catalog` as a refresh would, without rows, in a
// transaction it rolls back: nothing changes. Throws CatalogError naming the
// first file (and line) that does not compile.
void check(pqxx::connection& connection, const Catalog& catalog);

// Refreshes at start and then on an interval, on a thread of its own with a
// connection of its own (never on the io threads). A failed refresh is
// logged and tried again at the next interval. Durations and failures are
// recorded in `instruments` when given.
class Refresher {
  public:
    // The model files are read from `folders` at every refresh: an edited
    // file is used from the next one on.
    Refresher(std::string database_url, const schema::SchemaRegistry& registry,
              std::vector<std::filesystem::path> folders, std::chrono::seconds interval,
              metrics::Instruments* instruments = nullptr);
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
    std::vector<std::filesystem::path> folders_;
    std::chrono::seconds interval_;
    metrics::Instruments* metrics_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    pqxx::connection* active_ = nullptr;  // the connection refreshing, under mutex_
    std::thread thread_;
};

}  // namespace funnelhouse::models
