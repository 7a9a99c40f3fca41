#include "funnelhouse/cli/commands.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>
#include <sstream>

#include "funnelhouse/activation/sender.hpp"
#include "funnelhouse/cli/reprocess.hpp"
#include "funnelhouse/common/file.hpp"
#include "funnelhouse/db/arrays.hpp"
#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/db/migrate.hpp"
#include "funnelhouse/http/server.hpp"
#include "funnelhouse/ingest/message.hpp"
#include "funnelhouse/ingest/write_keys.hpp"
#include "funnelhouse/intake/intake.hpp"
#include "funnelhouse/loader/loader.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "funnelhouse/metrics/instruments.hpp"
#include "funnelhouse/metrics/process.hpp"
#include "funnelhouse/models/refresh.hpp"
#include "funnelhouse/schema/lint.hpp"
#include "funnelhouse/schema/registry.hpp"
#include "funnelhouse/spool/spool.hpp"

namespace funnelhouse::cli {
namespace {

void require_database_url(const config::Config& config) {
    if (config.database_url.empty())
        throw std::invalid_argument(
            "FUNNELHOUSE_DATABASE_URL (or --database-url) is required for this command");
}

// Refuses to serve a reachable database that lacks migrations: every batch
// would fail. An unreachable one is fine: the loader retries until it is up.
// Returns whether the database is a Citus coordinator (nullopt: unreachable).
std::optional<bool> check_migrated(const config::Config& config) {
    // The folder is read first: a wrong one is reported even while
    // PostgreSQL is away.
    const auto regular = db::read_migrations(config.migrations_dir);
    std::unique_ptr<pqxx::connection> connection;
    try {
        connection = db::connect(config.database_url);
    } catch (const std::exception& error) {
        spdlog::warn("PostgreSQL is not reachable yet ({}); events wait in the spool until it is",
                     error.what());
        return std::nullopt;
    }
    const bool citus = db::is_citus(*connection);
    const auto expected =
        citus ? db::expected_migrations(*connection, config.migrations_dir) : regular;
    const auto versions = db::text_array(
        expected, [](const db::MigrationFile& file) -> std::string_view { return file.version; });
    pqxx::nontransaction txn(*connection);
    const auto present =
        txn.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>();
    std::size_t applied = 0;
    if (present)
        applied = txn.exec_params("SELECT count(*) FROM schema_migrations "
                                  "WHERE version = ANY($1::text[])",
                                  versions)[0][0]
                      .as<std::size_t>();
    if (applied < expected.size())
        throw std::runtime_error("the database has " + std::to_string(applied) + " of " +
                                 std::to_string(expected.size()) +
                                 " migrations applied: run `funnelhouse migrate` first");
    return citus;
}

spool::SpoolSettings spool_settings(const config::Config& config) {
    spool::SpoolSettings settings;
    settings.dir = config.spool_dir;
    // In the loaded mode an answer waits for PostgreSQL, so the spool need
    // not sync: it only carries events to the loader (and across a restart).
    settings.sync = config.ack_mode == config::AckMode::durable;
    settings.max_bytes = config.spool_max_bytes;
    settings.min_free_bytes = config.spool_min_free_bytes;
    settings.segment_bytes = config.spool_segment_bytes;
    return settings;
}

// The spool's state, read at each scrape of /metrics.
void observe_spool(metrics::Registry& registry, spool::Spool& spool, const loader::Loader& loader) {
    auto* bytes =
        &registry.gauge("funnelhouse_spool_bytes", "Bytes of the spool's segment files.").get();
    auto* max_bytes = &registry
                           .gauge("funnelhouse_spool_max_bytes",
                                  "FUNNELHOUSE_SPOOL_MAX_BYTES: beyond it requests get 503.")
                           .get();
    auto* unloaded_bytes = &registry
                                .gauge("funnelhouse_spool_unloaded_bytes",
                                       "Spooled bytes not yet committed in PostgreSQL.")
                                .get();
    auto* unloaded_records = &registry
                                  .gauge("funnelhouse_spool_unloaded_records",
                                         "Spooled requests not yet committed in PostgreSQL.")
                                  .get();
    auto* oldest = &registry
                        .gauge("funnelhouse_spool_oldest_unloaded_age_seconds",
                               "Age of the oldest spooled request the loader is loading; 0 when "
                               "nothing waits.")
                        .get();
    auto* segments =
        &registry.gauge("funnelhouse_spool_segments", "Segment files in the spool.").get();
    auto* free_disk =
        &registry
             .gauge("funnelhouse_spool_free_disk_bytes", "Free bytes on the spool's file system.")
             .get();
    auto* accepting = &registry
                           .gauge("funnelhouse_spool_accepting",
                                  "1 while the spool takes new events; 0 while it refuses "
                                  "them (full, disk full, or a failed write).")
                           .get();
    auto* quarantined = &registry
                             .gauge("funnelhouse_spool_quarantined_records",
                                    "Records in the spool's quarantine, waiting for "
                                    "requeue-quarantine.")
                             .get();
    registry.on_collect([=, &loader, &spool] {
        const auto status = spool.status();
        bytes->set(static_cast<double>(status.bytes));
        max_bytes->set(static_cast<double>(status.max_bytes));
        unloaded_bytes->set(static_cast<double>(status.unloaded_bytes));
        unloaded_records->set(static_cast<double>(status.unloaded_records));
        segments->set(static_cast<double>(status.segments));
        free_disk->set(static_cast<double>(status.free_disk_bytes));
        accepting->set(status.refusing ? 0 : 1);
        quarantined->set(static_cast<double>(status.quarantined_records));
        oldest->set(loader.oldest_unloaded_age_seconds().value_or(0.0));
    });
}

std::string read_input(const std::string& input) {
    if (input == "-") {
        std::ostringstream text;
        text << std::cin.rdbuf();
        return text.str();
    }
    auto text = common::read_file(input);
    if (!text) throw std::invalid_argument("cannot read '" + input + "'");
    return std::move(*text);
}

}  // namespace

int run_serve(const config::Config& config) {
    require_database_url(config);
    if (config.keys_file.empty())
        throw std::invalid_argument("FUNNELHOUSE_KEYS_FILE (or --keys-file) is required to serve");
    const auto keys = ingest::WriteKeyRing::load(config.keys_file);
    if (keys.keys().empty())
        throw std::invalid_argument("keys file '" + config.keys_file.string() + "' has no keys");
    const auto registry = schema::SchemaRegistry::load(config.schemas_dir);
    spdlog::info("loaded {} contracts from {}, {} write keys", registry.size(),
                 config.schemas_dir.string(), keys.keys().size());
    const auto citus = check_migrated(config);
    // A broken model folder stops serve here rather than failing every
    // refresh later; the files are read again at each refresh.
    if (config.refresh_interval.count() > 0) models::load_catalog(config.model_folders());
    auto destinations = activation::load_destinations(config.destinations_file);
    if (citus.value_or(false) && !destinations.empty())
        throw std::invalid_argument(
            "FUNNELHOUSE_DESTINATIONS_FILE: sending to destinations does not work on a Citus "
            "database yet; leave it unset there (docs/operations.md, \"On Citus\")");
    metrics::Registry metrics_registry;
    metrics::Instruments instruments(metrics_registry);
    metrics_registry
        .gauge("funnelhouse_build_info", "Always 1; the labels tell the version and settings.",
               {"version", "ack"})
        .with({FUNNELHOUSE_VERSION,
               config.ack_mode == config::AckMode::durable ? "durable" : "loaded"})
        .set(1);
    metrics::add_process_metrics(metrics_registry);
    spool::Spool spool(spool_settings(config));
    loader::Loader loader(config, spool, &instruments);
    observe_spool(metrics_registry, spool, loader);
    loader.start();
    models::Refresher refresher(config.database_url, registry, config.model_folders(),
                                config.refresh_interval, &instruments);
    refresher.start();
    activation::Senders senders(config, std::move(destinations), &instruments);
    senders.start();
    intake::Intake intake(config, spool, loader);
    http::serve(config, registry, keys, intake, instruments);
    senders.stop();
    refresher.stop();
    return 0;
}

int run_migrate(const config::Config& config) {
    require_database_url(config);
    auto connection = db::connect(config.database_url);
    const auto report = db::migrate(*connection, config.migrations_dir, config.database_layout);
    for (const auto& name : report.applied) std::cout << "applied " << name << "\n";
    std::cout << report.applied.size() << " applied, " << report.already_applied
              << " already applied\n";
    return 0;
}

int run_validate(const config::Config& config, const std::string& input, std::ostream& out) {
    const auto registry = schema::SchemaRegistry::load(config.schemas_dir);
    const auto text = read_input(input);

    // A file holds one message, a list of messages, a {"batch": [...]}
    // request body, or one message per line (NDJSON).
    std::vector<std::string> messages;
    std::optional<common::timestamp> batch_sent_at;
    const auto document = nlohmann::json::parse(text, nullptr, false);
    if (!document.is_discarded()) {
        if (document.is_object() && document.contains("batch") && document["batch"].is_array()) {
            for (const auto& message : document["batch"]) messages.push_back(message.dump());
            if (document.contains("sentAt") && document["sentAt"].is_string())
                batch_sent_at = common::parse_timestamp(document["sentAt"].get<std::string>());
        } else if (document.is_array()) {
            for (const auto& message : document) messages.push_back(message.dump());
        } else {
            messages.push_back(text);
        }
    } else {
        std::istringstream lines(text);
        std::string line;
        std::size_t number = 0;
        while (std::getline(lines, line)) {
            ++number;
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            if (!nlohmann::json::accept(line)) {
                out << "line " << number << ": not valid JSON\n";
                return 2;
            }
            messages.push_back(line);
        }
    }

    ingest::MessageContext context;
    context.route = "/v1/batch";
    context.write_key_name = "validate";
    context.source = common::Source::server;
    context.received_at = common::now();
    context.batch_sent_at = batch_sent_at;
    std::size_t invalid = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const auto mapped = ingest::map_message(messages[i], context, registry);
        if (mapped.event) continue;
        ++invalid;
        out << "message " << i;
        if (mapped.event_id && !mapped.event_id_assigned) out << " (" << *mapped.event_id << ")";
        if (mapped.event_name) out << " " << *mapped.event_name;
        out << ": " << mapped.rejection->reason << "\n";
        for (const auto& error : mapped.rejection->errors)
            out << "  " << (error.path.empty() ? "/" : error.path) << ": " << error.message << "\n";
    }
    out << (messages.size() - invalid) << " valid, " << invalid << " invalid\n";
    return invalid == 0 ? 0 : 1;
}

