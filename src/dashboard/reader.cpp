#include "funnelhouse/dashboard/reader.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <pqxx/pqxx>

#include "funnelhouse/dashboard/error.hpp"
#include "funnelhouse/db/connection.hpp"

namespace funnelhouse::dashboard {
namespace {

// A connection as the dashboard uses it: read-only, as `role`.
std::unique_ptr<pqxx::connection> open(const ReaderSettings& settings) {
    auto connection = db::connect(settings.database_url, settings.timeout);
    pqxx::nontransaction setup(*connection);
    if (!settings.role.empty()) setup.exec("SET ROLE " + setup.quote_name(settings.role));
    setup.exec("SET default_transaction_read_only = on");
    return connection;
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
            if (!connection || !connection->is_open()) connection = open(settings_);
            pqxx::read_transaction txn(*connection);
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
                spdlog::error("dashboard: the {} query failed: {}", job.panel->name, error.what());
                // A failed SET ROLE or a missing migration: the statement's
                // error tells the operator what to fix.
                answer = {errc::query_failed, "the " + std::string(job.panel->name) +
                                                  " query failed: " + error.what()};
                if (error.sqlstate() == "42501" || error.sqlstate() == "22023" ||
                    error.sqlstate().rfind("42", 0) == 0)
                    connection.reset();
            }
        } catch (const std::exception& error) {
            connection.reset();
            spdlog::error("dashboard: the {} query failed: {}", job.panel->name, error.what());
            answer = {errc::query_failed,
                      "the " + std::string(job.panel->name) + " query failed: " + error.what()};
        }
        job.done(std::move(answer));
    }
}

}  // namespace funnelhouse::dashboard
