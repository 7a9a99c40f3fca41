// The senders' HTTP(S) client: Beast over Asio and OpenSSL. One of the few
// files that include Beast (docs/development.md).
#include "funnelhouse/activation/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <stdexcept>

#include "funnelhouse/common/time.hpp"

namespace funnelhouse::activation {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct Target {
    bool tls = false;
    std::string host;  // without brackets
    std::string port;
    std::string path;  // with the query
    std::string host_header;
};

std::optional<Target> target_of(const std::string& text) {
    const auto url = boost::urls::parse_uri(text);
    if (!url) return std::nullopt;
    Target t;
    if (url->scheme() == "https")
        t.tls = true;
    else if (url->scheme() != "http")
        return std::nullopt;
    t.host = url->host_address();
    if (t.host.empty()) return std::nullopt;
    t.port = url->has_port() ? std::string(url->port()) : (t.tls ? "443" : "80");
    t.path = url->encoded_target();
    if (t.path.empty()) t.path = "/";
    t.host_header = url->encoded_authority();
    return t;
}

// One request and its answer, each step's failure named.
struct Exchange {
    http::request<http::string_body> request;
    http::response_parser<http::string_body> parser;
    beast::flat_buffer buffer;
    std::string failure;
    bool done = false;

    void fail(const char* step, const beast::error_code& ec) {
        failure = std::string(step) + ": " + ec.message();
    }
};

// Send, then read the answer, on a connected (and shaken hands) stream.
template <class Stream>
void send_and_read(Stream& stream, Exchange& x) {
    http::async_write(stream, x.request, [&](beast::error_code ec, std::size_t) {
        if (ec) return x.fail("send", ec);
        http::async_read(stream, x.buffer, x.parser, [&](beast::error_code ec, std::size_t) {
            if (ec) return x.fail("read", ec);
            x.done = true;
        });
    });
}

template <class Stream>
void start(Stream& stream, tcp::resolver& resolver, const Target& t, Exchange& x) {
    resolver.async_resolve(
        t.host, t.port, [&](beast::error_code ec, const tcp::resolver::results_type& results) {
            if (ec) return x.fail("resolve", ec);
            beast::get_lowest_layer(stream).async_connect(
                results, [&](beast::error_code ec, const tcp::endpoint&) {
                    if (ec) return x.fail("connect", ec);
                    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
                        send_and_read(stream, x);
                    } else {
                        stream.async_handshake(ssl::stream_base::client, [&](beast::error_code ec) {
                            if (ec) return x.fail("TLS", ec);
                            send_and_read(stream, x);
                        });
                    }
                });
        });
}

}  // namespace

struct HttpClient::Impl {
    ClientSettings settings;
    ssl::context tls{ssl::context::tls_client};
};

HttpClient::HttpClient(ClientSettings settings) : impl_(std::make_unique<Impl>()) {
    impl_->settings = std::move(settings);
    impl_->tls.set_default_verify_paths();
    if (!impl_->settings.ca_file.empty()) {
        beast::error_code ec;
        impl_->tls.load_verify_file(impl_->settings.ca_file.string(), ec);
        if (ec)
            throw std::runtime_error("cannot read the CA file '" +
                                     impl_->settings.ca_file.string() + "': " + ec.message());
    }
    impl_->tls.set_verify_mode(ssl::verify_peer);
}

HttpClient::~HttpClient() = default;

Answer HttpClient::post(const Post& request) {
    Answer answer;
    const auto target = target_of(request.url);
    if (!target) {
        answer.error = "not an http:// or https:// URL";
        return answer;
    }
    // Declared first, destroyed last: the streams go before it.
    asio::io_context io;
    tcp::resolver resolver(io);
    Exchange x;
    x.request = {http::verb::post, target->path, 11};
    x.request.set(http::field::host, target->host_header);
    x.request.set(http::field::user_agent, "funnelhouse/" FUNNELHOUSE_VERSION);
    x.request.set(http::field::content_type, request.content_type);
    for (const auto& [name, value] : request.headers) x.request.set(name, value);
    x.request.body() = request.body;
    x.request.prepare_payload();
    x.parser.body_limit(impl_->settings.max_answer_bytes);

    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    if (target->tls) {
        secure.emplace(io, impl_->tls);
        if (!SSL_set_tlsext_host_name(secure->native_handle(), target->host.c_str())) {
            answer.error = "TLS: cannot set the server name";
            return answer;
        }
        secure->set_verify_callback(ssl::host_name_verification(target->host));
        start(*secure, resolver, *target, x);
    } else {
        plain.emplace(io);
        start(*plain, resolver, *target, x);
    }
    io.run_for(impl_->settings.timeout);
    if (!x.done) {
        answer.error =
            x.failure.empty()
                ? "timed out after " + std::to_string(impl_->settings.timeout.count()) + " ms"
                : x.failure;
        return answer;
    }
    const auto& response = x.parser.get();
    answer.status = static_cast<int>(response.result_int());
    answer.body = response.body();
    const auto retry_after = response.find(http::field::retry_after);
    if (retry_after != response.end())
        answer.retry_after = parse_retry_after(
            std::string_view(retry_after->value().data(), retry_after->value().size()),
            common::now());
    return answer;
}

}  // namespace funnelhouse::activation
