#pragma once

#include <memory>
#include <vector>

#include "funnelhouse/activation/destinations.hpp"
#include "funnelhouse/config/config.hpp"
#include "funnelhouse/metrics/instruments.hpp"

namespace funnelhouse::activation {

// The senders: one thread per destination, each with its own PostgreSQL
// connection and HTTP client, so that a destination that is slow, down or
// throttling delays no other (and never an io thread). Each takes the rows
// of its destination that are due from the outbox, sends them in the
// platform's format, and records what became of them: sent, retried later
// (429, 408, 5xx, no answer: exponential backoff with jitter, never sooner
// than Retry-After, and nothing else sent to that destination meanwhile),
// or failed with the platform's message.
class Senders {
  public:
    Senders(const config::Config& config, std::vector<Destination> destinations,
            metrics::Instruments* instruments);
    ~Senders();
    Senders(const Senders&) = delete;
    Senders& operator=(const Senders&) = delete;

    // Writes the destinations into PostgreSQL (activation/outbox.hpp), or
    // leaves that to the senders when it cannot be reached yet, and starts
    // a sender per destination.
    void start();
    // Finishes the request in flight (each within the timeout); rows not
    // sent yet stay due.
    void stop();

  private:
    struct Shared;
    struct Worker;
    std::unique_ptr<Shared> shared_;
    std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace funnelhouse::activation
