// Load generator for bench/run: keep-alive connections on one thread that
// post the traffic of traffic.hpp for a fixed time, either as fast as the
// server answers (closed loop) or at a fixed request rate (open loop, to
// measure latency at a given share of the sustainable load). Reports one JSON
// line; optionally writes, per acknowledged request, the id of one of its new
// events and the wall-clock time of the acknowledgement in microseconds (for
// the ingest-to-visible lag).
//
//   funnelhouse_loadgen --port P --key K --browser-key B [--connections 8]
//                       [--seconds 10] [--events-per-request 100]
//                       [--duplicate-every 10] [--rate REQUESTS_PER_SECOND]
//                       [--requests N] [--prefix run1] [--acks FILE]
//
// With --requests, the run ends after N requests (or the time, whichever
// comes first): a fixed amount of work, for costs per event.
//
// In the open loop a request's latency counts from the moment it was due,
// not from when a free connection sent it, so a stalled server shows as
// latency instead of as fewer requests.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "funnelhouse/common/base64.hpp"
#include "traffic.hpp"

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

namespace {

struct Options {
    unsigned short port = 0;
    std::string key;
    std::string browser_key;
    int connections = 8;
    double seconds = 10;
    int events_per_request = 100;
    int duplicate_every = 10;
    double rate = 0;  // requests per second; 0: closed loop
    std::uint64_t requests = 0;  // 0: as many as the time allows
    std::string prefix = "bench";
    std::string acks_file;
};

struct Totals {
    std::vector<double> latencies_ms;
    std::uint64_t events = 0;
    std::uint64_t new_events = 0;
    std::map<int, std::uint64_t> statuses;
    std::uint64_t errors = 0;
    std::vector<std::pair<std::string, long long>> acks;  // sample id, ack time (µs)
};

struct Run {
    Options options;
    steady::time_point started;
    steady::time_point until;
    std::uint64_t slots = 0;  // open loop: requests due so far
    std::uint64_t issued = 0;  // requests started so far
    Totals totals;
    std::string server_authorization;
    std::string browser_authorization;

    // When the next request is due, or nothing once the run is over.
    std::optional<steady::time_point> next_due() {
        if (options.requests > 0 && issued >= options.requests) return std::nullopt;
        ++issued;
        if (options.rate <= 0) {
            const auto now = steady::now();
            if (now >= until) return std::nullopt;
            return now;
        }
        const auto due = started + std::chrono::duration_cast<steady::duration>(
                                       std::chrono::duration<double>(
                                           static_cast<double>(slots) / options.rate));
        if (due >= until) return std::nullopt;
        ++slots;
        return due;
    }
};

long long wall_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

net::awaitable<void> run_connection(Run& run, int index) {
    const auto executor = co_await net::this_coro::executor;
    funnelhouse::bench::TrafficStream traffic(run.options.prefix + "-" + std::to_string(index),
                                              run.options.events_per_request,
                                              run.options.duplicate_every);
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    net::steady_timer timer(executor);
    const tcp::endpoint server(net::ip::make_address("127.0.0.1"), run.options.port);
    const bool single = run.options.events_per_request == 1;
    // A request that failed on a broken connection is sent again (the same
    // request, same ids), so every event due is posted.
    std::optional<funnelhouse::bench::TrafficStream::Request> pending;
    std::optional<steady::time_point> pending_due;
    bhttp::request<bhttp::string_body> request{bhttp::verb::post,
                                               single ? "/v1/track" : "/v1/batch", 11};
    request.set(bhttp::field::host, "127.0.0.1");
    request.set(bhttp::field::content_type, "application/json");
    request.keep_alive(true);
    for (;;) {
        if (!pending) {
            pending_due = run.next_due();
            if (!pending_due) break;
            pending = traffic.next();
            request.set(bhttp::field::authorization, pending->server_key
                                                         ? run.server_authorization
                                                         : run.browser_authorization);
            request.body() = std::move(pending->body);
            request.prepare_payload();
            if (run.options.rate > 0) {
                timer.expires_at(*pending_due);
                co_await timer.async_wait(use_tuple);
            }
        } else if (steady::now() >= run.until) {
            break;
        }
        if (!stream) {
            stream.emplace(executor);
            buffer.clear();
            auto [ec] = co_await stream->async_connect(server, use_tuple);
            if (ec) {
                ++run.totals.errors;
                stream.reset();
                timer.expires_after(std::chrono::milliseconds(10));
                co_await timer.async_wait(use_tuple);
                continue;
            }
        }
        const auto sent = run.options.rate > 0 ? *pending_due : steady::now();
        auto [write_error, written] = co_await bhttp::async_write(*stream, request, use_tuple);
        bhttp::response<bhttp::string_body> response;
        beast::error_code read_error;
        if (!write_error) {
            auto [ec, read] = co_await bhttp::async_read(*stream, buffer, response, use_tuple);
            read_error = ec;
        }
        if (write_error || read_error) {
            ++run.totals.errors;
            stream.reset();
            continue;
        }
        const auto elapsed = std::chrono::duration<double, std::milli>(steady::now() - sent);
        ++run.totals.statuses[static_cast<int>(response.result_int())];
        if (response.result_int() == 200) {
            run.totals.latencies_ms.push_back(elapsed.count());
            run.totals.events += static_cast<std::uint64_t>(run.options.events_per_request);
            run.totals.new_events += static_cast<std::uint64_t>(pending->new_events);
            if (!run.options.acks_file.empty() && !pending->sample_id.empty())
                run.totals.acks.emplace_back(pending->sample_id, wall_micros());
        }
        pending.reset();
        if (!response.keep_alive()) stream.reset();
    }
}

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    return sorted[index];
}

}  // namespace

