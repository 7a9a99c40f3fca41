#include "funnelhouse/http/server.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "funnelhouse/dashboard/assets.hpp"
#include "funnelhouse/dashboard/reader.hpp"
#include "funnelhouse/http/error.hpp"
#include "funnelhouse/http/exchange.hpp"
#include "funnelhouse/http/limits.hpp"
#include "funnelhouse/http/routes.hpp"
#include "funnelhouse/http/services.hpp"
#include "funnelhouse/ingest/error.hpp"
#include "funnelhouse/ingest/request.hpp"

namespace funnelhouse::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using Request = bhttp::request<bhttp::string_body>;
using Header = bhttp::request_parser<bhttp::string_body>::value_type;

// The key a client address is limited and counted under: the address
// itself for IPv4, its /64 for IPv6 (one host's usual allocation).
std::string address_key(const std::string& address) {
    return ingest::truncate_address(address, 32, 64).value_or(address);
}

bhttp::verb verb_of(Method method) {
    return method == Method::get ? bhttp::verb::get : bhttp::verb::post;
}

// One connection: reads requests, applies the route table's policies,
// hands each request to its route's handler and writes the answer. Reads
// and writes run on the connection's strand; handlers answer from any
// thread through the Responder interface.
class Session : public Responder, public std::enable_shared_from_this<Session> {
  public:
    // `peer` is the address the connection came from, already admitted by
    // the connection limit under `peer_key`.
    Session(tcp::socket&& socket, Services& services, bool admin, bool loopback, std::string peer,
            std::string peer_key)
        : stream_(std::move(socket)),
          executor_(stream_.get_executor()),
          services_(services),
          admin_(admin),
          loopback_(loopback),
          peer_(std::move(peer)),
          peer_key_(std::move(peer_key)) {
        services_.metrics.http_connections.add(1);
    }
    ~Session() override {
        services_.metrics.http_connections.add(-1);
        services_.connections.close(peer_key_);
    }

    void run() {
        net::dispatch(stream_.get_executor(),
                      beast::bind_front_handler(&Session::do_read_header, shared_from_this()));
    }

    void answer(Outgoing outgoing) override {
        net::dispatch(executor_,
                      [self = shared_from_this(), outgoing = std::move(outgoing)]() mutable {
                          self->write(std::move(outgoing));
                      });
    }

