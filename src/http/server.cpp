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
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "funnelhouse/dashboard/assets.hpp"
#include "funnelhouse/dashboard/error.hpp"
#include "funnelhouse/dashboard/reader.hpp"
#include "funnelhouse/http/error.hpp"
#include "funnelhouse/http/limits.hpp"
#include "funnelhouse/http/status.hpp"
#include "funnelhouse/ingest/error.hpp"
#include "funnelhouse/ingest/message.hpp"
#include "funnelhouse/ingest/request.hpp"
#include "funnelhouse/intake/intake.hpp"
#include "funnelhouse/metrics/instruments.hpp"
#include "funnelhouse/metrics/tally.hpp"

namespace funnelhouse::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// What every connection shares; immutable except for the counters.
struct Shared {
    const config::Config& config;
    const schema::SchemaRegistry& registry;
    const ingest::WriteKeyRing& keys;
    intake::Intake& intake;
    metrics::Instruments& metrics;
    ingest::IngestSettings ingest;
    ConnectionLimiter connections;
    RateLimiter address_rate;
    RateLimiter key_rate;
    const dashboard::Assets& page;
    const std::optional<dashboard::Asset>& tracker;
    const std::string& tracker_problem;  // the 404 message when it is missing
    dashboard::Reader& reader;
    // Requests handed to the intake whose answer is not written yet:
    // shutdown waits for them.
    std::atomic<int> unanswered{0};
    std::atomic<bool> stopping{false};
};

std::string_view path_of(std::string_view target) {
    const auto query = target.find('?');
    return query == std::string_view::npos ? target : target.substr(0, query);
}

constexpr std::string_view kPagePrefix = "/dashboard/";
constexpr std::string_view kApiPrefix = "/api/dashboard/";

bool is_ingest_route(std::string_view path) { return ingest::find_ingest_route(path) != nullptr; }
bool is_tracker(std::string_view path) { return path == "/funnelhouse.js"; }
bool is_health(std::string_view path) { return path == "/healthz" || path == "/readyz"; }
bool is_metrics(std::string_view path) { return path == "/metrics"; }
bool is_page_route(std::string_view path) {
    return path == "/dashboard" || path.substr(0, kPagePrefix.size()) == kPagePrefix;
}
bool is_api_route(std::string_view path) { return path.substr(0, kApiPrefix.size()) == kApiPrefix; }

// The metrics label of a request on a route: its path, except where paths
// are many (the page's files) or chosen by the client (unknown panels), so
// that scanners cannot grow the series without bound.
std::string_view path_label(std::string_view path) { return path; }
std::string_view page_label(std::string_view) { return "/dashboard"; }
std::string_view panel_label(std::string_view path) {
    return dashboard::find_panel(path.substr(kApiPrefix.size())) ? path : "other";
}

// The route table's policies, named once and applied by the table.
enum class Served {
    main,        // the ingest API: on the main listener only
    admin,       // on the admin listener when there is one, else on the main one
    everywhere,  // health and the tracker script
};
enum class Cors {
    shop,    // a page whose origin some browser key allows may read the answer
    nobody,  // admin answers are for operators, never for pages of the shop
    anyone,  // the tracker script, loaded by any site (its handler says so)
};
enum class Access {
    open,
    admin_token,              // Authorization: Bearer <FUNNELHOUSE_ADMIN_TOKEN>, when one is set
    admin_token_or_loopback,  // the same; without a token set, loopback listeners only
};

using Request = bhttp::request<bhttp::string_body>;
class Session;
using Answer = void (Session::*)(const Request& request, std::string_view path);

struct Route {
    bool (*matches)(std::string_view path);
    std::string_view (*label)(std::string_view path);
    Served served;
    bhttp::verb method;  // the method it answers; any other is a 405 with `allow`
    const char* allow;
    Cors cors;
    Access access;
    // The ingest API: its token buckets are taken before the body is read,
    // and OPTIONS is a CORS preflight.
    bool ingest;
    Answer answer;
};