int main(int argc, char** argv) {
    Run run;
    auto& options = run.options;
    for (int i = 1; i < argc; i += 2) {
        const std::string name = argv[i];
        if (i + 1 >= argc) {
            std::cerr << name << " needs a value\n";
            return 2;
        }
        const std::string value = argv[i + 1];
        if (name == "--port")
            options.port = static_cast<unsigned short>(std::stoi(value));
        else if (name == "--key")
            options.key = value;
        else if (name == "--browser-key")
            options.browser_key = value;
        else if (name == "--connections")
            options.connections = std::stoi(value);
        else if (name == "--seconds")
            options.seconds = std::stod(value);
        else if (name == "--events-per-request")
            options.events_per_request = std::stoi(value);
        else if (name == "--duplicate-every")
            options.duplicate_every = std::stoi(value);
        else if (name == "--rate")
            options.rate = std::stod(value);
        else if (name == "--requests")
            options.requests = std::stoull(value);
        else if (name == "--prefix")
            options.prefix = value;
        else if (name == "--acks")
            options.acks_file = value;
        else {
            std::cerr << "unknown option " << name << "\n";
            return 2;
        }
    }
    if (options.port == 0 || options.key.empty() || options.browser_key.empty() ||
        options.connections < 1 || options.events_per_request < 1 || options.duplicate_every < 0) {
        std::cerr << "usage: funnelhouse_loadgen --port P --key K --browser-key B "
                     "[--connections N] [--seconds S] [--events-per-request N] "
                     "[--duplicate-every N] [--rate R] [--requests N] [--prefix P] "
                     "[--acks FILE]\n";
        return 2;
    }
    run.server_authorization = "Basic " + funnelhouse::common::base64_encode(options.key + ":");
    run.browser_authorization =
        "Basic " + funnelhouse::common::base64_encode(options.browser_key + ":");
    net::io_context ioc(1);
    run.started = steady::now();
    run.until = run.started + std::chrono::duration_cast<steady::duration>(
                                  std::chrono::duration<double>(options.seconds));
    for (int c = 0; c < options.connections; ++c)
        net::co_spawn(ioc, run_connection(run, c), net::detached);
    ioc.run();
    const double elapsed = std::chrono::duration<double>(steady::now() - run.started).count();

    auto& totals = run.totals;
    std::sort(totals.latencies_ms.begin(), totals.latencies_ms.end());
    nlohmann::json report = {
        {"seconds", elapsed},
        {"requests_acknowledged", totals.latencies_ms.size()},
        {"events_acknowledged", totals.events},
        {"new_events_acknowledged", totals.new_events},
        {"events_per_second", static_cast<double>(totals.events) / elapsed},
        {"requests_per_second", static_cast<double>(totals.latencies_ms.size()) / elapsed},
        {"p50_ms", percentile(totals.latencies_ms, 0.50)},
        {"p99_ms", percentile(totals.latencies_ms, 0.99)},
        {"p999_ms", percentile(totals.latencies_ms, 0.999)},
        {"connection_errors", totals.errors},
        {"statuses", nlohmann::json::object()}};
    for (const auto& [status, count] : totals.statuses)
        report["statuses"][std::to_string(status)] = count;
    if (!options.acks_file.empty()) {
        std::ofstream acks(options.acks_file);
        for (const auto& [id, micros] : totals.acks) acks << id << '\t' << micros << '\n';
        if (!acks) {
            std::cerr << "cannot write " << options.acks_file << "\n";
            return 1;
        }
    }
    std::cout << report.dump() << std::endl;
    return 0;
}
