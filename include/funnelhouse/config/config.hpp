#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "funnelhouse/common/networks.hpp"

namespace funnelhouse::config {

// The one typed configuration, read once at start-up (environment, then
// command-line flags) and passed by const reference from main.
// When a request's 200 is sent (FUNNELHOUSE_ACK).
enum class AckMode {
    durable,  // its records are synced to the spool on disk
    loaded,   // its events are committed in PostgreSQL
};

// How `funnelhouse migrate` lays the tables out (FUNNELHOUSE_DATABASE_LAYOUT).
enum class DatabaseLayout {
    automatic,  // distributed on a Citus coordinator, else on one PostgreSQL
    citus,      // distributed; a database without the citus extension is refused
};

// How log lines are written (FUNNELHOUSE_LOG_FORMAT).
enum class LogFormat {
    json,  // one JSON object per line
    text,  // for a person at a terminal
};

// What is stored of the client's address in context.ip
// (FUNNELHOUSE_CLIENT_ADDRESS).
enum class ClientAddress {
    truncated,  // IPv4 to its /24, IPv6 to its /48
    full,
    none,  // not stored at all
};

// What happens to an event without analytics consent
// (FUNNELHOUSE_CONSENT_POLICY).
enum class ConsentPolicy {
    anonymize,  // kept without identifiers, address and personal properties
    drop,       // not stored; counted
};

// What happens to properties a contract marks as personal data
// (FUNNELHOUSE_PERSONAL_DATA).
enum class PersonalData {
    remove,  // left out of the stored event
    hash,    // replaced by HMAC-SHA256(FUNNELHOUSE_PERSONAL_DATA_KEY, value)
    keep,    // stored as sent
};

struct Config {
    std::filesystem::path config_file;  // where settings were read from, if anywhere
    std::string database_url;
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    // A second listener for the admin routes (/metrics); when unset they are
    // served on the main one.
    std::string admin_listen_host;
    std::uint16_t admin_listen_port = 0;
    bool admin_listen_set = false;
    std::string admin_token;  // when set, admin routes require "Authorization: Bearer <token>"
    std::filesystem::path schemas_dir = "schemas";
    std::filesystem::path migrations_dir = "migrations";
    std::filesystem::path models_dir = "models";  // the built-in models (docs/analytics.md)
    std::filesystem::path custom_models_dir;      // an analyst's own models; none when empty

    // The folders a refresh reads model files from: the built-in, then the
    // custom one when set.
    std::vector<std::filesystem::path> model_folders() const;
    std::filesystem::path keys_file;
    unsigned io_threads = 0;  // 0: one per core

