#include "funnelhouse/models/refresh.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include "funnelhouse/common/source.hpp"
#include "funnelhouse/db/connection.hpp"

namespace funnelhouse::models {
namespace {

using clock = std::chrono::steady_clock;

std::chrono::milliseconds since(clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
}

std::string sources_array(const schema::Contract& contract) {
    std::string text = "{";
    for (std::size_t i = 0; i < contract.meta.sources.size(); ++i) {
        if (i > 0) text += ",";
        text += common::to_string(contract.meta.sources[i]);
    }
    return text + "}";
}

}  // namespace

RefreshReport refresh(pqxx::connection& connection, const schema::SchemaRegistry& registry) {
    const auto started = clock::now();
    RefreshReport report;
    pqxx::work txn(connection);
    const auto buffer = txn.exec("SELECT models.refresh_begin()")[0][0].as<std::string>();
    txn.exec("DELETE FROM models.contracts");
    for (const auto* contract : registry.all()) {
        txn.exec_params(
            "INSERT INTO models.contracts (event_name, version, value_class, frequency, sources) "
            "VALUES ($1, $2, $3, $4, $5::text[])",
            contract->name, contract->version.to_string(), contract->meta.value_class,
            contract->meta.frequency, sources_array(*contract));
        ++report.contracts;
    }
    const auto order = txn.exec("SELECT model FROM models.definitions ORDER BY position");
    for (const auto& row : order) {
        const auto model = row[0].as<std::string>();
        const auto step_started = clock::now();
        txn.exec_params("SELECT models.refresh_model($1, $2)", buffer, model);
        report.steps.push_back({model, since(step_started)});
    }
    txn.exec_params("SELECT models.refresh_finish($1)", buffer);
    txn.commit();
    report.took = since(started);
    return report;
}

Refresher::Refresher(std::string database_url, const schema::SchemaRegistry& registry,
                     std::chrono::seconds interval, metrics::Instruments* instruments)
    : database_url_(std::move(database_url)),
      registry_(registry),
      interval_(interval),
      metrics_(instruments) {}

Refresher::~Refresher() { stop(); }

void Refresher::start() {
    if (interval_.count() <= 0 || thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void Refresher::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        if (active_) {
            try {
                active_->cancel_query();
            } catch (const std::exception& error) {
                spdlog::warn("models: cannot cancel the refresh under way: {}", error.what());
            }
        }
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Refresher::run() {
    std::unique_ptr<pqxx::connection> connection;
    // The first refresh runs at start: the models' tables are unlogged and
    // empty after a database crash.
    for (bool first = true;; first = false) {
        if (!first) {
            std::unique_lock lock(mutex_);
            if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
        }
        bool failed = false;
        try {
            if (!connection || !connection->is_open())
                connection = db::connect(database_url_, std::chrono::milliseconds(0));
            {
                std::lock_guard lock(mutex_);
                if (stopping_) return;
                active_ = connection.get();
            }
            const auto report = refresh(*connection, registry_);
            spdlog::info("models refreshed in {} ms", report.took.count());
            if (metrics_) {
                metrics_->model_refresh_seconds.get().observe(
                    std::chrono::duration<double>(report.took).count());
                metrics_->model_last_refresh.set(
                    std::chrono::duration<double>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count());
            }
        } catch (const std::exception& error) {
            failed = true;
            if (metrics_) metrics_->model_refresh_failures.inc();
            spdlog::warn("models: refresh failed, trying again in {} s: {}", interval_.count(),
                         error.what());
        }
        {
            std::lock_guard lock(mutex_);
            active_ = nullptr;
        }
        if (failed) connection.reset();
    }
}

}  // namespace funnelhouse::models
