// The traffic the benchmark posts and the ceiling loads: Segment-format
// events of about 300 bytes, in requests of one event (as browsers send) or
// batches (as server-side SDKs send). Each id is unique, except that a share
// of the events is sent twice, once with the browser key and once with the
// server key, as a page and its backend do for the same order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace funnelhouse::bench {

// One event, about 300 bytes. The same id always gives the same event, so
// that both copies of a duplicated event agree on everything.
inline void append_event(std::string& out, const std::string& id, std::uint64_t n) {
    const auto product = std::to_string(n % 977);
    out += R"({"type":"track","messageId":")";
    out += id;
    out += R"(","event":"add_to_cart","anonymousId":"anon-)";
    out += std::to_string(n % 50'000);
    out += R"(","timestamp":"2026-11-20T10:00:00.000Z","properties":{"product_id":"sku-)";
    out += product;
    out += R"(","price":)";
    out += std::to_string(10 + n % 90);
    out += R"(.5,"quantity":1},"context":{"page":{"path":"/products/item-)";
    out += product;
    out += R"J(","url":"https://shop.example/products"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)"}})J";
}

// The requests of one connection. Request k carries `per_request` events:
// new ones, and (every `duplicate_every`-th event) a copy of an event of the
// connection's previous request, posted with the other key.
class TrafficStream {
  public:
    TrafficStream(std::string prefix, int per_request, int duplicate_every)
        : prefix_(std::move(prefix)), per_request_(per_request), duplicate_every_(duplicate_every) {}

    struct Request {
        std::string body;
        bool server_key = false;  // otherwise the browser key
        int new_events = 0;       // events never sent before
        std::string sample_id;    // see next(); may be empty
    };

    Request next() {
        Request request;
        const auto index = requests_++;
        // Keys alternate, so a copy always goes with the other key than the
        // first copy of its event.
        request.server_key = index % 2 == 1;
        const bool batch = per_request_ > 1;
        const auto copy_request = [&](std::uint64_t at) {
            const auto every = static_cast<std::uint64_t>(duplicate_every_);
            return every > 0 && at % every == every - 1;
        };
        std::vector<std::pair<std::string, std::uint64_t>> current;
        std::size_t copies = 0;
        if (batch) request.body = R"({"batch":[)";
        for (int i = 0; i < per_request_; ++i) {
            // Batches: every duplicate_every-th event is a copy, taken from
            // the end of the previous request. Single events: every
            // duplicate_every-th request is a copy of the one before.
            const bool copy = !previous_.empty() &&
                              (batch ? copy_request(static_cast<std::uint64_t>(i)) : copy_request(index));
            if (batch && i) request.body += ',';
            if (copy) {
                const auto& [id, n] = previous_[previous_.size() - 1 - copies++ % previous_.size()];
                append_event(request.body, id, n);
                continue;
            }
            const auto n = sequence_++;
            auto id = prefix_ + "-" + std::to_string(n);
            append_event(request.body, id, n);
            ++request.new_events;
            current.emplace_back(std::move(id), n);
        }
        if (batch) request.body += "]}";
        // A sample for the ingest-to-visible lag: a new event that no later
        // copy updates, so the commit that made its row visible is its own.
        if (!current.empty() && (batch ? current.size() > 2 * copies : !copy_request(index + 1)))
            request.sample_id = current.front().first;
        if (!current.empty()) previous_ = std::move(current);
        return request;
    }

  private:
    std::string prefix_;
    int per_request_;
    int duplicate_every_;
    std::uint64_t requests_ = 0;
    std::uint64_t sequence_ = 0;
    std::vector<std::pair<std::string, std::uint64_t>> previous_;
};

}  // namespace funnelhouse::bench