// The first route whose path matches (defined after Session, whose
// handlers the table names).
const Route* match_route(std::string_view path);

// Compares without stopping at the first difference, so that the time taken
// does not tell how much of a guessed token was right.
bool same_secret(std::string_view given, std::string_view expected) {
    unsigned char difference = given.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < given.size(); ++i)
        difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
    return difference == 0;
}

// What a request's messages became, counted once its answer is 200 (a
// refused request is sent again).
void tally_outcome(const ingest::RequestOutcome& outcome, const schema::SchemaRegistry& registry,
                   metrics::Instruments& metrics, metrics::Tally& tally) {
    for (const auto& event : outcome.events)
        tally.add(metrics.events_accepted, {common::to_string(event.source), event.event_name});
    for (const auto& bad : outcome.bad_events) {
        const bool known = bad.event_name && registry.newest(*bad.event_name) != nullptr;
        tally.add(metrics.events_rejected,
                  {common::to_string(bad.source), bad.reason,
                   known ? std::string_view(*bad.event_name) : metrics::kUnknownEvent});
    }
    if (outcome.anonymized_without_consent > 0)
        tally.add(metrics.events_without_consent, {"anonymized"},
                  static_cast<double>(outcome.anonymized_without_consent));
    if (outcome.dropped_without_consent > 0)
        tally.add(metrics.events_without_consent, {"dropped"},
                  static_cast<double>(outcome.dropped_without_consent));
}

// The key a client address is limited and counted under: the address
// itself for IPv4, its /64 for IPv6 (one host's usual allocation).
std::string address_key(const std::string& address) {
    return ingest::truncate_address(address, 32, 64).value_or(address);
}

class Session : public std::enable_shared_from_this<Session> {
    friend const Route* match_route(std::string_view path);

  public:
    // `peer` is the address the connection came from, already admitted by
    // the connection limit under `peer_key`.
    Session(tcp::socket&& socket, Shared& shared, bool admin, bool loopback, std::string peer,
            std::string peer_key)
        : stream_(std::move(socket)),
          shared_(shared),
          admin_(admin),
          loopback_(loopback),
          peer_(std::move(peer)),
          peer_key_(std::move(peer_key)) {
        shared_.metrics.http_connections.add(1);
    }
    ~Session() {
        shared_.metrics.http_connections.add(-1);
        shared_.connections.close(peer_key_);
    }

    void run() {
        net::dispatch(stream_.get_executor(),
                      beast::bind_front_handler(&Session::do_read_header, shared_from_this()));
    }

  private:
    void count_limit(std::string_view limit) { shared_.metrics.http_limited.with({limit}).inc(); }