int run_schemas_lint(const config::Config& config, std::ostream& out) {
    const auto findings = schema::lint_schemas(config.schemas_dir);
    for (const auto& finding : findings)
        out << finding.file.string() << ": " << finding.message << "\n";
    if (findings.empty()) {
        out << "schemas in " << config.schemas_dir.string() << ": ok\n";
        return 0;
    }
    out << findings.size() << " problem(s) in " << config.schemas_dir.string() << "\n";
    return 1;
}

int run_reprocess(const config::Config& config) {
    require_database_url(config);
    const auto registry = schema::SchemaRegistry::load(config.schemas_dir);
    auto connection = db::connect(config.database_url);
    loader::prepare_staging(*connection, config.loader_worker_connections);
    const auto report =
        cli::reprocess(*connection, registry, config.junk_ids, ingest::privacy_settings(config));
    std::cout << "examined " << report.examined << ", loaded " << report.loaded
              << ", still rejected " << report.still_bad << ", dropped without consent "
              << report.dropped << "\n";
    return 0;
}

int run_requeue_quarantine(const config::Config& config, std::ostream& out) {
    // Taking the spool's lock makes sure no server is using the folder.
    auto settings = spool_settings(config);
    settings.sync = true;  // the quarantine file is renamed once they are durable
    spool::Spool spool(settings);
    const auto requeued = spool.requeue_quarantined();
    spool.close();
    out << "requeued " << requeued << " quarantined record(s) into " << config.spool_dir.string()
        << "; the next serve loads them\n";
    return 0;
}

