#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "funnelhouse/dashboard/query.hpp"

// Runs the dashboard's queries on threads and connections of its own, so
// that no io thread ever waits for PostgreSQL. Each connection runs its
// statements read-only, as the configured role.
namespace funnelhouse::dashboard {

struct ReaderSettings {
    std::string database_url;
    std::string role;  // SET ROLE to it after connecting; empty: the login's own
    std::size_t connections = 2;
    std::size_t queue = 64;
    std::chrono::milliseconds timeout{10'000};
};

// What a query became: the body of a 200 answer, or an error (an errc of
// dashboard/error.hpp) and a message for the user.
struct Answer {
    std::error_code error;
    std::string body;  // the JSON answer, or the message when `error` is set
};

class Reader {
  public:
    explicit Reader(ReaderSettings settings);
    // Stops the threads after the queries running now; queued ones are
    // dropped without an answer.
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    // Queues a panel's query; `done` runs on a reader thread with the
    // answer. False (and `done` dropped) when the queue is full.
    bool submit(const Panel& panel, Filter filter, std::function<void(Answer)> done);

  private:
    struct Job {
        const Panel* panel;
        Filter filter;
        std::function<void(Answer)> done;
    };
    void work();

    const ReaderSettings settings_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace funnelhouse::dashboard