    std::size_t max_event_bytes = 32 * 1024;
    std::size_t max_request_bytes = 500 * 1024;
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_request_line_bytes = 2 * 1024;
    std::size_t max_json_depth = 64;
    // From the start of waiting for a request (also on an idle keep-alive
    // connection) to its last header; then from there to its last body byte.
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds body_timeout{30'000};
    std::size_t max_connections = 1024;
    std::size_t max_connections_per_address = 256;

    // Token buckets on the ingest routes: requests per second and burst, per
    // client address and per write key; 0 per second turns one off.
    double rate_limit_address = 100;
    double rate_limit_address_burst = 1000;
    double rate_limit_key = 5000;
    double rate_limit_key_burst = 10000;
    std::size_t rate_limit_tracked = 100'000;  // buckets kept at most, per limit
    // The proxies whose X-Forwarded-For names the client; empty: the header
    // is never believed.
    common::Networks trusted_proxies;

    ClientAddress client_address = ClientAddress::truncated;
    ConsentPolicy consent_policy = ConsentPolicy::anonymize;
    // Categories of context.consent.categoryPreferences that mean analytics
    // consent (any one granted is enough), compared ignoring case.
    std::vector<std::string> consent_categories{"analytics"};
    // Whether an event that says nothing about consent counts as without it.
    bool consent_required = false;
    PersonalData personal_data = PersonalData::remove;
    std::string personal_data_key;

    std::size_t batch_max_events = 2'000;
    std::chrono::milliseconds batch_max_delay{5};
    // Ids and links the loader remembers as stored (loader/known_ids.hpp);
    // 0: none, every event goes through the identity steps.
    std::size_t loader_known_ids = 200'000;
    // Batches stored at once, each on a connection of its own (loader.hpp).
    std::size_t loader_connections = 2;
    // On Citus: connections each loader connection keeps open to each
    // worker, over which a batch's statements reach that worker's shards.
    std::size_t loader_worker_connections = 4;
    std::chrono::milliseconds load_timeout{10'000};

    AckMode ack_mode = AckMode::durable;
    DatabaseLayout database_layout = DatabaseLayout::automatic;
    std::filesystem::path spool_dir = "spool";
    std::size_t spool_max_bytes = 1024ull * 1024 * 1024;
    std::size_t spool_min_free_bytes = 256ull * 1024 * 1024;
    std::size_t spool_segment_bytes = 16ull * 1024 * 1024;
    std::chrono::milliseconds shutdown_timeout{10'000};
    std::chrono::seconds refresh_interval{300};  // 0: serve never refreshes the models

    // The dashboard (/dashboard and /api/dashboard/*, admin routes): its
    // queries run on their own connections (database_url when this is
    // empty), as `dashboard_role` when it is not empty, read-only.
    std::string dashboard_database_url;
    std::string dashboard_role = "funnelhouse_analyst";
    std::size_t dashboard_connections = 2;
    std::size_t dashboard_queue = 64;  // queries waiting at most; 503 beyond
    std::chrono::milliseconds dashboard_timeout{10'000};
    std::filesystem::path dashboard_dir;  // built page; empty: the build's own
    // The browser tracker served at /funnelhouse.js; empty: the build's own.
    std::filesystem::path tracker_file;

    // Activation (docs/activation.md): where the destinations are written,
    // and how the senders send.
    std::filesystem::path destinations_file;   // empty: nothing is sent
    std::filesystem::path activation_ca_file;  // trusted besides the system's store
    std::chrono::milliseconds activation_settle{60'000};
    std::chrono::milliseconds activation_timeout{10'000};
    std::chrono::milliseconds activation_retry_first{1'000};
    std::chrono::milliseconds activation_retry_longest{600'000};
    std::size_t activation_max_attempts = 20;
    std::size_t activation_batch = 1'000;
    std::chrono::milliseconds activation_poll{1'000};
    std::chrono::milliseconds activation_lease{300'000};
    std::string export_destination;  // `conversions csv`: whose conversions
    std::string dashboard_url;       // the dashboard as people open it, for links in alerts
    std::string dictionary_format = "html";  // `dictionary`: html, md or csv

    // `simulate`: where to send a synthetic shop, and its size.
    std::string simulate_url = "http://127.0.0.1:8080";
    std::size_t simulate_persons = 1000;
    std::size_t simulate_days = 180;
    std::size_t simulate_seed = 1;
    std::size_t simulate_defects = 0;  // days before now the planted problems start; 0: none

    // `forget`: the person to erase, by one of their identifiers.
    std::string forget_user_id;
    std::string forget_anonymous_id;

    std::vector<std::string>
        junk_ids;  // identifier values treated as absent, besides the built-in ones

    std::string log_level = "info";
    LogFormat log_format = LogFormat::json;

    unsigned effective_io_threads() const;
};

// One setting: its environment variable, its flag, and how to apply a value.
struct Setting {
    std::string env;
    std::string flag;
    std::string default_text;
    std::string help;
    bool secret = false;
    std::function<std::string(Config&, const std::string&)> apply;  // "" or an error
};

const std::vector<Setting>& settings();

// Applies the config file (FUNNELHOUSE_CONFIG or --config: lines of
// NAME=value with the variables' names, # comments), then the environment,
// then `args` (`--flag value` or `--flag=value`); later ones win. Arguments
// that are not flags are returned in `positional`. `environment_names` are the
// names of every variable set, so that a misspelt FUNNELHOUSE_ variable is an
// error rather than silently ignored. Throws std::invalid_argument naming the
// setting (and file and line) and the bad value; secrets are never echoed.
struct ParsedArgs {
    Config config;
    std::vector<std::string> positional;
    bool help = false;
};
ParsedArgs parse(const std::vector<std::string>& args,
                 const std::function<const char*(const char*)>& getenv,
                 const std::vector<std::string>& environment_names = {});

std::string help_text();

}  // namespace funnelhouse::config
