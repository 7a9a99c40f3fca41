#include "http_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "funnelhouse/common/base64.hpp"

namespace funnelhouse::test {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpClient::State {
    net::io_context ioc;
    unsigned short port;
    std::unique_ptr<beast::tcp_stream> stream;
    beast::flat_buffer buffer;

    void connect() {
        stream = std::make_unique<beast::tcp_stream>(ioc);
        stream->expires_after(std::chrono::seconds(30));
        stream->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        buffer.clear();
    }
};

HttpClient::HttpClient(unsigned short port) : state_(std::make_unique<State>()) {
    state_->port = port;
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const std::string& body,
                                 const std::map<std::string, std::string>& headers) {
    bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(method), target, 11};
    request.set(bhttp::field::host, "127.0.0.1");
    request.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = body;
    request.prepare_payload();
    request.keep_alive(true);

    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!state_->stream) state_->connect();
        beast::error_code ec;
        state_->stream->expires_after(std::chrono::seconds(60));
        bhttp::write(*state_->stream, request, ec);
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        if (!ec) bhttp::read(*state_->stream, state_->buffer, parser, ec);
        if (ec) {
            // A kept-alive connection the server closed: retry once on a new one.
            state_->stream.reset();
            if (attempt == 0) continue;
            throw beast::system_error(ec);
        }
        auto response = parser.release();
        HttpResponse out;
        out.status = static_cast<int>(response.result_int());
        out.body = response.body();
        for (const auto& field : response) {
            std::string name{field.name_string()};
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            out.headers[name] = std::string{field.value()};
        }
        if (!response.keep_alive()) state_->stream.reset();
        return out;
    }
    return {};
}

HttpResponse HttpClient::post(const std::string& target, const std::string& body,
                              const std::string& write_key) {
    return request("POST", target, body,
                   {{"Authorization", "Basic " + common::base64_encode(write_key + ":")}});
}

std::string HttpClient::raw(const std::string& bytes) {
    state_->connect();
    // Blocking reads ignore the stream's expiry: bound them at the socket so a
    // server that never answers fails the test instead of hanging it.
    timeval limit{30, 0};
    setsockopt(state_->stream->socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit,
               sizeof limit);
    net::write(state_->stream->socket(), net::buffer(bytes));
    std::string answer;
    beast::error_code ec;
    std::array<char, 4096> chunk{};
    for (;;) {
        const auto n = state_->stream->socket().read_some(net::buffer(chunk), ec);
        answer.append(chunk.data(), n);
        if (ec) break;
    }
    state_->stream.reset();
    return answer;
}

bool wait_until_loaded(unsigned short port, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    HttpClient client(port);
    while (std::chrono::steady_clock::now() < until) {
        const auto ready = client.request("GET", "/readyz");
        const auto body = nlohmann::json::parse(ready.body, nullptr, false);
        if (body.is_object() && body.contains("spool") && body["spool"]["unloaded_records"] == 0)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

}  // namespace funnelhouse::test
