#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "funnelhouse/http/rate_limits.hpp"

namespace funnelhouse::ingest {
struct WriteKey;
}

// What a route's handler sees of a request and what it answers, without
// sockets or Beast: the session reads and writes, the handlers decide.
namespace funnelhouse::http {

// One request, as read. The views point into the session's request and
// live only while the handler runs: a handler that answers later copies
// what it keeps.
struct Incoming {
    std::string_view path;   // the target without its query
    std::string_view query;  // what follows '?', or empty
    std::string_view body;
    std::string_view authorization;
    std::string_view content_encoding;
    std::string_view if_none_match;
    std::string_view requested_headers;  // Access-Control-Request-Headers
    std::string_view origin;             // empty unless the route lets shop pages read answers
    std::string_view client_address;     // the peer, or X-Forwarded-For when trusted
    bool key_rate_taken = false;         // the key's token was taken from the Authorization header
    // The known write key the Authorization header names, when the session
    // has looked it up already (for the rate limits); null otherwise.
    const ingest::WriteKey* header_key = nullptr;
};

// One answer. The session adds what every answer carries (Server,
// keep-alive, the CORS headers of the route's policy), then `headers`,
// which win over those.
struct Outgoing {
    unsigned status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string_view, std::string>> headers;
    bool close = false;  // close the connection after writing

    Outgoing& with(std::string_view field, std::string value) & {
        headers.emplace_back(field, std::move(value));
        return *this;
    }
    Outgoing&& with(std::string_view field, std::string value) && {
        headers.emplace_back(field, std::move(value));
        return std::move(*this);
    }
};

// A 200 JSON answer.
Outgoing json(std::string body);

// The answer to an error: its status (http/status), the JSON error body,
// and Retry-After when it is worth retrying (`retry_after` when given, else
// the error's own).
Outgoing refusal(std::error_code error, const std::string& message,
                 std::chrono::seconds retry_after = std::chrono::seconds{0});

// 429 for a request over a token bucket: who was limited, by which setting
// at what rate, and when to come back.
Outgoing rate_refusal(const RateLimits::Refusal& refusal);

// Where a handler's answer goes. Thread-safe: a handler that answers from
// another thread (the intake's, a dashboard reader's) calls it there, and
// the answer is written on the connection's own strand.
class Responder {
  public:
    virtual ~Responder() = default;
    virtual void answer(Outgoing outgoing) = 0;
};

// A handle on the Responder that keeps the connection alive until the
// answer is given; call it exactly once.
class Reply {
  public:
    explicit Reply(std::shared_ptr<Responder> to) : to_(std::move(to)) {}
    void operator()(Outgoing outgoing) const { to_->answer(std::move(outgoing)); }

  private:
    std::shared_ptr<Responder> to_;
};

}  // namespace funnelhouse::http