int run_refresh(const config::Config& config, std::ostream& out) {
    require_database_url(config);
    const auto registry = schema::SchemaRegistry::load(config.schemas_dir);
    auto connection = db::connect(config.database_url, std::chrono::milliseconds(0));
    const auto catalog = models::load_catalog(config.model_folders());
    const auto report = models::refresh(*connection, registry, catalog);
    for (const auto& step : report.steps)
        out << "refreshed models." << step.model << " in " << step.took.count() << " ms\n";
    for (const auto& name : report.dropped)
        out << "dropped " << (name.find('(') == std::string::npos ? "models." : "") << name
            << ": its file is gone\n";
    out << report.steps.size() << " models refreshed in " << report.took.count() << " ms ("
        << report.contracts << " contract versions)\n";
    return 0;
}

namespace {

void print_catalog(const models::Catalog& catalog, std::ostream& out) {
    for (const auto& file : catalog.files) {
        out << models::to_string(file.kind) << "\tmodels." << file.name << "\t"
            << file.path.string() << "\treads: ";
        for (std::size_t i = 0; i < file.reads.size(); ++i) out << (i ? ", " : "") << file.reads[i];
        out << (file.reads.empty() ? "(no model)" : "") << "\n";
    }
}

}  // namespace

int run_models_list(const config::Config& config, std::ostream& out) {
    const auto catalog = models::load_catalog(config.model_folders());
    print_catalog(catalog, out);
    out << catalog.model_count() << " models and " << catalog.files.size() - catalog.model_count()
        << " functions\n";
    return 0;
}