  private:
    // A slow client cannot hold the connection: the header and the body each
    // have their own deadline, counted from when waiting for them begins.
    void do_read_header() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(services_.config.max_header_bytes));
        parser_->body_limit(services_.config.max_request_bytes);
        stream_.expires_after(services_.config.header_timeout);
        bhttp::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&Session::on_header, shared_from_this()));
    }

    void on_header(beast::error_code ec, std::size_t) {
        if (ec == beast::error::timeout) {
            // An idle keep-alive connection that sent nothing is no abuse.
            if (buffer_.size() > 0 || parser_->got_some()) services_.count_limit("header_timeout");
            return;  // the stream closed the socket
        }
        if (ec) return on_read(ec, 0);
        started_ = std::chrono::steady_clock::now();
        const auto& header = parser_->get();
        version_ = header.version();
        const auto* route = match_route(path_of(header.target()));
        route_ = route ? route->label(path_of(header.target())) : "other";
        origin_ = std::string{header[bhttp::field::origin]};
        client_address_ = client_address(header);
        if (header.target().size() > services_.config.max_request_line_bytes) {
            services_.count_limit("request_line_bytes");
            return write(
                closing(refusal(errc::target_too_long,
                                "request target is " + std::to_string(header.target().size()) +
                                    " bytes; the limit is " +
                                    std::to_string(services_.config.max_request_line_bytes) +
                                    " bytes (FUNNELHOUSE_MAX_REQUEST_LINE_BYTES)")));
        }
        // Rate limits are checked before the body is read: a client over its
        // limit costs no body and no parse.
        if (route && route->ingest &&
            served_on(*route, admin_, services_.config.admin_listen_set) &&
            header.method() == bhttp::verb::post && over_rate_limit(header))
            return;
        stream_.expires_after(services_.config.body_timeout);
        bhttp::async_read(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    // The connection's peer, or when the peer is one of
    // FUNNELHOUSE_TRUSTED_PROXIES the address in the last X-Forwarded-For
    // field: a proxy that adds a line of its own (instead of appending to
    // the client's) puts it after whatever the client sent.
    std::string client_address(const Header& header) const {
        if (!services_.config.trusted_proxies.contains(peer_)) return peer_;
        std::string_view last_field;
        for (auto [it, end] = header.equal_range("X-Forwarded-For"); it != end; ++it)
            last_field = it->value();
        if (const auto forwarded = last_forwarded_address(last_field)) return *forwarded;
        return peer_;
    }

    // The rate limits of the ingest routes (RateLimits): per client address
    // (but for server keys) and per write key. Answers 429 and returns true
    // when over either.
    bool over_rate_limit(const Header& header) {
        const auto key_text =
            ingest::write_key_from_authorization(header[bhttp::field::authorization]);
        const ingest::WriteKey* key = key_text ? services_.keys.find(*key_text) : nullptr;
        header_key_ = key;
        const auto now = std::chrono::steady_clock::now();
        auto refusal = services_.rate_limits.take_address(key, address_key(client_address_), now);
        if (!refusal && key) {
            key_rate_taken_ = true;
            refusal = services_.rate_limits.take_key(*key, now);
        }
        if (!refusal) return false;
        services_.count_limit(refusal->limit);
        write(rate_refusal(*refusal));
        return true;
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (!parser_->is_header_done()) started_ = std::chrono::steady_clock::now();
        const auto* route =
            parser_->is_header_done() ? match_route(path_of(parser_->get().target())) : nullptr;
        route_ = route ? route->label(path_of(parser_->get().target())) : "other";
        if (ec == bhttp::error::end_of_stream || ec == net::error::connection_reset)
            return do_close();
        if (ec == beast::error::timeout) {
            services_.count_limit("body_timeout");
            return;  // the stream closed the socket
        }
        if (ec) return on_read_failed(ec);
        // Nothing in handling is expected to throw (parsing is non-throwing);
        // this keeps an allocation failure from taking an io thread down.
        try {
            handle(parser_->release());
        } catch (const std::exception& error) {
            spdlog::error("request failed: {}", error.what());
            write(closing(refusal(errc::internal, "internal error")));
        }
    }

    // A request that could not be read whole: over a limit, malformed, or
    // the connection failed.
    void on_read_failed(beast::error_code ec) {
        const auto& config = services_.config;
        if (ec == bhttp::error::body_limit) {
            services_.count_limit("body_bytes");
            return write(
                closing(refusal(ingest::errc::request_too_large,
                                "request body exceeds " + std::to_string(config.max_request_bytes) +
                                    " bytes (FUNNELHOUSE_MAX_REQUEST_BYTES)")));
        }
        if (ec == bhttp::error::header_limit) {
            services_.count_limit("header_bytes");
            return write(closing(
                refusal(errc::headers_too_large, "request line and headers exceed " +
                                                     std::to_string(config.max_header_bytes) +
                                                     " bytes (FUNNELHOUSE_MAX_HEADER_BYTES)")));
        }
        if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category())
            return write(
                closing(refusal(errc::malformed_http, "malformed HTTP request: " + ec.message())));
        spdlog::debug("read failed: {}", ec.message());
        do_close();
    }

    static Outgoing closing(Outgoing outgoing) {
        outgoing.close = true;
        return outgoing;
    }

    // The route table's dispatch: the route, its CORS policy, its method,
    // who may ask, then its handler.
    void handle(Request&& request) {
        stream_.expires_never();
        version_ = request.version();
        keep_alive_ = request.keep_alive();
        const auto path = path_of(request.target());
        const auto* route = match_route(path);
        if (!route || !served_on(*route, admin_, services_.config.admin_listen_set))
            return write(refusal(errc::not_found, "no such route: " + std::string{path}));
        if (route->cors != Cors::shop) origin_.clear();
        const bool preflight = route->preflight && request.method() == bhttp::verb::options;
        if (!preflight && request.method() != verb_of(route->method))
            return write(refusal(errc::method_not_allowed,
                                 route->method == Method::get ? "use GET" : "use POST")
                             .with("Allow", route->allow));
        if (auto refused = refuse_access(*route, services_.config.admin_token,
                                         request[bhttp::field::authorization], loopback_))
            return write(std::move(*refused));
        const auto incoming = incoming_of(request, path);
        handed_over_ = true;
        ++services_.unanswered;
        (preflight ? route->preflight : route->handler)(services_, incoming,
                                                        Reply(shared_from_this()));
    }

    Incoming incoming_of(const Request& request, std::string_view path) const {
        const std::string_view target = request.target();
        return Incoming{
            path,
            path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view{},
            request.body(),
            request[bhttp::field::authorization],
            request[bhttp::field::content_encoding],
            request[bhttp::field::if_none_match],
            request[bhttp::field::access_control_request_headers],
            origin_,
            client_address_,
            key_rate_taken_,
            header_key_,
        };
    }

    // Writes an answer, with what every answer carries.
    void write(Outgoing outgoing) {
        response_ = {};
        response_.version(version_);
        response_.result(static_cast<bhttp::status>(outgoing.status));
        response_.set(bhttp::field::server, "funnelhouse");
        response_.set(bhttp::field::content_type, outgoing.content_type);
        // A stopping server closes connections after answering.
        response_.keep_alive(keep_alive_ && !outgoing.close && !services_.stopping.load());
        // Let a page read the answer (also a refusal) when its origin may
        // send with some browser key.
        if (!origin_.empty() && services_.keys.any_browser_key_allows(origin_)) {
            response_.set(bhttp::field::access_control_allow_origin, origin_);
            // A page's tracker waits as long as a 429 or 503 says.
            response_.set(bhttp::field::access_control_expose_headers, "Retry-After");
            response_.set(bhttp::field::vary, "Origin");
        }
        response_.body() = std::move(outgoing.body);
        response_.prepare_payload();
        for (auto& [field, value] : outgoing.headers) response_.set(field, std::move(value));
        bhttp::async_write(stream_, response_,
                           beast::bind_front_handler(&Session::on_write, shared_from_this(),
                                                     !response_.keep_alive()));
    }

    void on_write(bool close, beast::error_code ec, std::size_t) {
        const auto status = std::to_string(response_.result_int());
        services_.metrics.http_requests.with({route_, status}).inc();
        services_.metrics.http_request_seconds.with({route_}).observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
        if (handed_over_) {
            handed_over_ = false;
            --services_.unanswered;
        }
        if (ec) return;
        if (close) return do_drain_and_close();
        key_rate_taken_ = false;
        header_key_ = nullptr;
        do_read_header();
    }

    // After refusing a request early (for example a body over the limit), the
    // client may still be sending. Closing with unread data would reset the
    // connection and could destroy the answer in flight, so read and discard
    // for a bounded time first.
    void do_drain_and_close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream_.expires_after(std::chrono::seconds(2));
        drain();
    }

    void drain() {
        stream_.async_read_some(net::buffer(scratch_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec) return self->do_close();
                                    self->drain();
                                });
    }

    void do_close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }

    beast::tcp_stream stream_;
    // The connection's strand, copied once: handlers answer from other
    // threads, which must not touch the stream.
    const beast::tcp_stream::executor_type executor_;
    Services& services_;
    const bool admin_;             // accepted on the admin listener
    const bool loopback_;          // accepted on a listener bound to a loopback address
    const std::string peer_;       // the connection's remote address
    const std::string peer_key_;   // its key in the connection limit
    std::string client_address_;   // the current request's client (X-Forwarded-For if trusted)
    std::string origin_;           // its Origin header, while its route's CORS policy allows
    bool key_rate_taken_ = false;  // its key's token is taken
    const ingest::WriteKey* header_key_ = nullptr;  // the key its Authorization names
    bool handed_over_ = false;                      // it is with its handler: counted as unanswered
    std::string route_ = "other";                   // its metrics label
    std::chrono::steady_clock::time_point started_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    bhttp::response<bhttp::string_body> response_;
    unsigned version_ = 11;
    bool keep_alive_ = false;
    std::array<char, 4096> scratch_{};
};

