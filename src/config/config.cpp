#include "funnelhouse/config/config.hpp"

#include <charconv>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "funnelhouse/common/networks.hpp"
#include "funnelhouse/common/text.hpp"

namespace funnelhouse::config {
namespace {

template <typename T>
bool parse_unsigned(const std::string& text, T& out, T min, T max) {
    unsigned long long value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || text.empty()) return false;
    if (value < min || value > max) return false;
    out = static_cast<T>(value);
    return true;
}

std::function<std::string(Config&, const std::string&)> size_setting(std::size_t Config::*field,
                                                                     std::size_t min,
                                                                     std::size_t max) {
    return [=](Config& config, const std::string& value) -> std::string {
        if (!parse_unsigned<std::size_t>(value, config.*field, min, max))
            return "must be a whole number from " + std::to_string(min) + " to " +
                   std::to_string(max);
        return {};
    };
}

std::function<std::string(Config&, const std::string&)> millis_setting(
    std::chrono::milliseconds Config::*field, unsigned long long min, unsigned long long max) {
    return [=](Config& config, const std::string& value) -> std::string {
        unsigned long long parsed = 0;
        if (!parse_unsigned<unsigned long long>(value, parsed, min, max))
            return "must be a whole number of milliseconds from " + std::to_string(min) + " to " +
                   std::to_string(max);
        config.*field = std::chrono::milliseconds{static_cast<long long>(parsed)};
        return {};
    };
}

std::function<std::string(Config&, const std::string&)> text_setting(std::string Config::*field) {
    return [=](Config& config, const std::string& value) -> std::string {
        if (value.empty()) return "must not be empty";
        config.*field = value;
        return {};
    };
}

std::function<std::string(Config&, const std::string&)> path_setting(
    std::filesystem::path Config::*field) {
    return [=](Config& config, const std::string& value) -> std::string {
        if (value.empty()) return "must not be empty";
        config.*field = value;
        return {};
    };
}

// One of two words, each standing for a value of `field`.
template <typename Enum>
std::function<std::string(Config&, const std::string&)> choice_setting(Enum Config::*field,
                                                                       const char* first,
                                                                       Enum first_value,
                                                                       const char* second,
                                                                       Enum second_value) {
    return [=](Config& config, const std::string& value) -> std::string {
        if (value == first)
            config.*field = first_value;
        else if (value == second)
            config.*field = second_value;
        else
            return std::string("must be ") + first + " or " + second;
        return {};
    };
}

// One of several words, each standing for a value of `field`.
template <typename Enum>
std::function<std::string(Config&, const std::string&)> choices_setting(
    Enum Config::*field, std::vector<std::pair<std::string, Enum>> choices) {
    return [=](Config& config, const std::string& value) -> std::string {
        std::string names;
        for (const auto& [name, choice] : choices) {
            if (value == name) {
                config.*field = choice;
                return {};
            }
            names += names.empty() ? name : ", " + name;
        }
        return "must be one of " + names;
    };
}

std::function<std::string(Config&, const std::string&)> rate_setting(double Config::*field,
                                                                     double max) {
    return [=](Config& config, const std::string& value) -> std::string {
        double parsed = 0;
        const auto* end = value.data() + value.size();
        const auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
        if (value.empty() || ec != std::errc{} || ptr != end || !(parsed >= 0) || parsed > max)
            return "must be a number from 0 to " + std::to_string(static_cast<long long>(max));
        config.*field = parsed;
        return {};
    };
}

std::function<std::string(Config&, const std::string&)> bool_setting(bool Config::*field) {
    return [=](Config& config, const std::string& value) -> std::string {
        if (value == "true" || value == "1" || value == "yes")
            config.*field = true;
        else if (value == "false" || value == "0" || value == "no")
            config.*field = false;
        else
            return "must be true or false";
        return {};
    };
}

std::vector<std::string> comma_list(const std::string& value) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= value.size()) {
        const auto comma = value.find(',', start);
        auto item =
            value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        while (!item.empty() && item.front() == ' ') item.erase(0, 1);
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty()) items.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return items;
}

// host:port, with [v6] brackets allowed around the host.
std::string parse_host_port(const std::string& v, std::string& host_out, std::uint16_t& port_out) {
    const auto colon = v.rfind(':');
    if (colon == std::string::npos || colon == 0) return "must be host:port, e.g. 127.0.0.1:8080";
    std::uint16_t port = 0;
    if (!parse_unsigned<std::uint16_t>(v.substr(colon + 1), port, 0, 65535))
        return "port must be a number from 0 to 65535";
    std::string host = v.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    host_out = host;
    port_out = port;
    return {};
}

constexpr const char* kConfigVariable = "FUNNELHOUSE_CONFIG";

