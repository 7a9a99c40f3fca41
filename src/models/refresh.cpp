#include "funnelhouse/models/refresh.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include "build.hpp"
#include "funnelhouse/common/source.hpp"
#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/db/locks.hpp"
#include "funnelhouse/db/migrate.hpp"

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

// What a refresh and a check share: the refresh lock, the refresh's memory,
// and from here on the models' role.
void begin(pqxx::work& txn) {
    txn.exec("SELECT pg_advisory_xact_lock(" + std::to_string(db::kModelRefreshLock) + ")");
    txn.exec("SELECT set_config('work_mem', refresh_work_mem, true) FROM models.settings");
    // The models' statements are planned once and run once: compiling them
    // cost seconds more than it saved (docs/performance.md).
    txn.exec("SET LOCAL jit = off");
    // The files' unqualified names (events, events_stitched, ...) are those
    // of the migrated schema, whatever the connection's search path says;
    // temporary tables come last, so that none stands in for a real one.
    txn.exec(
        "SELECT set_config('search_path', quote_ident(n.nspname) || ', pg_catalog, pg_temp', true) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = 'schema_migrations'::regclass");
}

void become_models_role(pqxx::work& txn) { txn.exec(std::string("SET LOCAL ROLE ") + kModelsRole); }

// The alert candidates, read as the models' role, handed to the alerts'
// lifecycle (migration 0011). A mistake there (an edited alert_candidates,
// say) is logged and leaves the new models standing.
void sync_alerts(pqxx::work& txn) {
    if (txn.exec("SELECT to_regclass('models.alert_candidates') IS NULL")[0][0].as<bool>()) return;
    try {
        pqxx::subtransaction alerts(txn, "alerts");
        alerts.exec(
            "SELECT funnelhouse_alerts_sync(coalesce((SELECT jsonb_agg(c) "
            "FROM models.alert_candidates c), '[]'))");
        alerts.commit();
    } catch (const pqxx::sql_error& error) {
        spdlog::warn("alerts: not updated by this refresh: {}", error.what());
    }
}

void write_contracts(pqxx::work& txn, const schema::SchemaRegistry& registry,
                     RefreshReport& report) {
    txn.exec("DELETE FROM models.contracts");
    for (const auto* contract : registry.all()) {
        txn.exec_params(
            "INSERT INTO models.contracts "
            "(event_name, version, value_class, frequency, sources, funnel_stage) "
            "VALUES ($1, $2, $3, $4, $5::text[], nullif($6, ''))",
            contract->name, contract->version.to_string(), contract->meta.value_class,
            contract->meta.frequency, sources_array(*contract), contract->meta.funnel_stage);
        ++report.contracts;
    }
}

// Every file compiled, the models without rows: the first error stops it.
void compile_all(pqxx::work& txn, const Catalog& catalog, const std::string& buffer) {
    for (const auto& file : catalog.files)
        if (file.kind == Kind::function && !file.reads_models) build::make_function(txn, file);
    for (const auto& file : catalog.files)
        if (file.made_in_buffer()) build::make_model(txn, catalog, file, buffer, build::Fill::empty);
}

// The functions that read models are made anew around the switch: they
// may return a model's rows, whose columns may change with it.
void switch_and_finish(pqxx::work& txn, const Catalog& catalog, const std::string& buffer) {
    for (const auto& file : catalog.files)
        if (file.reads_models) build::drop_function(txn, file);
    for (const auto& file : catalog.files)
        if (file.kind != Kind::function) build::switch_view(txn, file, buffer);
    txn.exec_params("UPDATE models.state SET current = $1, refreshed_at = now()", buffer);
    for (const auto& file : catalog.files)
        if (file.reads_models) build::make_function(txn, file);
}

}  // namespace

Refresh::Refresh(pqxx::connection& connection, const schema::SchemaRegistry& registry,
                 const Catalog& catalog)
    : txn_(connection), catalog_(catalog), started_(clock::now()) {
    begin(txn_);
    citus_ = db::is_citus(txn_);
    write_contracts(txn_, registry, report_);
    become_models_role(txn_);
    buffer_ = build::other_buffer(txn_);
    compile_all(txn_, catalog_, buffer_);
}

void Refresh::build() {
    for (const auto& file : catalog_.files) {
        if (!file.made_in_buffer()) continue;
        const auto step_started = clock::now();
        build::make_model(txn_, catalog_, file, buffer_,
                          citus_ ? build::Fill::rows_distributed : build::Fill::rows);
        if (file.kind != Kind::function) report_.steps.push_back({file.name, since(step_started)});
    }
}

RefreshReport Refresh::commit() {
    switch_and_finish(txn_, catalog_, buffer_);
    // The micro-conversions destinations are sent follow the new classes;
    // alerts follow what the new models see.
    txn_.exec("SELECT funnelhouse_activation_rules()");
    sync_alerts(txn_);
    // A file removed from the folders takes its model or function with it,
    // unless a view of someone's own still uses it.
    for (const auto& gone : build::vanished(txn_, catalog_)) {
        if (build::drop_vanished(txn_, gone))
            report_.dropped.push_back(gone.name);
        else
            spdlog::warn(
                "{}{}: its file is gone, but a view uses it; it stays until that view "
                "is dropped",
                gone.function ? "" : "models.", gone.name);
    }
    txn_.commit();
    report_.took = since(started_);
    return report_;
}

RefreshReport refresh(pqxx::connection& connection, const schema::SchemaRegistry& registry,
                      const Catalog& catalog) {
    Refresh run(connection, registry, catalog);
    run.build();
    return run.commit();
}

void check(pqxx::connection& connection, const Catalog& catalog) {
    pqxx::work txn(connection);
    begin(txn);
    become_models_role(txn);
    const auto buffer = build::other_buffer(txn);
    compile_all(txn, catalog, buffer);
    // The views are switched too, so that the functions reading models
    // compile against these models' columns; then all is rolled back.
    switch_and_finish(txn, catalog, buffer);
    txn.abort();
}

Refresher::Refresher(std::string database_url, const schema::SchemaRegistry& registry,
                     std::vector<std::filesystem::path> folders, std::chrono::seconds interval,
                     metrics::Instruments* instruments)
    : database_url_(std::move(database_url)),
      registry_(registry),
      folders_(std::move(folders)),
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
            const auto report = refresh(*connection, registry_, load_catalog(folders_));
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