class Listener : public std::enable_shared_from_this<Listener> {
  public:
    Listener(net::io_context& ioc, tcp::acceptor&& acceptor, Services& services, bool admin)
        : ioc_(ioc),
          acceptor_(std::move(acceptor)),
          retry_timer_(ioc),
          services_(services),
          admin_(admin) {
        beast::error_code ec;
        const auto bound = acceptor_.local_endpoint(ec);
        loopback_ = !ec && bound.address().is_loopback();
    }

    void start() { do_accept(); }

    void stop() {
        net::post(acceptor_.get_executor(), [self = shared_from_this()] {
            beast::error_code ec;
            self->acceptor_.close(ec);
        });
    }

  private:
    void do_accept() {
        acceptor_.async_accept(net::make_strand(ioc_),
                               beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
            // Typically out of file descriptors: pause instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            retry_timer_.expires_after(std::chrono::milliseconds(100));
            retry_timer_.async_wait(
                [self = shared_from_this()](beast::error_code) { self->do_accept(); });
            return;
        }
        beast::error_code endpoint_ec;
        const auto remote = socket.remote_endpoint(endpoint_ec);
        std::string peer = endpoint_ec ? std::string{} : remote.address().to_string();
        std::string peer_key = address_key(peer);
        switch (services_.connections.open(peer_key)) {
            case ConnectionLimiter::Verdict::admitted:
                std::make_shared<Session>(std::move(socket), services_, admin_, loopback_,
                                          std::move(peer), std::move(peer_key))
                    ->run();
                break;
            // Closed without a word: an answer would cost what the limit
            // protects. Clients see a reset and retry later.
            case ConnectionLimiter::Verdict::too_many:
                services_.metrics.http_limited.with({"connections"}).inc();
                socket.close(endpoint_ec);
                break;
            case ConnectionLimiter::Verdict::too_many_from_address:
                services_.metrics.http_limited.with({"connections_per_address"}).inc();
                socket.close(endpoint_ec);
                break;
        }
        do_accept();
    }

    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    Services& services_;
    const bool admin_;
    bool loopback_ = false;  // bound to a loopback address
};

