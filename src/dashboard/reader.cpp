#include "funnelhouse/dashboard/reader.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <pqxx/pqxx>

#include "funnelhouse/dashboard/error.hpp"
#include "funnelhouse/db/connection.hpp"

namespace funnelhouse::dashboard {
namespace {

// What each transaction runs first. SET LOCAL, so that nothing depends on
// the session: libpqxx may reconnect by itself after a lost connection.
std::string session_settings(const ReaderSettings& settings, pqxx::transaction_base& txn) {
    std::string sql = "SET LOCAL TIME ZONE 'UTC'; SET LOCAL statement_timeout = " +
                      std::to_string(settings.timeout.count());
    if (!settings.role.empty()) sql += "; SET LOCAL ROLE " + txn.quote_name(settings.role);
    return sql;
}

}  // namespace

Reader::Reader(ReaderSettings settings) : settings_(std::move(settings)) {
    threads_.reserve(settings_.connections);
    for (std::size_t i = 0; i < settings_.connections; ++i) threads_.emplace_back([this] { work(); });
}

Reader::~Reader() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        jobs_.clear();
    }
    ready_.notify_all();
    for (auto& thread : threads_) thread.join();
}

bool Reader::submit(const Panel& panel, Filter filter, std::function<void(Answer)> done) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || jobs_.size() >= settings_.queue) return false;
        jobs_.push_back({&panel, std::move(filter), std::move(done)});
    }
    ready_.notify_one();
    return true;
}

void Reader::work() {
    std::unique_ptr<pqxx::connection> connection;
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        Answer answer;
        try {
            if (!connection || !connection->is_open())
                connection = db::connect(settings_.database_url, settings_.timeout);
            // Read-only (BEGIN READ ONLY), as the configured role.
            pqxx::read_transaction txn(*connection);
            txn.exec(session_settings(settings_, txn));
            const auto rows = txn.exec_params1(
                panel_sql(*job.panel),
                pqxx::prepare::make_dynamic_params(panel_parameters(*job.panel, job.filter)));
            answer.body = panel_body(*job.panel, job.filter, rows[0].c_str());
        } catch (const pqxx::broken_connection& error) {
            connection.reset();
            spdlog::warn("dashboard: database unavailable: {}", error.what());
            answer = {errc::database_unavailable,
                      "PostgreSQL is unavailable to the dashboard; retry later"};
        } catch (const pqxx::sql_error& error) {
            if (error.sqlstate() == "57014") {
                answer = {errc::timed_out,
                          "the query took longer than FUNNELHOUSE_DASHBOARD_TIMEOUT_MS (" +
                              std::to_string(settings_.timeout.count()) + " ms)"};
            } else {
                // A failed SET ROLE or a missing migration: the log says
                // which; the answer does not show database errors.
                spdlog::error("dashboard: the {} query failed: {}", job.panel->name, error.what());
                answer = {errc::query_failed, "the " + std::string(job.panel->name) +
                                                  " query failed; the server log says why"};
                if (error.sqlstate() == "42501" || error.sqlstate() == "22023" ||
                    error.sqlstate().rfind("42", 0) == 0)
                    connection.reset();
            }
        } catch (const std::exception& error) {
            connection.reset();
            spdlog::error("dashboard: the {} query failed: {}", job.panel->name, error.what());
            answer = {errc::query_failed, "the " + std::string(job.panel->name) +
                                              " query failed; the server log says why"};
        }
        try {
            job.done(std::move(answer));
        } catch (const std::exception& error) {
            spdlog::error("dashboard: the {} answer was lost: {}", job.panel->name, error.what());
        }
    }
}

}  // namespace funnelhouse::dashboard