int run_models_check(const config::Config& config, std::ostream& out) {
    require_database_url(config);
    const auto catalog = models::load_catalog(config.model_folders());
    auto connection = db::connect(config.database_url, std::chrono::milliseconds(0));
    models::check(*connection, catalog);
    print_catalog(catalog, out);
    out << catalog.files.size() << " files compile; nothing was changed\n";
    return 0;
}

int run_forget(const config::Config& config, std::ostream& out) {
    require_database_url(config);
    const bool by_user = !config.forget_user_id.empty();
    if (by_user == !config.forget_anonymous_id.empty())
        throw std::invalid_argument("give exactly one of --user-id and --anonymous-id");
    check_migrated(config);
    auto connection = db::connect(config.database_url, std::chrono::milliseconds(0));
    pqxx::work txn(*connection);
    const auto row = txn.exec_params1(
        "SELECT erasure_id, identifiers, events_deleted, bad_events_deleted, "
        "identity_rows_deleted, model_rows_deleted FROM funnelhouse_forget($1, $2)",
        by_user ? config.forget_user_id : config.forget_anonymous_id,
        by_user ? "user" : "anonymous");
    txn.commit();
    out << "erasure " << row[0].as<std::string>() << ": deleted " << row[2].as<std::string>()
        << " events, " << row[3].as<std::string>() << " rejected messages, "
        << row[4].as<std::string>() << " identity rows, " << row[5].as<std::string>()
        << " model rows; " << row[1].as<std::string>()
        << " identifiers suppressed (their later events are not stored)\n";
    return 0;
}

}  // namespace funnelhouse::cli
