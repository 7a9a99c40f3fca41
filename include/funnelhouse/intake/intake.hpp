#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "funnelhouse/common/event.hpp"
#include "funnelhouse/config/config.hpp"
#include "funnelhouse/loader/loader.hpp"
#include "funnelhouse/spool/spool.hpp"

// The acknowledgement protocol, between the HTTP layer and the spool and the
// loader (docs/delivery.md): a request's events and rejections become one
// spool record, and the request is answered once that record is synced to
// disk (FUNNELHOUSE_ACK=durable) or committed to PostgreSQL (loaded). The
// HTTP layer knows nothing of records, tickets or segments.
namespace funnelhouse::intake {

// What became of a request's rows.
struct Receipt {
    std::error_code error;  // empty: acknowledged; else the spool's or the loader's error
    bool loaded = false;    // committed to the database: the counts below are known
    std::size_t duplicates = 0;
    std::size_t collisions = 0;
};

class Intake {
  public:
    Intake(const config::Config& config, spool::Spool& spool, loader::Loader& loader);

    // Hands over one request's rows. `done` runs exactly once, on the
    // spool's or the loader's thread (post back before touching a
    // connection), unless an error is returned: then they were refused at
    // once, nothing is kept and `done` never runs.
    std::error_code submit(std::vector<common::Event> events,
                           std::vector<common::BadEvent> bad_events, common::timestamp received_at,
                           std::function<void(Receipt)> done);

    // The answer's message for a refusal, naming the setting involved.
    std::string refusal_message(std::error_code error) const;

    // /readyz: whether events are taken, and the spool's state, as the
    // status code and JSON body.
    std::pair<unsigned, std::string> readiness() const;

    // Shutdown: everything submitted is synced, later submissions are
    // refused, and the loader loads until `deadline`. Returns the spooled
    // requests left for the next start.
    std::size_t close(std::chrono::steady_clock::time_point deadline);

  private:
    const config::Config& config_;
    spool::Spool& spool_;
    loader::Loader& loader_;
};

}  // namespace funnelhouse::intake