    // A slow client cannot hold the connection: the header and the body each
    // have their own deadline, counted from when waiting for them begins.
    void do_read_header() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(shared_.config.max_header_bytes));
        parser_->body_limit(shared_.config.max_request_bytes);
        stream_.expires_after(shared_.config.header_timeout);
        bhttp::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&Session::on_header, shared_from_this()));
    }

    void on_header(beast::error_code ec, std::size_t) {
        if (ec == beast::error::timeout) {
            // An idle keep-alive connection that sent nothing is no abuse.
            if (buffer_.size() > 0 || parser_->got_some()) count_limit("header_timeout");
            return;  // the stream closed the socket
        }
        if (ec) return on_read(ec, 0);
        started_ = std::chrono::steady_clock::now();
        const auto& header = parser_->get();
        const auto* route = match_route(path_of(header.target()));
        route_ = route ? route->label(path_of(header.target())) : "other";
        client_address_ = peer_;
        origin_ = std::string{header[bhttp::field::origin]};
        if (shared_.config.trust_forwarded_for) {
            // The last field: a proxy that adds a line of its own (instead of
            // appending to the client's) puts it after whatever the client sent.
            std::string_view last_field;
            for (auto [it, end] = header.equal_range("X-Forwarded-For"); it != end; ++it)
                last_field = it->value();
            if (const auto forwarded = last_forwarded_address(last_field))
                client_address_ = *forwarded;
        }
        if (header.target().size() > shared_.config.max_request_line_bytes) {
            count_limit("request_line_bytes");
            version_ = header.version();
            return send_error(errc::target_too_long,
                              "request target is " + std::to_string(header.target().size()) +
                                  " bytes; the limit is " +
                                  std::to_string(shared_.config.max_request_line_bytes) +
                                  " bytes (FUNNELHOUSE_MAX_REQUEST_LINE_BYTES)",
                              true);
        }
        // Rate limits are checked before the body is read: a client over its
        // limit costs no body and no parse.
        if (route && route->ingest && served_here(*route) && header.method() == bhttp::verb::post &&
            over_rate_limit(header))
            return;
        stream_.expires_after(shared_.config.body_timeout);
        bhttp::async_read(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    // The rate-limit policy of the ingest routes: per client address (but
    // for server keys: a backend speaks for many people from one address)
    // and per write key. Answers 429 and returns true when over either.
    bool over_rate_limit(const bhttp::request_parser<bhttp::string_body>::value_type& header) {
        const auto key_text =
            ingest::write_key_from_authorization(header[bhttp::field::authorization]);
        const ingest::WriteKey* key = key_text ? shared_.keys.find(*key_text) : nullptr;
        const auto now = std::chrono::steady_clock::now();
        if (shared_.address_rate.enabled() && (!key || key->source != common::Source::server)) {
            if (const auto wait = shared_.address_rate.take(address_key(client_address_), now)) {
                count_limit("rate_address");
                refuse_rate(*wait, "this client address", "FUNNELHOUSE_RATE_LIMIT_ADDRESS",
                            shared_.config.rate_limit_address, header.version());
                return true;
            }
        }
        if (!key) return false;
        key_checked_ = true;
        if (const auto wait = shared_.key_rate.take(key->name, now)) {
            count_limit("rate_key");
            refuse_rate(*wait, "write key '" + key->name + "'", "FUNNELHOUSE_RATE_LIMIT_KEY",
                        shared_.config.rate_limit_key, header.version());
            return true;
        }
        return false;
    }

    void refuse_rate(std::chrono::seconds wait, const std::string& who, const char* setting,
                     double per_second, unsigned version) {
        version_ = version;
        retry_after_ = wait;
        std::ostringstream rate;
        rate << per_second;
        send_error(errc::rate_limited,
                   "too many requests from " + who + " (" + setting + " = " + rate.str() +
                       " per second); retry after " + std::to_string(wait.count()) + " s",
                   true);
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (!parser_->is_header_done()) started_ = std::chrono::steady_clock::now();
        const auto* route =
            parser_->is_header_done() ? match_route(path_of(parser_->get().target())) : nullptr;
        route_ = route ? route->label(path_of(parser_->get().target())) : "other";
        if (ec == bhttp::error::end_of_stream || ec == net::error::connection_reset)
            return do_close();
        if (ec == beast::error::timeout) {
            count_limit("body_timeout");
            return;  // the stream closed the socket
        }
        if (ec == bhttp::error::body_limit) {
            count_limit("body_bytes");
            return send_error(ingest::errc::request_too_large,
                              "request body exceeds " +
                                  std::to_string(shared_.config.max_request_bytes) +
                                  " bytes (FUNNELHOUSE_MAX_REQUEST_BYTES)",
                              true);
        }
        if (ec == bhttp::error::header_limit) {
            count_limit("header_bytes");
            return send_error(errc::headers_too_large,
                              "request line and headers exceed " +
                                  std::to_string(shared_.config.max_header_bytes) +
                                  " bytes (FUNNELHOUSE_MAX_HEADER_BYTES)",
                              true);
        }
        if (ec) {
            if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category())
                return send_error(errc::malformed_http, "malformed HTTP request: " + ec.message(),
                                  true);
            spdlog::debug("read failed: {}", ec.message());
            return do_close();
        }
        // Nothing in handling is expected to throw (parsing is non-throwing);
        // this keeps an allocation failure from taking an io thread down.
        try {
            handle(parser_->release());
        } catch (const std::exception& error) {
            spdlog::error("request failed: {}", error.what());
            send_error(errc::internal, "internal error", true);
        }
    }

    // Where a route is served, with or without an admin listener.
    bool served_here(const Route& route) const {
        if (route.served == Served::main) return !admin_;
        if (route.served == Served::admin) return admin_ || !shared_.config.admin_listen_set;
        return true;
    }

    // The route table's dispatch: the route, its CORS policy, its method,
    // who may ask, then its handler.
    void handle(Request&& request) {
        stream_.expires_never();
        version_ = request.version();
        keep_alive_ = request.keep_alive();
        requested_headers_ =
            std::string{request[bhttp::field::access_control_request_headers]}.substr(0, 1024);
        const auto path = path_of(request.target());
        const auto* route = match_route(path);
        if (!route || !served_here(*route))
            return send_error(errc::not_found, "no such route: " + std::string{path});
        if (route->cors != Cors::shop) origin_.clear();
        if (route->ingest && request.method() == bhttp::verb::options) return answer_preflight();
        if (request.method() != route->method)
            return send_error(errc::method_not_allowed,
                              route->method == bhttp::verb::get ? "use GET" : "use POST", false,
                              route->allow);
        if (!permitted(*route, request)) return;
        (this->*(route->answer))(request, path);
    }

    // The access policy; answers and returns false when the request may not
    // go on.
    bool permitted(const Route& route, const Request& request) {
        if (route.access == Access::open) return true;
        if (!shared_.config.admin_token.empty()) {
            const std::string_view authorization = request[bhttp::field::authorization];
            constexpr std::string_view scheme = "Bearer ";
            if (authorization.substr(0, scheme.size()) == scheme &&
                same_secret(authorization.substr(scheme.size()), shared_.config.admin_token))
                return true;
            prepare(bhttp::status::unauthorized,
                    ingest::error_body(errc::admin_token_required,
                                       "this route needs the header Authorization: Bearer "
                                       "<FUNNELHOUSE_ADMIN_TOKEN>"),
                    false);
            response_.set(bhttp::field::www_authenticate, "Bearer realm=\"funnelhouse\"");
            write();
            return false;
        }
        // Without a token, business numbers are served on loopback only.
        if (route.access == Access::admin_token_or_loopback && !loopback_) {
            send_error(dashboard::errc::token_needed,
                       "the dashboard's data is served to other hosts only with "
                       "FUNNELHOUSE_ADMIN_TOKEN set (without it, only on a listener bound to a "
                       "loopback address)");
            return false;
        }
        return true;
    }

    // The handlers, one per route of the route table (kRoutes, below).
    void answer_health(const Request&, std::string_view path) {
        if (path == "/healthz") return send(bhttp::status::ok, R"({"status":"ok"})");
        auto [status, body] = shared_.intake.readiness();
        send(static_cast<bhttp::status>(status), std::move(body));
    }

    void answer_metrics(const Request&, std::string_view) {
        prepare(bhttp::status::ok, shared_.metrics.registry.render(), false,
                "text/plain; version=0.0.4; charset=utf-8");
        write();
    }

    void answer_ingest(const Request& request, std::string_view path) {
        ingest::RequestInput input;
        input.route = path;
        input.body = request.body();
        input.authorization = request[bhttp::field::authorization];
        input.content_encoding = request[bhttp::field::content_encoding];
        input.origin = origin_;
        input.client_address = client_address_;
        input.received_at = common::now();
        auto outcome = std::make_shared<ingest::RequestOutcome>(
            ingest::process_request(input, shared_.keys, shared_.registry, shared_.ingest));
        if (outcome->error) {
            if (outcome->error == ingest::errc::request_too_large)
                count_limit("body_bytes");  // inflated past the limit
            else if (outcome->error == ingest::errc::event_too_large)
                count_limit("event_bytes");
            else if (outcome->error == ingest::errc::nesting_too_deep)
                count_limit("json_depth");
            return send_error(outcome->error, outcome->error_message);
        }
        // A key sent in the body is known only now.
        if (!key_checked_) {
            if (const auto wait = shared_.key_rate.take(outcome->write_key_name,
                                                        std::chrono::steady_clock::now())) {
                count_limit("rate_key");
                return refuse_rate(*wait, "write key '" + outcome->write_key_name + "'",
                                   "FUNNELHOUSE_RATE_LIMIT_KEY", shared_.config.rate_limit_key,
                                   version_);
            }
        }
        tally_outcome(*outcome, shared_.registry, shared_.metrics, tally_);

        const std::size_t accepted = outcome->events.size();
        if (outcome->events.empty() && outcome->bad_events.empty())
            return send(bhttp::status::ok, ingest::accepted_body(0, 0, 0, *outcome));

        // The answer waits for the rows to be synced (durable) or loaded
        // (loaded); the receipt comes on the spool's or the loader's thread
        // and is posted back to this session's strand.
        const auto executor = stream_.get_executor();
        ++shared_.unanswered;
        const auto refused = shared_.intake.submit(
            std::move(outcome->events), std::move(outcome->bad_events), input.received_at,
            [self = shared_from_this(), executor, outcome, accepted](intake::Receipt receipt) {
                net::post(executor, [self, outcome, accepted, receipt] {
                    self->on_receipt(receipt, *outcome, accepted);
                });
            });
        if (refused) {
            --shared_.unanswered;
            return send_error(refused, shared_.intake.refusal_message(refused));
        }
    }

    // A file read at start-up: 304 when the client's copy has its ETag, else
    // the body; the caller adds its own headers and writes.
    void prepare_asset(const dashboard::Asset& asset, std::string_view if_none_match,
                       const char* cache_control) {
        const bool fresh = if_none_match == asset.etag;
        prepare(fresh ? bhttp::status::not_modified : bhttp::status::ok, fresh ? "" : asset.body,
                false, asset.content_type.c_str());
        response_.set(bhttp::field::etag, asset.etag);
        response_.set(bhttp::field::cache_control, cache_control);
        response_.set("X-Content-Type-Options", "nosniff");
    }

    // GET /funnelhouse.js: the browser tracker, for a page's script tag on
    // any site. Read at start-up; revalidated by ETag after an hour.
    void answer_tracker(const Request& request, std::string_view) {
        if (!shared_.tracker) return send_error(errc::not_found, shared_.tracker_problem);
        prepare_asset(*shared_.tracker, request[bhttp::field::if_none_match],
                      "public, max-age=3600");
        // Any site may load it, also with crossorigin="anonymous" and integrity.
        response_.set(bhttp::field::access_control_allow_origin, "*");
        response_.set("Cross-Origin-Resource-Policy", "cross-origin");
        write();
    }

    // GET /dashboard (the page) and /dashboard/<file> (its assets), from
    // the files read at start-up only.
    // The page holds no data: it asks for the admin token itself and sends
    // it with each query.
    void answer_page(const Request& request, std::string_view path) {
        const std::string_view if_none_match = request[bhttp::field::if_none_match];
        if (shared_.page.empty())
            return send_error(dashboard::errc::page_missing, shared_.page.problem());
        const auto relative = path.size() > kPagePrefix.size() ? path.substr(kPagePrefix.size())
                                                               : std::string_view{"index.html"};
        const auto* asset = shared_.page.find(relative);
        if (!asset) return send_error(errc::not_found, "no such route: " + std::string{path});
        prepare_asset(*asset, if_none_match, "no-cache");
        response_.set("Referrer-Policy", "no-referrer");
        response_.set("X-Frame-Options", "DENY");
        // Nothing but this server's own files and answers, ever.
        response_.set("Content-Security-Policy",
                      "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' "
                      "data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; "
                      "form-action 'none'; frame-ancestors 'none'");
        write();
    }

    // GET /api/dashboard/<panel>?from=&to=&segment=: the query runs on a
    // reader thread; the answer is written back on this session's strand.
    void answer_panel(const Request& request, std::string_view path) {
        const std::string_view target = request.target();
        const auto name = path.substr(kApiPrefix.size());
        const auto query =
            path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view{};
        const auto* panel = dashboard::find_panel(name);
        if (!panel) {
            std::string known;
            for (const auto& each : dashboard::panels())
                known += (known.empty() ? "" : ", ") + std::string(each.name);
            return send_error(errc::not_found, "no such dashboard panel: '" +
                                                   std::string{name.substr(0, 64)} +
                                                   "' (known: " + known + ")");
        }
        auto parsed = dashboard::parse_filter(query);
        if (!parsed.error.empty()) return send_error(dashboard::errc::invalid_filter, parsed.error);
        const auto executor = stream_.get_executor();
        const bool queued = shared_.reader.submit(
            *panel, std::move(parsed.filter),
            [self = shared_from_this(), executor](dashboard::Answer answer) {
                net::post(executor, [self, answer = std::move(answer)] {
                    if (answer.error) return self->send_error(answer.error, answer.body);
                    self->prepare(bhttp::status::ok, answer.body, false);
                    self->response_.set(bhttp::field::cache_control, "no-store");
                    self->write();
                });
            });
        if (!queued)
            send_error(dashboard::errc::busy,
                       "FUNNELHOUSE_DASHBOARD_QUEUE (" +
                           std::to_string(shared_.config.dashboard_queue) +
                           ") dashboard queries are already waiting; retry later");
    }

    // CORS preflight: the browser asks before a POST with Authorization or a
    // JSON content type. The key is not known yet, so any browser key that
    // accepts the origin is enough; the POST itself is checked against its key.
    void answer_preflight() {
        if (origin_.empty() || !shared_.keys.any_browser_key_allows(origin_))
            return send_error(ingest::errc::origin_not_allowed,
                              origin_.empty() ? "a preflight needs an Origin header"
                                              : "origin '" + origin_.substr(0, 200) +
                                                    "' is not allowed by any browser write key");
        prepare(bhttp::status::no_content, "", false);
        response_.set(bhttp::field::access_control_allow_methods, "POST, OPTIONS");
        // Allow what the page asks for: SDKs add headers of their own (for
        // example RudderStack's AnonymousId). Credentials are in the body or
        // Authorization either way; CORS only decides who reads the answer.
        response_.set(bhttp::field::access_control_allow_headers,
                      requested_headers_.empty()
                          ? std::string{"Authorization, Content-Type, Content-Encoding"}
                          : requested_headers_);
        response_.set(bhttp::field::vary, "Origin, Access-Control-Request-Headers");
        response_.set(bhttp::field::access_control_max_age, "600");
        response_.content_length(0);
        write();
    }

    void on_receipt(const intake::Receipt& receipt, const ingest::RequestOutcome& outcome,
                    std::size_t accepted) {
        // Counted as unanswered until the answer is written: shutdown waits.
        answering_deferred_ = true;
        if (receipt.error)
            return send_error(receipt.error, shared_.intake.refusal_message(receipt.error));
        tally_.record();
        send(bhttp::status::ok, receipt.loaded ? ingest::accepted_body(accepted, receipt.duplicates,
                                                                       receipt.collisions, outcome)
                                               : ingest::spooled_body(accepted, outcome));
    }

    void send_error(std::error_code error, const std::string& message, bool close = false,
                    const char* allow = nullptr) {
        const auto status = static_cast<bhttp::status>(http_status(error));
        prepare(status, ingest::error_body(error, message), close);
        if (worth_retrying(error))
            response_.set(bhttp::field::retry_after,
                          std::to_string(retry_after_.count() > 0 ? retry_after_.count()
                                                                  : retry_after_seconds(error)));
        retry_after_ = {};
        if (allow) response_.set(bhttp::field::allow, allow);
        write();
    }

    void send(bhttp::status status, std::string body, bool close = false) {
        prepare(status, std::move(body), close);
        write();
    }

    void prepare(bhttp::status status, std::string body, bool close,
                 const char* content_type = "application/json") {
        response_ = {};
        response_.version(version_);
        response_.result(status);
        response_.set(bhttp::field::server, "funnelhouse");
        response_.set(bhttp::field::content_type, content_type);
        // A stopping server closes connections after answering.
        response_.keep_alive(keep_alive_ && !close && !shared_.stopping.load());
        // Let a page read the answer (also a refusal) when its origin may
        // send with some browser key.
        if (!origin_.empty() && shared_.keys.any_browser_key_allows(origin_)) {
            response_.set(bhttp::field::access_control_allow_origin, origin_);
            // A page's tracker waits as long as a 429 or 503 says.
            response_.set(bhttp::field::access_control_expose_headers, "Retry-After");
            response_.set(bhttp::field::vary, "Origin");
        }
        response_.body() = std::move(body);
        response_.prepare_payload();
    }

    void write() {
        bhttp::async_write(stream_, response_,
                           beast::bind_front_handler(&Session::on_write, shared_from_this(),
                                                     !response_.keep_alive()));
    }

    void on_write(bool close, beast::error_code ec, std::size_t) {
        const auto status = std::to_string(response_.result_int());
        shared_.metrics.http_requests.with({route_, status}).inc();
        shared_.metrics.http_request_seconds.with({route_}).observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
        tally_.clear();
        if (answering_deferred_) {
            answering_deferred_ = false;
            --shared_.unanswered;
        }
        if (ec) return;
        if (close) return do_drain_and_close();
        key_checked_ = false;
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
    Shared& shared_;
    const bool admin_;            // accepted on the admin listener
    const bool loopback_;         // accepted on a listener bound to a loopback address
    const std::string peer_;      // the connection's remote address
    const std::string peer_key_;  // its key in the connection limit
    std::string client_address_;  // the current request's client (X-Forwarded-For if trusted)
    bool key_checked_ = false;    // the current request's key rate is taken
    std::chrono::seconds retry_after_{0};  // for the next 429
    std::string route_ = "other";          // the metrics label of the current request
    std::chrono::steady_clock::time_point started_;
    metrics::Tally tally_;  // the current request's events, until it is answered
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    bhttp::response<bhttp::string_body> response_;
    unsigned version_ = 11;
    bool keep_alive_ = false;
    bool answering_deferred_ = false;
    std::string origin_;             // the current request's Origin header
    std::string requested_headers_;  // its Access-Control-Request-Headers
    std::array<char, 4096> scratch_{};
};

// The route table: each route, its policies and its handler, in the order
// they are matched.
const Route* match_route(std::string_view path) {
    static constexpr Route kRoutes[] = {
        {is_tracker, path_label, Served::everywhere, bhttp::verb::get, "GET", Cors::anyone,
         Access::open, false, &Session::answer_tracker},
        {is_health, path_label, Served::everywhere, bhttp::verb::get, "GET", Cors::shop,
         Access::open, false, &Session::answer_health},
        {is_metrics, path_label, Served::admin, bhttp::verb::get, "GET", Cors::nobody,
         Access::admin_token, false, &Session::answer_metrics},
        {is_page_route, page_label, Served::admin, bhttp::verb::get, "GET", Cors::nobody,
         Access::open, false, &Session::answer_page},
        {is_api_route, panel_label, Served::admin, bhttp::verb::get, "GET", Cors::nobody,
         Access::admin_token_or_loopback, false, &Session::answer_panel},
        {is_ingest_route, path_label, Served::main, bhttp::verb::post, "POST, OPTIONS", Cors::shop,
         Access::open, true, &Session::answer_ingest},
    };
    for (const auto& route : kRoutes)
        if (route.matches(path)) return &route;
    return nullptr;
}

class Listener : public std::enable_shared_from_this<Listener> {
  public:
    Listener(net::io_context& ioc, tcp::acceptor&& acceptor, Shared& shared, bool admin)
        : ioc_(ioc),
          acceptor_(std::move(acceptor)),
          retry_timer_(ioc),
          shared_(shared),
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
        switch (shared_.connections.open(peer_key)) {
            case ConnectionLimiter::Verdict::admitted:
                std::make_shared<Session>(std::move(socket), shared_, admin_, loopback_,
                                          std::move(peer), std::move(peer_key))
                    ->run();
                break;
            // Closed without a word: an answer would cost what the limit
            // protects. Clients see a reset and retry later.
            case ConnectionLimiter::Verdict::too_many:
                shared_.metrics.http_limited.with({"connections"}).inc();
                socket.close(endpoint_ec);
                break;
            case ConnectionLimiter::Verdict::too_many_from_address:
                shared_.metrics.http_limited.with({"connections_per_address"}).inc();
                socket.close(endpoint_ec);
                break;
        }
        do_accept();
    }

    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    Shared& shared_;
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
std::vector<std::shared_ptr<Listener>> start_listeners(net::io_context& ioc, Shared& shared,
                                                       unsigned threads) {
    const auto& config = shared.config;
    auto acceptor =
        open_acceptor(ioc, config.listen_host, config.listen_port, "FUNNELHOUSE_LISTEN");
    const auto url = url_of(acceptor.local_endpoint());
    std::vector<std::shared_ptr<Listener>> listeners;
    listeners.push_back(std::make_shared<Listener>(ioc, std::move(acceptor), shared, false));
    std::string admin_url;
    if (config.admin_listen_set) {
        auto admin = open_acceptor(ioc, config.admin_listen_host, config.admin_listen_port,
                                   "FUNNELHOUSE_ADMIN_LISTEN");
        admin_url = url_of(admin.local_endpoint());
        listeners.push_back(std::make_shared<Listener>(ioc, std::move(admin), shared, true));
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
void shut_down(Shared& shared, const std::vector<std::shared_ptr<Listener>>& listeners) {
    for (const auto& listener : listeners) listener->stop();
    shared.stopping = true;
    const auto deadline = std::chrono::steady_clock::now() + shared.config.shutdown_timeout;
    const auto wait_for_answers = [&shared](std::chrono::steady_clock::time_point until) {
        while (shared.unanswered.load() > 0 && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    };
    wait_for_answers(deadline);
    const auto left = shared.intake.close(deadline);
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
    Shared shared{
        config,
        registry,
        keys,
        intake,
        metrics,
        ingest::IngestSettings{config.max_event_bytes, config.max_request_bytes, config.junk_ids,
                               ingest::privacy_settings(config), config.max_json_depth},
        ConnectionLimiter{config.max_connections, config.max_connections_per_address},
        RateLimiter{RateLimit{config.rate_limit_address, config.rate_limit_address_burst},
                    config.rate_limit_tracked},
        RateLimiter{RateLimit{config.rate_limit_key, config.rate_limit_key_burst},
                    config.rate_limit_tracked},
        assets.page,
        assets.tracker,
        assets.tracker_problem,
        *reader};
    // After `shared`, so destroyed before it: handlers it still holds end
    // sessions, which use `shared`.
    const unsigned threads = config.effective_io_threads();
    net::io_context ioc(static_cast<int>(threads));
    const auto listeners = start_listeners(ioc, shared, threads);

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
    shut_down(shared, listeners);
    // Queries in flight finish (FUNNELHOUSE_DASHBOARD_TIMEOUT_MS at most) and
    // post their answers while the io threads still run.
    reader.reset();
    ioc.stop();
    for (auto& worker : workers) worker.join();
    spdlog::info("stopped");
}

}  // namespace funnelhouse::http
