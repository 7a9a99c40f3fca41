#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <system_error>
#include <thread>
#include <vector>

#include "funnelhouse/common/event.hpp"
#include "funnelhouse/config/config.hpp"

namespace funnelhouse::loader {

// What a request learns once its events are stored (or could not be).
struct LoadOutcome {
    std::error_code error;       // empty: committed
    std::size_t duplicates = 0;  // accepted events whose id was already stored
    std::size_t collisions = 0;  // accepted events whose id was stored for another event or person
};

// One request's share of a batch. `done` runs on the loader thread: it must
// only hand the outcome over (for example post it to the connection's
// executor), never block.
struct LoadJob {
    std::vector<common::Event> events;
    std::vector<common::BadEvent> bad_events;
    std::function<void(LoadOutcome)> done;
};

// The loader owns the database connection and its own thread: io threads only
// enqueue. Jobs of concurrent requests are grouped into one transaction, by
// count (batch_max_events) and by time (batch_max_delay). The queue is bounded
// (queue_max_events); a full queue refuses new jobs (overloaded), it never
// drops accepted ones. stop() drains the queue before joining.
class Loader {
  public:
    explicit Loader(const config::Config& config);
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    void start();
    void stop();

    // Empty on success; errc::overloaded or shutting_down otherwise,
    // in which case `job.done` is not called.
    std::error_code submit(LoadJob&& job);

    bool database_connected() const { return connected_.load(); }
    std::size_t queued_events() const;
    std::uint64_t batches_committed() const { return batches_committed_.load(); }

  private:
    struct Pending {
        LoadJob job;
        std::chrono::steady_clock::time_point enqueued;
    };

    void run();
    std::vector<Pending> take_batch();
    void load(std::vector<Pending>& batch);
    bool try_write(std::vector<Pending>& batch, std::vector<LoadOutcome>& outcomes,
                   std::error_code& permanent);

    const config::Config& config_;
    std::unique_ptr<pqxx::connection> connection_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Pending> queue_;
    std::size_t queued_events_ = 0;
    bool stopping_ = false;

    std::atomic<bool> connected_{false};
    std::atomic<std::uint64_t> batches_committed_{0};
    std::thread thread_;
};

}  // namespace funnelhouse::loader