// Opens, binds and listens; throws naming the setting when it cannot.
tcp::acceptor open_acceptor(net::io_context& ioc, const std::string& host, std::uint16_t port,
                            const char* setting) {
    beast::error_code ec;
    const auto address = net::ip::make_address(host, ec);
    if (ec)
        throw std::runtime_error(std::string(setting) + ": '" + host + "' is not an IP address");
    tcp::acceptor acceptor(ioc);
    const tcp::endpoint endpoint{address, port};
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error(std::string(setting) + ": cannot listen on " + host + ":" +
                                 std::to_string(port) + ": " + ec.message());
    return acceptor;
}

std::string url_of(const tcp::endpoint& bound) {
    const std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                                     : bound.address().to_string();
    return "http://" + host + ":" + std::to_string(bound.port());
}

// The page's and the tracker's files, read once at start-up; a missing one
// is a warning and a 404 with its reason.
struct StartupAssets {
    dashboard::Assets page;
    std::optional<dashboard::Asset> tracker;
    std::string tracker_problem;
};

StartupAssets load_assets(const config::Config& config) {
    StartupAssets assets{
        dashboard::Assets::load(config.dashboard_dir.empty()
                                    ? std::filesystem::path{FUNNELHOUSE_DASHBOARD_DIR}
                                    : config.dashboard_dir),
        std::nullopt,
        {}};
    if (assets.page.empty()) spdlog::warn("{}", assets.page.problem());
    assets.tracker = dashboard::read_asset(config.tracker_file.empty()
                                               ? std::filesystem::path{FUNNELHOUSE_TRACKER_FILE}
                                               : config.tracker_file,
                                           assets.tracker_problem);
    if (!assets.tracker) {
        assets.tracker_problem =
            "the browser tracker is not built: " + assets.tracker_problem +
            " (scripts/build makes it; FUNNELHOUSE_TRACKER_FILE points elsewhere)";
        spdlog::warn("{}", assets.tracker_problem);
    }
    return assets;
}