std::vector<Setting> make_settings() {
    std::vector<Setting> list;
    list.push_back({kConfigVariable, "--config", "(none)",
                    "file of NAME=value lines naming these variables (# starts a comment); the "
                    "environment and flags override it",
                    false, path_setting(&Config::config_file)});
    list.push_back({"FUNNELHOUSE_DATABASE_URL", "--database-url", "(none)",
                    "PostgreSQL connection URL (libpq), e.g. postgresql://user@127.0.0.1:5432/db",
                    true, text_setting(&Config::database_url)});
    list.push_back({"FUNNELHOUSE_DATABASE_LAYOUT", "--database-layout", "auto",
                    "how `migrate` lays the tables out: auto (distributed when the database "
                    "has the citus extension, else on one PostgreSQL) or citus (distributed; "
                    "refuses a database without Citus)",
                    false,
                    choice_setting(&Config::database_layout, "auto", DatabaseLayout::automatic,
                                   "citus", DatabaseLayout::citus)});
    list.push_back({"FUNNELHOUSE_LISTEN", "--listen", "127.0.0.1:8080",
                    "address and port the HTTP server listens on (host:port)", false,
                    [](Config& c, const std::string& v) -> std::string {
                        return parse_host_port(v, c.listen_host, c.listen_port);
                    }});
    list.push_back({"FUNNELHOUSE_ADMIN_LISTEN", "--admin-listen",
                    "(none: admin routes on FUNNELHOUSE_LISTEN)",
                    "host:port of a separate listener for the admin routes /metrics and the "
                    "dashboard (with /healthz and /readyz); when set, the main listener does not "
                    "serve them",
                    false, [](Config& c, const std::string& v) -> std::string {
                        auto error = parse_host_port(v, c.admin_listen_host, c.admin_listen_port);
                        if (error.empty()) c.admin_listen_set = true;
                        return error;
                    }});
    list.push_back({"FUNNELHOUSE_ADMIN_TOKEN", "--admin-token", "(none)",
                    "when set, /metrics and /api/dashboard/* require the header Authorization: "
                    "Bearer <token>; without it the dashboard's data is served on loopback "
                    "listeners only",
                    true, [](Config& c, const std::string& v) -> std::string {
                        if (v.size() < 16) return "must be at least 16 characters";
                        for (const unsigned char ch : v)
                            if (ch <= ' ' || ch >= 0x7f)
                                return "must be printable ASCII without spaces";
                        c.admin_token = v;
                        return {};
                    }});
    list.push_back({"FUNNELHOUSE_SCHEMAS_DIR", "--schemas-dir", "schemas",
                    "folder of event contracts", false, path_setting(&Config::schemas_dir)});
    list.push_back({"FUNNELHOUSE_MIGRATIONS_DIR", "--migrations-dir", "migrations",
                    "folder of numbered SQL migrations", false,
                    path_setting(&Config::migrations_dir)});
    list.push_back({"FUNNELHOUSE_MODELS_DIR", "--models-dir", "models",
                    "folder of the built-in analytics models, one SQL file each", false,
                    path_setting(&Config::models_dir)});
    list.push_back({"FUNNELHOUSE_CUSTOM_MODELS_DIR", "--custom-models-dir", "(none)",
                    "folder of your own models, refreshed with the built-in ones (which they "
                    "may read)",
                    false, path_setting(&Config::custom_models_dir)});
    list.push_back({"FUNNELHOUSE_KEYS_FILE", "--keys-file", "(none)",
                    "JSON list of write keys: [{\"name\",\"key\",\"source\":\"browser|server\"}]",
                    false, path_setting(&Config::keys_file)});
    list.push_back({"FUNNELHOUSE_IO_THREADS", "--io-threads", "0 (one per core)",
                    "threads serving HTTP", false,
                    [](Config& c, const std::string& v) -> std::string {
                        if (!parse_unsigned<unsigned>(v, c.io_threads, 0, 256))
                            return "must be a whole number from 0 to 256";
                        return {};
                    }});
    list.push_back({"FUNNELHOUSE_MAX_EVENT_BYTES", "--max-event-bytes", "32768",
                    "largest single event accepted (413 beyond)", false,
                    size_setting(&Config::max_event_bytes, 256, 16 * 1024 * 1024)});
    list.push_back({"FUNNELHOUSE_MAX_REQUEST_BYTES", "--max-request-bytes", "512000",
                    "largest request body accepted (413 beyond)", false,
                    size_setting(&Config::max_request_bytes, 1024, 64 * 1024 * 1024)});
    list.push_back({"FUNNELHOUSE_MAX_HEADER_BYTES", "--max-header-bytes", "8192",
                    "largest request line plus headers (431 beyond)", false,
                    size_setting(&Config::max_header_bytes, 1024, 1024 * 1024)});
    list.push_back({"FUNNELHOUSE_MAX_JSON_DEPTH", "--max-json-depth", "64",
                    "deepest nesting of arrays and objects in a body (400 beyond)", false,
                    size_setting(&Config::max_json_depth, 4, 1000)});
    list.push_back({"FUNNELHOUSE_MAX_REQUEST_LINE_BYTES", "--max-request-line-bytes", "2048",
                    "longest request target (414 beyond)", false,
                    size_setting(&Config::max_request_line_bytes, 64, 1024 * 1024)});
    list.push_back({"FUNNELHOUSE_HEADER_TIMEOUT_MS", "--header-timeout-ms", "10000",
                    "time from waiting for a request (also idle on a keep-alive connection) to "
                    "its last header; the connection is closed after it",
                    false, millis_setting(&Config::header_timeout, 100, 3'600'000)});
    list.push_back({"FUNNELHOUSE_BODY_TIMEOUT_MS", "--body-timeout-ms", "30000",
                    "time from the last header to the last byte of the body; the connection is "
                    "closed after it",
                    false, millis_setting(&Config::body_timeout, 100, 3'600'000)});
    list.push_back({"FUNNELHOUSE_MAX_CONNECTIONS", "--max-connections", "1024",
                    "connections open at once; more are closed as they arrive", false,
                    size_setting(&Config::max_connections, 1, 1'000'000)});
    list.push_back({"FUNNELHOUSE_MAX_CONNECTIONS_PER_ADDRESS", "--max-connections-per-address",
                    "256", "connections open at once from one client address", false,
                    size_setting(&Config::max_connections_per_address, 1, 1'000'000)});
    list.push_back({"FUNNELHOUSE_RATE_LIMIT_ADDRESS", "--rate-limit-address", "100",
                    "ingest requests per second from one client address (an IPv6 /64), except "
                    "those with a server key in Authorization; 429 beyond; 0 turns it off",
                    false, rate_setting(&Config::rate_limit_address, 1e9)});
    list.push_back({"FUNNELHOUSE_RATE_LIMIT_ADDRESS_BURST", "--rate-limit-address-burst", "1000",
                    "requests one client address may send at once before its rate applies", false,
                    rate_setting(&Config::rate_limit_address_burst, 1e9)});
    list.push_back({"FUNNELHOUSE_RATE_LIMIT_KEY", "--rate-limit-key", "5000",
                    "ingest requests per second with one write key; 429 beyond; 0 turns it off",
                    false, rate_setting(&Config::rate_limit_key, 1e9)});
    list.push_back({"FUNNELHOUSE_RATE_LIMIT_KEY_BURST", "--rate-limit-key-burst", "10000",
                    "requests one write key may send at once before its rate applies", false,
                    rate_setting(&Config::rate_limit_key_burst, 1e9)});
    list.push_back({"FUNNELHOUSE_RATE_LIMIT_TRACKED", "--rate-limit-tracked", "100000",
                    "client addresses (and keys) tracked at most; beyond, new ones share one "
                    "bucket",
                    false, size_setting(&Config::rate_limit_tracked, 1, 100'000'000)});
    list.push_back({"FUNNELHOUSE_TRUSTED_PROXIES", "--trusted-proxies", "(none)",
                    "proxies (addresses or networks such as 10.0.0.0/8, comma-separated) whose "
                    "last X-Forwarded-For entry is taken as the client address; from any other "
                    "peer the header is ignored",
                    false, [](Config& config, const std::string& value) -> std::string {
                        try {
                            config.trusted_proxies = common::Networks::parse(value);
                        } catch (const std::invalid_argument& error) {
                            return error.what();
                        }
                        return {};
                    }});
    list.push_back(
        {"FUNNELHOUSE_CLIENT_ADDRESS", "--client-address", "truncated",
         "what context.ip keeps of the client address: truncated (IPv4 /24, IPv6 "
         "/48), full or none",
         false,
         choices_setting(&Config::client_address, {{"truncated", ClientAddress::truncated},
                                                   {"full", ClientAddress::full},
                                                   {"none", ClientAddress::none}})});
    list.push_back(
        {"FUNNELHOUSE_CONSENT_POLICY", "--consent-policy", "anonymize",
         "events without analytics consent: anonymize (kept without identifiers, "
         "address and personal properties) or drop (not stored, counted)",
         false,
         choices_setting(&Config::consent_policy, {{"anonymize", ConsentPolicy::anonymize},
                                                   {"drop", ConsentPolicy::drop}})});
    list.push_back({"FUNNELHOUSE_CONSENT_CATEGORIES", "--consent-categories", "analytics",
                    "comma-separated categories of context.consent.categoryPreferences that "
                    "grant analytics consent (any one, ignoring case)",
                    false, [](Config& c, const std::string& v) -> std::string {
                        auto items = comma_list(v);
                        if (items.empty()) return "must name at least one category";
                        c.consent_categories = std::move(items);
                        return {};
                    }});
    list.push_back({"FUNNELHOUSE_CONSENT_REQUIRED", "--consent-required", "false",
                    "whether an event that says nothing about consent counts as without it", false,
                    bool_setting(&Config::consent_required)});
    list.push_back({"FUNNELHOUSE_PERSONAL_DATA", "--personal-data", "remove",
                    "properties a contract lists in meta.personal_data: remove, hash (keyed "
                    "SHA-256, needs FUNNELHOUSE_PERSONAL_DATA_KEY) or keep",
                    false,
                    choices_setting(&Config::personal_data, {{"remove", PersonalData::remove},
                                                             {"hash", PersonalData::hash},
                                                             {"keep", PersonalData::keep}})});
    list.push_back({"FUNNELHOUSE_PERSONAL_DATA_KEY", "--personal-data-key", "(none)",
                    "the secret key of FUNNELHOUSE_PERSONAL_DATA=hash (at least 32 characters); "
                    "the same key gives the same hash, so joins keep working",
                    true, [](Config& c, const std::string& v) -> std::string {
                        if (v.size() < 32) return "must be at least 32 characters";
                        c.personal_data_key = v;
                        return {};
                    }});
    list.push_back({"FUNNELHOUSE_BATCH_MAX_EVENTS", "--batch-max-events", "2000",
                    "most events the loader writes in one COPY and transaction", false,
                    size_setting(&Config::batch_max_events, 1, 1'000'000)});
    list.push_back({"FUNNELHOUSE_BATCH_MAX_DELAY_MS", "--batch-max-delay-ms", "5",
                    "longest the loader waits to fill a batch", false,
                    millis_setting(&Config::batch_max_delay, 0, 10'000)});
    list.push_back({"FUNNELHOUSE_LOADER_KNOWN_IDS", "--loader-known-ids", "200000",
                    "most anonymous ids, user ids and links the loader remembers as stored, so "
                    "that their events skip the identity steps (about 150 bytes each; 0: none)",
                    false, size_setting(&Config::loader_known_ids, 0, 100'000'000)});
    list.push_back({"FUNNELHOUSE_LOADER_CONNECTIONS", "--loader-connections", "2",
                    "PostgreSQL connections the loader stores batches on at once, in the "
                    "spool's order (1: one batch after the other)",
                    false, size_setting(&Config::loader_connections, 1, 8)});
    list.push_back({"FUNNELHOUSE_LOADER_WORKER_CONNECTIONS", "--loader-worker-connections", "4",
                    "on Citus: connections each loader connection keeps open to each worker, "
                    "over which a batch reaches that worker's shards (more: more of them at "
                    "once; each is a backend on the worker)",
                    false, size_setting(&Config::loader_worker_connections, 1, 64)});
    list.push_back({"FUNNELHOUSE_ACK", "--ack", "durable",
                    "when a request is answered 200: durable (its events are synced to the "
                    "spool on disk) or loaded (they are committed in PostgreSQL)",
                    false,
                    choice_setting(&Config::ack_mode, "durable", AckMode::durable, "loaded",
                                   AckMode::loaded)});
    list.push_back({"FUNNELHOUSE_SPOOL_DIR", "--spool-dir", "spool",
                    "folder of the write-ahead spool (one server per folder; keep it on a "
                    "persistent volume)",
                    false, path_setting(&Config::spool_dir)});
    list.push_back({"FUNNELHOUSE_SPOOL_MAX_BYTES", "--spool-max-bytes", "1073741824",
                    "most bytes the spool may hold; beyond, requests get 503 with Retry-After",
                    false, size_setting(&Config::spool_max_bytes, 8192, std::size_t{1} << 50)});
    list.push_back({"FUNNELHOUSE_SPOOL_MIN_FREE_BYTES", "--spool-min-free-bytes", "268435456",
                    "free disk the spool leaves; below, requests get 503 with Retry-After", false,
                    size_setting(&Config::spool_min_free_bytes, 0, std::size_t{1} << 50)});
    list.push_back({"FUNNELHOUSE_SPOOL_SEGMENT_BYTES", "--spool-segment-bytes", "16777216",
                    "size at which the spool starts a new segment file (at most half of "
                    "FUNNELHOUSE_SPOOL_MAX_BYTES)",
                    false, size_setting(&Config::spool_segment_bytes, 4096, std::size_t{1} << 40)});
    list.push_back({"FUNNELHOUSE_SHUTDOWN_TIMEOUT_MS", "--shutdown-timeout-ms", "10000",
                    "on SIGTERM, how long requests in flight and the loader may take to finish; "
                    "what is not loaded by then stays in the spool",
                    false, millis_setting(&Config::shutdown_timeout, 0, 3'600'000)});
    list.push_back({"FUNNELHOUSE_REFRESH_INTERVAL", "--refresh-interval", "5m",
                    "how often serve refreshes the analytics models: seconds, or a number "
                    "with s, m or h; 0 disables",
                    false, [](Config& c, const std::string& v) -> std::string {
                        const std::string error =
                            "must be a duration such as 300, 90s, 5m or 1h (at most 24h); 0 "
                            "disables";
                        if (v.empty()) return error;
                        unsigned long long scale = 1;
                        std::string number = v;
                        const char unit = v.back();
                        if (unit == 's' || unit == 'm' || unit == 'h') {
                            scale = unit == 's' ? 1 : unit == 'm' ? 60 : 3600;
                            number.pop_back();
                        }
                        unsigned long long parsed = 0;
                        if (!parse_unsigned<unsigned long long>(number, parsed, 0, 86'400) ||
                            parsed * scale > 86'400)
                            return error;
                        c.refresh_interval = std::chrono::seconds{parsed * scale};
                        return {};
                    }});
    list.push_back({"FUNNELHOUSE_DASHBOARD_DATABASE_URL", "--dashboard-database-url",
                    "(FUNNELHOUSE_DATABASE_URL)",
                    "PostgreSQL connection URL for the dashboard's queries (a read-only login "
                    "is best)",
                    true, text_setting(&Config::dashboard_database_url)});
    list.push_back({"FUNNELHOUSE_DASHBOARD_ROLE", "--dashboard-role", "funnelhouse_analyst",
                    "role the dashboard's queries run as (SET ROLE; the login must be a member); "
                    "'none' keeps the login's own",
                    false, [](Config& c, const std::string& v) -> std::string {
                        if (v.empty() || v.size() > 63) return "must be 1 to 63 characters";
                        c.dashboard_role = v == "none" ? std::string{} : v;
                        return {};
                    }});
    list.push_back({"FUNNELHOUSE_DASHBOARD_CONNECTIONS", "--dashboard-connections", "2",
                    "database connections (and threads) serving the dashboard's queries", false,
                    size_setting(&Config::dashboard_connections, 1, 64)});
    list.push_back({"FUNNELHOUSE_DASHBOARD_QUEUE", "--dashboard-queue", "64",
                    "dashboard queries waiting for a connection at most; 503 beyond", false,
                    size_setting(&Config::dashboard_queue, 1, 100'000)});
    list.push_back({"FUNNELHOUSE_DASHBOARD_TIMEOUT_MS", "--dashboard-timeout-ms", "10000",
                    "longest a dashboard query may run (503 beyond)", false,
                    millis_setting(&Config::dashboard_timeout, 100, 600'000)});
    list.push_back({"FUNNELHOUSE_DASHBOARD_DIR", "--dashboard-dir", "(the build's dashboard)",
                    "folder of the built dashboard page (index.html and its assets)", false,
                    path_setting(&Config::dashboard_dir)});
    list.push_back({"FUNNELHOUSE_TRACKER_FILE", "--tracker-file", "(the build's tracker)",
                    "the browser tracker script served at GET /funnelhouse.js", false,
                    path_setting(&Config::tracker_file)});
    list.push_back(
        {"FUNNELHOUSE_LOAD_TIMEOUT_MS", "--load-timeout-ms", "10000",
         "in the loaded mode, how long a request waits for PostgreSQL before it gets 503 "
         "(its events stay in the spool); also the connect timeout",
         false, millis_setting(&Config::load_timeout, 100, 3'600'000)});
    list.push_back({"FUNNELHOUSE_JUNK_IDS", "--junk-ids", "(none)",
                    "comma-separated identifier values treated as absent, added to the built-in "
                    "\"\", null, undefined, anonymous, 0, guest, nil, none, [object Object]",
                    false, [](Config& c, const std::string& v) -> std::string {
                        auto items = comma_list(v);
                        for (const auto& item : items)
                            if (item.size() > 255)
                                return "each value must be at most 255 characters";
                        c.junk_ids = std::move(items);
                        return {};
                    }});
    list.push_back({"FUNNELHOUSE_DESTINATIONS_FILE", "--destinations-file",
                    "(none: nothing is sent)",
                    "JSON list of the ad platforms and webhooks events are sent to "
                    "(docs/activation.md)",
                    false, path_setting(&Config::destinations_file)});
    list.push_back({"FUNNELHOUSE_ACTIVATION_CA_FILE", "--activation-ca-file", "(none)",
                    "PEM file of certificate authorities trusted besides the system's store "
                    "when sending to destinations",
                    false, path_setting(&Config::activation_ca_file)});
    list.push_back({"FUNNELHOUSE_ACTIVATION_SETTLE_MS", "--activation-settle-ms", "60000",
                    "how long after its row is stored an event waits before it is sent, so that "
                    "the browser's and the server's copies are merged first",
                    false, millis_setting(&Config::activation_settle, 0, 86'400'000)});
    list.push_back({"FUNNELHOUSE_ACTIVATION_TIMEOUT_MS", "--activation-timeout-ms", "10000",
                    "longest a request to a destination may take (connect, send, answer)", false,
                    millis_setting(&Config::activation_timeout, 100, 600'000)});
    list.push_back({"FUNNELHOUSE_ACTIVATION_RETRY_MS", "--activation-retry-ms", "1000",
                    "first wait before a failed request is tried again; doubled each time", false,
                    millis_setting(&Config::activation_retry_first, 10, 3'600'000)});
    list.push_back({"FUNNELHOUSE_ACTIVATION_RETRY_MAX_MS", "--activation-retry-max-ms", "600000",
                    "longest wait between tries (Retry-After may ask for longer)", false,
                    millis_setting(&Config::activation_retry_longest, 10, 86'400'000)});
    list.push_back({"FUNNELHOUSE_ACTIVATION_MAX_ATTEMPTS", "--activation-max-attempts", "20",
                    "tries of one event before it is marked failed", false,
                    size_setting(&Config::activation_max_attempts, 1, 1000)});
    list.push_back({"FUNNELHOUSE_ACTIVATION_BATCH", "--activation-batch", "1000",
                    "most events a sender takes at once (and sends a request, within each "
                    "platform's own limit)",
                    false, size_setting(&Config::activation_batch, 1, 2000)});
    list.push_back({"FUNNELHOUSE_ACTIVATION_POLL_MS", "--activation-poll-ms", "1000",
                    "how often an idle sender looks for events due", false,
                    millis_setting(&Config::activation_poll, 10, 60'000)});
    list.push_back({"FUNNELHOUSE_ACTIVATION_LEASE_MS", "--activation-lease-ms", "300000",
                    "how long a sender holds the events it took; those of a sender that died "
                    "are sent again after it (at least twice the timeout)",
                    false, millis_setting(&Config::activation_lease, 1000, 86'400'000)});
    list.push_back({"FUNNELHOUSE_DASHBOARD_URL", "--dashboard-url",
                    "(none: http://<admin listener or listener>/dashboard)",
                    "the dashboard's address as people open it, for the links in alerts "
                    "(docs/alerts.md)",
                    false, [](Config& c, const std::string& v) -> std::string {
                        if (v.rfind("https://", 0) != 0 && v.rfind("http://", 0) != 0)
                            return "must be an http:// or https:// URL";
                        c.dashboard_url = v;
                        return {};
                    }});
    list.push_back({"FUNNELHOUSE_DICTIONARY_FORMAT", "--format", "html",
                    "dictionary: html (a page), md (Markdown) or csv (one row per property)", false,
                    [](Config& c, const std::string& v) -> std::string {
                        if (v != "html" && v != "md" && v != "csv")
                            return "must be html, md or csv";
                        c.dictionary_format = v;
                        return {};
                    }});
    list.push_back({"FUNNELHOUSE_EXPORT_DESTINATION", "--destination", "(none)",
                    "conversions csv: the google_ads destination (upload \"csv\") whose "
                    "conversions are written",
                    false, text_setting(&Config::export_destination)});
    list.push_back({"FUNNELHOUSE_SIMULATE_URL", "--url", "http://127.0.0.1:8080",
                    "simulate: the server to send the synthetic shop to (http://host:port)", false,
                    [](Config& c, const std::string& v) -> std::string {
                        if (v.rfind("http://", 0) != 0 || v.size() <= 7)
                            return "must be an http:// URL such as http://127.0.0.1:8080";
                        c.simulate_url = v;
                        return {};
                    }});
    list.push_back({"FUNNELHOUSE_SIMULATE_PERSONS", "--persons", "1000",
                    "simulate: how many persons visit the shop", false,
                    size_setting(&Config::simulate_persons, 1, 10'000'000)});
    list.push_back({"FUNNELHOUSE_SIMULATE_DAYS", "--days", "180",
                    "simulate: first visits spread over this many days up to now", false,
                    size_setting(&Config::simulate_days, 1, 3650)});
    list.push_back({"FUNNELHOUSE_SIMULATE_SEED", "--seed", "1",
                    "simulate: the same seed gives the same shop", false,
                    size_setting(&Config::simulate_seed, 0, std::size_t{1} << 62)});
    list.push_back({"FUNNELHOUSE_SIMULATE_DEFECTS", "--defects", "0",
                    "simulate: plant the problems of docs/alerts.md (add-to-cart broken on "
                    "mobile, a flood of low-intent traffic, a contract change) from this many "
                    "days before now; 0 plants none",
                    false, size_setting(&Config::simulate_defects, 0, 3650)});
    // Identifiers are personal data: secret, so never echoed in an error.
    const auto identifier = [](std::string Config::*field) {
        return [field](Config& c, const std::string& v) -> std::string {
            if (v.empty() || v.size() > 255) return "must be 1 to 255 characters";
            c.*field = v;
            return {};
        };
    };
    list.push_back({"FUNNELHOUSE_FORGET_USER_ID", "--user-id", "(none)",
                    "forget: erase the person with this user id", true,
                    identifier(&Config::forget_user_id)});
    list.push_back({"FUNNELHOUSE_FORGET_ANONYMOUS_ID", "--anonymous-id", "(none)",
                    "forget: erase the person with this anonymous id", true,
                    identifier(&Config::forget_anonymous_id)});
    list.push_back({"FUNNELHOUSE_LOG_LEVEL", "--log-level", "info",
                    "trace, debug, info, warn, error or off", false,
                    [](Config& c, const std::string& v) -> std::string {
                        for (const char* level : {"trace", "debug", "info", "warn", "error", "off"})
                            if (v == level) {
                                c.log_level = v;
                                return {};
                            }
                        return "must be one of trace, debug, info, warn, error, off";
                    }});
    list.push_back(
        {"FUNNELHOUSE_LOG_FORMAT", "--log-format", "json",
         "json (one object per line: time, level, message) or text", false,
         choice_setting(&Config::log_format, "json", LogFormat::json, "text", LogFormat::text)});
    return list;
}

}  // namespace

unsigned Config::effective_io_threads() const {
    if (io_threads > 0) return io_threads;
    return std::max(1u, std::thread::hardware_concurrency());
}

const std::vector<Setting>& settings() {
    static const std::vector<Setting> list = make_settings();
    return list;
}

namespace {

const Setting* find_by_env(std::string_view name) {
    for (const auto& setting : settings())
        if (setting.env == name) return &setting;
    return nullptr;
}

// The settings of a config file, in order: (line number, name, value).
struct FileSetting {
    std::size_t line;
    std::string name;
    std::string value;
};

std::vector<FileSetting> read_config_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in)
        throw std::invalid_argument(std::string(kConfigVariable) + ": cannot read '" +
                                    path.string() + "'");
    std::vector<FileSetting> found;
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        line = common::trim(line);
        if (line.empty() || line.front() == '#') continue;
        const auto where = path.string() + ":" + std::to_string(number);
        const auto equals = line.find('=');
        if (equals == std::string::npos)
            throw std::invalid_argument(where + ": expected NAME=value");
        auto name = common::trim(line.substr(0, equals));
        auto value = common::trim(line.substr(equals + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        const bool name_like =
            !name.empty() && name.size() <= 100 &&
            name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == std::string::npos;
        // Anything else may be a value (a URL with a password) written
        // without its name: never echo it.
        if (!name_like) throw std::invalid_argument(where + ": expected NAME=value");
        const auto* setting = find_by_env(name);
        if (!setting || name == kConfigVariable)
            throw std::invalid_argument(where + ": unknown setting '" + name + "' (see --help)");
        found.push_back({number, std::move(name), std::move(value)});
    }
    return found;
}

// A flag given on the command line, applied after the environment.
struct Flag {
    const Setting* setting;
    std::string flag;
    std::string value;
};

// The arguments: flags (with their values), --help, and the positional ones.
std::vector<Flag> read_flags(const std::vector<std::string>& args, ParsedArgs& parsed) {
    std::vector<Flag> flags;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--help" || arg == "-h") {
            parsed.help = true;
            continue;
        }
        if (arg.rfind("--", 0) != 0 || arg == "-") {
            parsed.positional.push_back(arg);
            continue;
        }
        const auto equals = arg.find('=');
        const std::string flag = arg.substr(0, equals);
        const Setting* match = nullptr;
        for (const auto& setting : settings())
            if (setting.flag == flag) match = &setting;
        if (!match) throw std::invalid_argument("unknown option " + flag + " (see --help)");
        std::string value;
        if (equals != std::string::npos) {
            value = arg.substr(equals + 1);
        } else {
            if (i + 1 >= args.size()) throw std::invalid_argument(flag + " needs a value");
            value = args[++i];
        }
        flags.push_back({match, flag, std::move(value)});
    }
    return flags;
}

// A misspelt variable would otherwise be ignored without a word. Left alone:
// what orchestrators inject for a service named "funnelhouse" (Kubernetes and
// Docker links: FUNNELHOUSE_SERVICE_HOST, FUNNELHOUSE_PORT_8080_TCP, ...).
void refuse_unknown_variables(const std::vector<std::string>& environment_names) {
    for (const auto& name : environment_names) {
        if (name.rfind("FUNNELHOUSE_", 0) != 0 || find_by_env(name)) continue;
        if (name == "FUNNELHOUSE_PORT" || name.rfind("FUNNELHOUSE_PORT_", 0) == 0 ||
            name.rfind("FUNNELHOUSE_SERVICE_", 0) == 0)
            continue;
        if (name == "FUNNELHOUSE_TRUST_FORWARDED_FOR")
            throw std::invalid_argument(
                "FUNNELHOUSE_TRUST_FORWARDED_FOR is replaced by FUNNELHOUSE_TRUSTED_PROXIES: list "
                "the addresses of the proxies in front (such as 10.0.0.0/8); X-Forwarded-For is "
                "believed from them only");
        throw std::invalid_argument("unknown environment variable " + name.substr(0, 100) +
                                    " (see --help)");
    }
}

}  // namespace

ParsedArgs parse(const std::vector<std::string>& args,
                 const std::function<const char*(const char*)>& getenv,
                 const std::vector<std::string>& environment_names) {
    ParsedArgs parsed;
    auto apply = [&](const Setting& setting, const std::string& value, const std::string& origin) {
        const auto error = setting.apply(parsed.config, value);
        if (!error.empty()) {
            const std::string shown = setting.secret ? std::string{"(hidden)"} : "'" + value + "'";
            throw std::invalid_argument(origin + " " + shown + ": " + error);
        }
    };
    // Flags are read first: the config file they may name is applied first.
    const auto flags = read_flags(args, parsed);
    if (!parsed.help) refuse_unknown_variables(environment_names);

    // The config file, then the environment, then the flags: each overrides
    // what came before it.
    std::string config_file;
    if (const char* value = getenv(kConfigVariable); value && *value) config_file = value;
    for (const auto& flag : flags)
        if (flag.setting->env == kConfigVariable) config_file = flag.value;
    if (!config_file.empty()) {
        for (const auto& item : read_config_file(config_file))
            apply(*find_by_env(item.name), item.value,
                  config_file + ":" + std::to_string(item.line) + " " + item.name);
        parsed.config.config_file = config_file;
    }
    for (const auto& setting : settings())
        if (const char* value = getenv(setting.env.c_str()); value && *value)
            apply(setting, value, setting.env);
    for (const auto& flag : flags) apply(*flag.setting, flag.value, flag.flag);
    if (parsed.config.personal_data == PersonalData::hash &&
        parsed.config.personal_data_key.empty())
        throw std::invalid_argument(
            "FUNNELHOUSE_PERSONAL_DATA=hash needs FUNNELHOUSE_PERSONAL_DATA_KEY (a secret of at "
            "least 32 characters)");
    return parsed;
}

std::vector<std::filesystem::path> Config::model_folders() const {
    std::vector<std::filesystem::path> folders{models_dir};
    if (!custom_models_dir.empty()) folders.push_back(custom_models_dir);
    return folders;
}

std::string help_text() {
    std::string text =
        "Usage: funnelhouse COMMAND [options]\n\n"
        "Commands:\n"
        "  serve              run the HTTP ingest server\n"
        "  migrate            apply migrations/NNNN_name.sql in order\n"
        "  validate FILE|-    validate events offline against the schemas\n"
        "  schemas lint       check the schema folder\n"
        "  reprocess          re-validate bad_events and load those that now pass\n"
        "  requeue-quarantine put records the loader set aside back into the spool\n"
        "  refresh            refresh the analytics models (docs/analytics.md)\n"
        "  models list        the model files in the order a refresh builds them\n"
        "  models check       compile every model file against the database, changing\n"
        "                     nothing\n"
        "  forget             erase a person (--user-id or --anonymous-id) and suppress\n"
        "                     their later events (docs/security.md)\n"
        "  healthcheck        exit 0 when the server at FUNNELHOUSE_LISTEN answers /healthz\n"
        "  simulate           post a synthetic shop's traffic to a server (--url, --persons,\n"
        "                     --days, --seed; the keys of FUNNELHOUSE_KEYS_FILE)\n\n"
        "Settings (environment variable, flag, default):\n";
    for (const auto& setting : settings()) {
        text += "  " + setting.env + ", " + setting.flag + "\n";
        text += "      " + setting.help + " [default: " + setting.default_text + "]\n";
    }
    return text;
}

}  // namespace funnelhouse::config
