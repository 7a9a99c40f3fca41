// Load generator for bench/run: keep-alive connections that each post
// Segment-format requests back to back for a fixed time, and report
// acknowledged events per second and acknowledgement latency percentiles as
// one JSON line.
//
//   funnelhouse_loadgen --port P --key K [--connections 8] [--seconds 10]
//                       [--events-per-request 100] [--prefix run1]
#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "funnelhouse/common/base64.hpp"

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

struct Options {
    unsigned short port = 0;
    std::string key;
    int connections = 8;
    double seconds = 10;
    int events_per_request = 100;
    std::string prefix = "bench";
};

// About 300 bytes per event, like a product interaction with page context.
std::string event_json(const std::string& id, int n) {
    return R"({"type":"track","messageId":")" + id +
           R"(","event":"add_to_cart","anonymousId":"anon-)" + std::to_string(n % 5000) +
           R"(","timestamp":"2026-11-20T10:00:00.000Z","properties":{"product_id":"sku-)" +
           std::to_string(n % 977) + R"(","price":)" + std::to_string(10 + n % 90) +
           R"(.5,"quantity":1},"context":{"page":{"path":"/products/item-)" +
           std::to_string(n % 977) +
           R"J(","url":"https://shop.example/products"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)"}})J";
}

struct Result {
    std::vector<double> latencies_ms;
    std::uint64_t events = 0;
    std::map<int, std::uint64_t> statuses;
    std::uint64_t errors = 0;
};

void run_connection(const Options& options, int index, steady::time_point until, Result& out) {
    net::io_context ioc;
    std::unique_ptr<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    const auto authorization = "Basic " + funnelhouse::common::base64_encode(options.key + ":");
    std::uint64_t sequence = 0;
    while (steady::now() < until) {
        std::string body;
        if (options.events_per_request == 1) {
            body = event_json(
                options.prefix + "-" + std::to_string(index) + "-" + std::to_string(sequence),
                static_cast<int>(sequence));
            ++sequence;
        } else {
            body = R"({"batch":[)";
            for (int i = 0; i < options.events_per_request; ++i, ++sequence) {
                if (i) body += ',';
                body += event_json(
                    options.prefix + "-" + std::to_string(index) + "-" + std::to_string(sequence),
                    static_cast<int>(sequence));
            }
            body += "]}";
        }
        bhttp::request<bhttp::string_body> request{
            bhttp::verb::post, options.events_per_request == 1 ? "/v1/track" : "/v1/batch", 11};
        request.set(bhttp::field::host, "127.0.0.1");
        request.set(bhttp::field::content_type, "application/json");
        request.set(bhttp::field::authorization, authorization);
        request.keep_alive(true);
        request.body() = std::move(body);
        request.prepare_payload();
        beast::error_code ec;
        if (!stream) {
            stream = std::make_unique<beast::tcp_stream>(ioc);
            buffer.clear();
            stream->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), options.port), ec);
            if (ec) {
                ++out.errors;
                stream.reset();
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                continue;
            }
        }
        const auto started = steady::now();
        bhttp::write(*stream, request, ec);
        bhttp::response<bhttp::string_body> response;
        if (!ec) bhttp::read(*stream, buffer, response, ec);
        if (ec) {
            ++out.errors;
            stream.reset();
            continue;
        }
        const auto elapsed = std::chrono::duration<double, std::milli>(steady::now() - started);
        ++out.statuses[static_cast<int>(response.result_int())];
        if (response.result_int() == 200) {
            out.latencies_ms.push_back(elapsed.count());
            out.events += static_cast<std::uint64_t>(options.events_per_request);
        }
        if (!response.keep_alive()) stream.reset();
    }
}

double percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    return sorted[index];
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string name = argv[i];
        const std::string value = argv[i + 1];
        if (name == "--port")
            options.port = static_cast<unsigned short>(std::stoi(value));
        else if (name == "--key")
            options.key = value;
        else if (name == "--connections")
            options.connections = std::stoi(value);
        else if (name == "--seconds")
            options.seconds = std::stod(value);
        else if (name == "--events-per-request")
            options.events_per_request = std::stoi(value);
        else if (name == "--prefix")
            options.prefix = value;
        else {
            std::cerr << "unknown option " << name << "\n";
            return 2;
        }
    }
    if (options.port == 0 || options.key.empty() || options.connections < 1 ||
        options.events_per_request < 1) {
        std::cerr << "usage: funnelhouse_loadgen --port P --key K [--connections N] [--seconds S] "
                     "[--events-per-request N] [--prefix P]\n";
        return 2;
    }
    std::vector<Result> results(static_cast<std::size_t>(options.connections));
    std::vector<std::thread> threads;
    const auto started = steady::now();
    const auto until = started + std::chrono::duration_cast<steady::duration>(
                                     std::chrono::duration<double>(options.seconds));
    for (int c = 0; c < options.connections; ++c)
        threads.emplace_back(
            [&, c] { run_connection(options, c, until, results[static_cast<std::size_t>(c)]); });
    for (auto& thread : threads) thread.join();
    const double elapsed = std::chrono::duration<double>(steady::now() - started).count();

    Result total;
    for (auto& result : results) {
        total.latencies_ms.insert(total.latencies_ms.end(), result.latencies_ms.begin(),
                                  result.latencies_ms.end());
        total.events += result.events;
        total.errors += result.errors;
        for (const auto& [status, count] : result.statuses) total.statuses[status] += count;
    }
    std::sort(total.latencies_ms.begin(), total.latencies_ms.end());
    nlohmann::json report = {
        {"seconds", elapsed},
        {"requests_acknowledged", total.latencies_ms.size()},
        {"events_acknowledged", total.events},
        {"events_per_second", static_cast<double>(total.events) / elapsed},
        {"requests_per_second", static_cast<double>(total.latencies_ms.size()) / elapsed},
        {"p50_ms", percentile(total.latencies_ms, 0.50)},
        {"p99_ms", percentile(total.latencies_ms, 0.99)},
        {"p999_ms", percentile(total.latencies_ms, 0.999)},
        {"connection_errors", total.errors},
        {"statuses", nlohmann::json::object()}};
    for (const auto& [status, count] : total.statuses)
        report["statuses"][std::to_string(status)] = count;
    std::cout << report.dump() << std::endl;
    return 0;
}