// The main listener, and the admin one when FUNNELHOUSE_ADMIN_LISTEN is set,
// started; prints their addresses as the command's contract says.
std::vector<std::shared_ptr<Listener>> start_listeners(net::io_context& ioc, Services& services,
                                                       unsigned threads) {
    const auto& config = services.config;
    auto acceptor =
        open_acceptor(ioc, config.listen_host, config.listen_port, "FUNNELHOUSE_LISTEN");
    const auto url = url_of(acceptor.local_endpoint());
    std::vector<std::shared_ptr<Listener>> listeners;
    listeners.push_back(std::make_shared<Listener>(ioc, std::move(acceptor), services, false));
    std::string admin_url;
    if (config.admin_listen_set) {
        auto admin = open_acceptor(ioc, config.admin_listen_host, config.admin_listen_port,
                                   "FUNNELHOUSE_ADMIN_LISTEN");
        admin_url = url_of(admin.local_endpoint());
        listeners.push_back(std::make_shared<Listener>(ioc, std::move(admin), services, true));
    }
    for (auto& listener : listeners) listener->start();
    if (!admin_url.empty()) std::printf("admin listening on %s\n", admin_url.c_str());
    std::printf("listening on %s\n", url.c_str());
    std::fflush(stdout);
    spdlog::info("serving on {} with {} io threads{}", url, threads,
                 admin_url.empty() ? std::string{} : "; admin routes on " + admin_url);
    return listeners;
}

// After the stop signal: no new connections, the requests in flight
// answered (in the durable mode that takes a sync, in the loaded mode a
// commit, bounded by the shutdown timeout), then the intake closed:
// everything submitted is synced (later requests get 503), and what the
// spool holds loads until the deadline; the rest waits for the next start.
void shut_down(Services& services, const std::vector<std::shared_ptr<Listener>>& listeners) {
    for (const auto& listener : listeners) listener->stop();
    services.stopping = true;
    const auto deadline = std::chrono::steady_clock::now() + services.config.shutdown_timeout;
    const auto wait_for_answers = [&services](std::chrono::steady_clock::time_point until) {
        while (services.unanswered.load() > 0 && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    };
    wait_for_answers(deadline);
    const auto left = services.intake.close(deadline);
    wait_for_answers(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    if (left > 0)
        spdlog::warn("{} spooled requests are not loaded yet; they load at the next start", left);
}

}  // namespace

void serve(const config::Config& config, const schema::SchemaRegistry& registry,
           const ingest::WriteKeyRing& keys, intake::Intake& intake,
           metrics::Instruments& metrics) {
    const auto assets = load_assets(config);
    // Stopped (reset) while the io_context still runs: its last answers are
    // posted there.
    auto reader = std::make_unique<dashboard::Reader>(dashboard::ReaderSettings{
        config.dashboard_database_url.empty() ? config.database_url : config.dashboard_database_url,
        config.dashboard_role, config.dashboard_connections, config.dashboard_queue,
        config.dashboard_timeout});
    Services services{
        config,
        registry,
        keys,
        intake,
        metrics,
        ingest::IngestSettings{config.max_event_bytes, config.max_request_bytes, config.junk_ids,
                               ingest::privacy_settings(config), config.max_json_depth},
        ConnectionLimiter{config.max_connections, config.max_connections_per_address},
        RateLimits{config, keys},
        assets.page,
        assets.tracker,
        assets.tracker_problem,
        *reader};
    // After `services`, so destroyed before it: handlers it still holds end
    // sessions, which use `services`.
    const unsigned threads = config.effective_io_threads();
    net::io_context ioc(static_cast<int>(threads));
    const auto listeners = start_listeners(ioc, services, threads);

    std::promise<int> stop_signal;
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int signal) { stop_signal.set_value(signal); });
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) workers.emplace_back([&ioc] { ioc.run(); });

    const int signal = stop_signal.get_future().get();
    spdlog::info("signal {} received: stopping (a second one exits at once)", signal);
    signals.async_wait([](beast::error_code ec, int) {
        if (!ec) std::_Exit(130);
    });
    shut_down(services, listeners);
    // Queries in flight finish (FUNNELHOUSE_DASHBOARD_TIMEOUT_MS at most) and
    // post their answers while the io threads still run.
    reader.reset();
    ioc.stop();
    for (auto& worker : workers) worker.join();
    spdlog::info("stopped");
}

}  // namespace funnelhouse::http
