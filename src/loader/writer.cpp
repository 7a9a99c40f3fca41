#include "funnelhouse/loader/writer.hpp"

#include <pqxx/pqxx>

// libpqxx 6.4 offers raw COPY lines only through tablewriter (deprecated in
// favour of stream_to, whose raw-line writer is private). Raw lines let the
// loader escape each field once into a reused buffer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <pqxx/tablewriter>

#include "funnelhouse/db/copy_text.hpp"

namespace funnelhouse::loader {
namespace {

constexpr const char* kEventColumns =
    "event_id, event_name, event_type, schema_version, anonymous_id, user_id, group_id, "
    "previous_id, occurred_at, "
    "original_timestamp, sent_at, received_at, properties, context, write_key_name, source";

constexpr const char* kBadEventColumns =
    "bad_event_id, event_id, event_name, raw_event, errors, reason, route, write_key_name, "
    "source, received_at, batch_sent_at";

}  // namespace

void prepare_staging(pqxx::connection& connection) {
    // Temporary tables live as long as the connection; ON COMMIT DELETE ROWS
    // empties them after each batch.
    pqxx::nontransaction setup(connection);
    setup.exec(
        "CREATE TEMP TABLE IF NOT EXISTS funnelhouse_events_stage ("
        " seq bigint NOT NULL, event_id text, event_name text, event_type text,"
        " schema_version text, anonymous_id text, user_id text, group_id text, previous_id text, "
        "occurred_at timestamptz,"
        " original_timestamp timestamptz, sent_at timestamptz, received_at timestamptz,"
        " properties jsonb, context jsonb, write_key_name text, source text)"
        " ON COMMIT DELETE ROWS");
    setup.exec(
        "CREATE TEMP TABLE IF NOT EXISTS funnelhouse_bad_events_stage ("
        " bad_event_id uuid, event_id text, event_name text, raw_event text, errors jsonb,"
        " reason text, route text, write_key_name text, source text,"
        " received_at timestamptz, batch_sent_at timestamptz)"
        " ON COMMIT DELETE ROWS");
}

namespace {

std::optional<std::string> format_optional(const std::optional<common::timestamp>& value) {
    if (!value) return std::nullopt;
    return common::format_timestamp(*value);
}

}  // namespace

std::unordered_set<std::string> write_rows(pqxx::work& txn,
                                           const std::vector<const common::Event*>& events,
                                           const std::vector<const common::BadEvent*>& bad_events) {
    std::unordered_set<std::string> inserted;
    db::CopyRow row;
    if (!events.empty()) {
        {
            pqxx::tablewriter writer(txn, "funnelhouse_events_stage");
            long long seq = 0;
            for (const auto* event : events) {
                row.clear();
                row.field(std::to_string(seq++));
                row.field(std::string_view{event->event_id});
                row.field(std::string_view{event->event_name});
                row.field(std::string_view{event->event_type});
                row.field(std::string_view{event->schema_version});
                row.field_or_null(event->anonymous_id);
                row.field_or_null(event->user_id);
                row.field_or_null(event->group_id);
                row.field_or_null(event->previous_id);
                row.field(common::format_timestamp(event->occurred_at));
                row.field_or_null(format_optional(event->original_timestamp));
                row.field_or_null(format_optional(event->sent_at));
                row.field(common::format_timestamp(event->received_at));
                row.field(std::string_view{event->properties});
                row.field(std::string_view{event->context});
                row.field(std::string_view{event->write_key_name});
                row.field(common::to_string(event->source));
                writer.write_raw_line(row.line());
            }
            writer.complete();
        }
        const auto result = txn.exec(std::string("INSERT INTO events (") + kEventColumns +
                                     ") SELECT " + kEventColumns +
                                     " FROM funnelhouse_events_stage ORDER BY seq"
                                     " ON CONFLICT (event_id) DO NOTHING RETURNING event_id");
        inserted.reserve(result.size());
        for (const auto& r : result) inserted.insert(r[0].as<std::string>());
    }
    if (!bad_events.empty()) {
        {
            pqxx::tablewriter writer(txn, "funnelhouse_bad_events_stage");
            for (const auto* bad : bad_events) {
                row.clear();
                row.field(std::string_view{bad->bad_event_id});
                row.field_or_null(bad->event_id);
                row.field_or_null(bad->event_name);
                row.field(std::string_view{bad->raw_event});
                row.field(std::string_view{bad->errors});
                row.field(std::string_view{bad->reason});
                row.field(std::string_view{bad->route});
                row.field(std::string_view{bad->write_key_name});
                row.field(common::to_string(bad->source));
                row.field(common::format_timestamp(bad->received_at));
                row.field_or_null(format_optional(bad->batch_sent_at));
                writer.write_raw_line(row.line());
            }
            writer.complete();
        }
        txn.exec(std::string("INSERT INTO bad_events (") + kBadEventColumns + ") SELECT " +
                 kBadEventColumns +
                 " FROM funnelhouse_bad_events_stage ON CONFLICT (bad_event_id) DO NOTHING");
    }
    return inserted;
}

std::unordered_set<std::string> write_batch(
    pqxx::connection& connection, const std::vector<const common::Event*>& events,
    const std::vector<const common::BadEvent*>& bad_events) {
    pqxx::work txn(connection);
    auto inserted = write_rows(txn, events, bad_events);
    txn.commit();
    return inserted;
}

}  // namespace funnelhouse::loader

#pragma GCC diagnostic pop
