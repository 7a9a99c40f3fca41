#include "funnelhouse/cli/reprocess.hpp"

#include <pqxx/pqxx>

#include "funnelhouse/db/locks.hpp"
#include "funnelhouse/ingest/message.hpp"
#include "funnelhouse/loader/writer.hpp"

namespace funnelhouse::cli {

ReprocessReport reprocess(pqxx::connection& connection, const schema::SchemaRegistry& registry,
                          const std::vector<std::string>& extra_junk_ids,
                          const ingest::PrivacySettings& privacy,
                          std::size_t rows_per_transaction) {
    ReprocessReport report;
    loader::prepare_staging(connection);
    std::string after = "00000000-0000-0000-0000-000000000000";
    for (;;) {
        pqxx::work txn(connection);
        // The erasure lock first, as every loader batch takes it: taken after
        // the row locks below it could deadlock with a `forget`.
        txn.exec("SELECT pg_advisory_xact_lock_shared(" + std::to_string(db::kErasureLock) +
                 ")");
        const auto rows = txn.exec_params(
            "SELECT bad_event_id::text, raw_event, route, write_key_name, source,"
            " to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
            " to_char(batch_sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
            " event_id"
            " FROM bad_events WHERE reprocessed_at IS NULL AND reason <> 'event_id_collision'"
            " AND bad_event_id > $1::uuid"
            " ORDER BY bad_event_id LIMIT $2 FOR UPDATE SKIP LOCKED",
            after, static_cast<long long>(rows_per_transaction));
        if (rows.empty()) break;

        std::vector<common::Event> events;
        std::string loaded_ids = "{";
        for (const auto& row : rows) {
            ++report.examined;
            after = row[0].as<std::string>();
            const auto raw = row[1].as<std::string>();
            const auto route = row[2].as<std::string>();
            const auto key_name = row[3].as<std::string>();
            const auto source = common::parse_source(row[4].as<std::string>());
            const auto received_at = common::parse_timestamp(row[5].as<std::string>());
            std::optional<common::timestamp> batch_sent_at;
            if (!row[6].is_null())
                batch_sent_at = common::parse_timestamp(row[6].as<std::string>());

            const auto message = nlohmann::json::parse(raw, nullptr, false);
            if (message.is_discarded() || !source || !received_at) {
                ++report.still_bad;
                continue;
            }
            ingest::MessageContext context;
            context.route = route;
            context.write_key_name = key_name;
            context.source = *source;
            context.received_at = *received_at;
            context.batch_sent_at = batch_sent_at;
            context.extra_junk_ids = &extra_junk_ids;
            context.privacy = &privacy;
            auto mapped = ingest::map_message(message, context, registry);
            if (mapped.dropped) {
                ++report.dropped;
                if (loaded_ids.size() > 1) loaded_ids += ',';
                loaded_ids += after;
                continue;
            }
            if (!mapped.event) {
                ++report.still_bad;
                continue;
            }
            // An id the server assigned at receipt was already reported to the
            // client and stored with the row: keep it.
            if (mapped.event_id_assigned && !row[7].is_null())
                mapped.event->event_id = row[7].as<std::string>();
            events.push_back(std::move(*mapped.event));
            if (loaded_ids.size() > 1) loaded_ids += ',';
            loaded_ids += after;
        }
        loaded_ids += '}';
        if (loaded_ids.size() > 1) {
            std::vector<const common::Event*> pointers;
            for (const auto& event : events) pointers.push_back(&event);
            if (!pointers.empty()) loader::write_rows(txn, pointers, {});
            txn.exec_params(
                "UPDATE bad_events SET reprocessed_at = now() WHERE bad_event_id = ANY($1::uuid[])",
                loaded_ids);
            report.loaded += events.size();
        }
        txn.commit();
    }
    return report;
}

}  // namespace funnelhouse::cli
