#include "funnelhouse/loader/loader.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/loader/error.hpp"
#include "funnelhouse/loader/writer.hpp"

namespace funnelhouse::loader {
namespace {

using clock = std::chrono::steady_clock;

std::size_t job_size(const LoadJob& job) { return job.events.size() + job.bad_events.size(); }

// SQLSTATE classes worth retrying: connection exceptions (08), transaction
// rollbacks such as serialization failures and deadlocks (40), insufficient
// resources (53), operator intervention such as admin shutdown (57) and
// system errors (58). Anything else will fail again the same way.
bool is_transient(const std::string& sqlstate) {
    const auto cls = sqlstate.substr(0, 2);
    return cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58";
}

}  // namespace

Loader::Loader(const config::Config& config) : config_(config) {}

Loader::~Loader() { stop(); }

void Loader::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void Loader::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::error_code Loader::submit(LoadJob&& job) {
    const auto size = job_size(job);
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return errc::shutting_down;
        // One job larger than the whole queue still goes in when the queue is
        // empty, so a maximal request is never refused for its size alone.
        if (!queue_.empty() && queued_events_ + size > config_.queue_max_events)
            return errc::overloaded;
        queued_events_ += size;
        queue_.push_back({std::move(job), clock::now()});
    }
    wake_.notify_one();
    return {};
}

std::size_t Loader::queued_events() const {
    std::lock_guard lock(mutex_);
    return queued_events_;
}

void Loader::run() {
    for (bool first = true;; first = false) {
        if (!first) {
            auto batch = take_batch();
            if (!batch.empty()) {
                load(batch);
                continue;
            }
            std::lock_guard lock(mutex_);
            if (stopping_ && queue_.empty()) break;
        }
        // Idle (or just started): keep a connection ready so /readyz tells
        // the truth and the first batch does not wait for a connect.
        if (connection_) {
            try {
                pqxx::nontransaction probe(*connection_);
                probe.exec("SELECT 1");
            } catch (const std::exception& error) {
                spdlog::warn("loader lost its PostgreSQL connection: {}", error.what());
                connection_.reset();
                connected_ = false;
            }
        }
        if (!connection_) {
            try {
                connection_ = db::connect(config_.database_url, config_.load_timeout);
                prepare_staging(*connection_);
                connected_ = true;
                spdlog::info("loader connected to PostgreSQL");
            } catch (const std::exception& error) {
                connection_.reset();
                connected_ = false;
                spdlog::warn("loader cannot connect to PostgreSQL: {}", error.what());
            }
        }
    }
    connection_.reset();
    connected_ = false;
}

std::vector<Loader::Pending> Loader::take_batch() {
    std::unique_lock lock(mutex_);
    if (queue_.empty()) {
        if (stopping_) return {};
        // Wake every second while disconnected to reconnect, and every few
        // seconds while connected to notice a connection that died idle.
        wake_.wait_for(lock, connection_ ? std::chrono::seconds(5) : std::chrono::seconds(1),
                       [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return {};
    }
    // Group concurrent requests: wait up to batch_max_delay after the oldest
    // job for more, unless the batch is already full.
    const auto deadline = queue_.front().enqueued + config_.batch_max_delay;
    wake_.wait_until(lock, deadline,
                     [this] { return stopping_ || queued_events_ >= config_.batch_max_events; });
    std::vector<Pending> batch;
    std::size_t events = 0;
    while (!queue_.empty()) {
        const auto size = job_size(queue_.front().job);
        if (!batch.empty() && events + size > config_.batch_max_events) break;
        events += size;
        queued_events_ -= size;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
    }
    return batch;
}

bool Loader::try_write(std::vector<Pending>& batch, std::vector<LoadOutcome>& outcomes,
                       std::error_code& permanent) {
    try {
        if (!connection_) {
            connection_ = db::connect(config_.database_url, config_.load_timeout);
            prepare_staging(*connection_);
            spdlog::info("loader connected to PostgreSQL");
        }
        connected_ = true;
        std::vector<const common::Event*> events;
        std::vector<const common::BadEvent*> bad_events;
        for (const auto& pending : batch) {
            for (const auto& event : pending.job.events) events.push_back(&event);
            for (const auto& bad : pending.job.bad_events) bad_events.push_back(&bad);
        }
        const auto fates = write_batch(*connection_, events, bad_events);
        // Fates come in the order the events were given: job by job.
        std::size_t next = 0;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            LoadOutcome outcome;
            for (std::size_t e = 0; e < batch[i].job.events.size(); ++e, ++next) {
                if (fates[next] == Fate::duplicate) ++outcome.duplicates;
                if (fates[next] == Fate::collision) ++outcome.collisions;
            }
            outcomes[i] = outcome;
        }
        batches_committed_.fetch_add(1);
        return true;
    } catch (const pqxx::in_doubt_error& error) {
        // The commit may or may not have happened. The batch is idempotent
        // (ON CONFLICT DO NOTHING on stable ids), so writing it again is safe.
        spdlog::warn("loader: commit outcome unknown, retrying the batch: {}", error.what());
    } catch (const pqxx::broken_connection& error) {
        spdlog::warn("loader: connection to PostgreSQL lost: {}", error.what());
    } catch (const pqxx::sql_error& error) {
        if (!is_transient(error.sqlstate())) {
            spdlog::error("loader: batch failed permanently (SQLSTATE {}): {}", error.sqlstate(),
                          error.what());
            permanent = errc::load_failed;
            return false;
        }
        spdlog::warn("loader: transient database error (SQLSTATE {}): {}", error.sqlstate(),
                     error.what());
    } catch (const std::exception& error) {
        spdlog::warn("loader: database error: {}", error.what());
    }
    connection_.reset();
    connected_ = false;
    return false;
}

void Loader::load(std::vector<Pending>& batch) {
    std::vector<LoadOutcome> outcomes(batch.size());
    const auto deadline = clock::now() + config_.load_timeout;
    auto backoff = std::chrono::milliseconds(50);
    for (;;) {
        std::error_code permanent;
        if (try_write(batch, outcomes, permanent)) break;
        if (permanent) {
            if (batch.size() > 1) {
                // Isolate the job that cannot be stored so the others still land.
                for (auto& pending : batch) {
                    std::vector<Pending> single;
                    single.push_back(std::move(pending));
                    load(single);
                }
                return;
            }
            outcomes[0].error = permanent;
            break;
        }
        const auto now = clock::now();
        if (now >= deadline) {
            for (auto& outcome : outcomes) outcome.error = errc::database_unavailable;
            break;
        }
        std::this_thread::sleep_for(std::min<clock::duration>(backoff, deadline - now));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].job.done(outcomes[i]);
}

}  // namespace funnelhouse::loader
