#include "funnelhouse/cli/reprocess.hpp"

#include <pqxx/pqxx>

#include "funnelhouse/db/locks.hpp"
#include "funnelhouse/db/migrate.hpp"
#include "funnelhouse/ingest/message.hpp"
#include "funnelhouse/loader/writer.hpp"

namespace funnelhouse::cli {

namespace {

// What became of one rejected message mapped again.
enum class Again { still_bad, dropped, loaded };

// One row of bad_events mapped again with today's contracts; a loaded one
// is appended to `events`.
Again map_again(const pqxx::row& row, const schema::SchemaRegistry& registry,
                const std::vector<std::string>& extra_junk_ids,
                const ingest::PrivacySettings& privacy, std::vector<common::Event>& events) {
    const auto source = common::parse_source(row[4].as<std::string>());
    const auto received_at = common::parse_timestamp(row[5].as<std::string>());
    const auto message = row[1].as<std::string>();
    if (!source || !received_at) return Again::still_bad;
    const auto route = row[2].as<std::string>();
    const auto key_name = row[3].as<std::string>();
    ingest::MessageContext context;
    context.route = route;
    context.write_key_name = key_name;
    context.source = *source;
    context.received_at = *received_at;
    if (!row[6].is_null())
        context.batch_sent_at = common::parse_timestamp(row[6].as<std::string>());
    context.extra_junk_ids = &extra_junk_ids;
    context.privacy = &privacy;
    auto mapped = ingest::map_message(message, context, registry);
    if (mapped.dropped) return Again::dropped;
    if (!mapped.event) return Again::still_bad;
    // An id the server assigned at receipt was already reported to the
    // client and stored with the row: keep it.
    if (mapped.event_id_assigned && !row[7].is_null())
        mapped.event->event_id = row[7].as<std::string>();
    events.push_back(std::move(*mapped.event));
    return Again::loaded;
}

}  // namespace

ReprocessReport reprocess(pqxx::connection& connection, const schema::SchemaRegistry& registry,
                          const std::vector<std::string>& extra_junk_ids,
                          const ingest::PrivacySettings& privacy,
                          std::size_t rows_per_transaction) {
    ReprocessReport report;
    const bool citus = db::is_citus(connection);
    std::string after = "00000000-0000-0000-0000-000000000000";
    for (;;) {
        pqxx::work txn(connection);
        // The erasure lock first, as every loader batch takes it: taken after
        // the row locks below it could deadlock with a `forget`.
        txn.exec("SELECT pg_advisory_xact_lock_shared(" + std::to_string(db::kErasureLock) + ")");
        if (citus)
            txn.exec("SELECT pg_advisory_xact_lock(" + std::to_string(db::kReprocessLock) + ")");
        const auto rows = txn.exec_params(
            "SELECT bad_event_id::text, raw_event, route, write_key_name, source,"
            " to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
            " to_char(batch_sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
            " event_id"
            " FROM bad_events WHERE reprocessed_at IS NULL AND reason <> 'event_id_collision'"
            " AND bad_event_id > $1::uuid"
            " ORDER BY bad_event_id LIMIT $2" + std::string(citus ? "" : " FOR UPDATE SKIP LOCKED"),
            after, static_cast<long long>(rows_per_transaction));
        if (rows.empty()) break;

        std::vector<common::Event> events;
        std::string done_ids = "{";  // the rows loaded or dropped: reprocessed
        for (const auto& row : rows) {
            ++report.examined;
            after = row[0].as<std::string>();
            const auto again = map_again(row, registry, extra_junk_ids, privacy, events);
            if (again == Again::still_bad) {
                ++report.still_bad;
                continue;
            }
            if (again == Again::dropped) ++report.dropped;
            if (done_ids.size() > 1) done_ids += ',';
            done_ids += after;
        }
        done_ids += '}';
        if (done_ids.size() > 1) {
            std::vector<const common::Event*> pointers;
            for (const auto& event : events) pointers.push_back(&event);
            if (!pointers.empty()) loader::write_rows(txn, pointers, {});
            txn.exec_params(
                "UPDATE bad_events SET reprocessed_at = now() WHERE bad_event_id = ANY($1::uuid[])",
                done_ids);
            report.loaded += events.size();
        }
        txn.commit();
    }
    return report;
}

}  // namespace funnelhouse::cli
