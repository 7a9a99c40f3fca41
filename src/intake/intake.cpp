#include "funnelhouse/intake/intake.hpp"

#include <nlohmann/json.hpp>

#include "funnelhouse/loader/error.hpp"
#include "funnelhouse/spool/error.hpp"
#include "funnelhouse/spool/format.hpp"

namespace funnelhouse::intake {

Intake::Intake(const config::Config& config, spool::Spool& spool, loader::Loader& loader)
    : config_(config), spool_(spool), loader_(loader) {}

std::error_code Intake::submit(std::vector<common::Event> events,
                               std::vector<common::BadEvent> bad_events,
                               common::timestamp received_at, std::function<void(Receipt)> done) {
    spool::SpooledRequest record;
    record.spooled_at = received_at;
    record.events = std::move(events);
    record.bad_events = std::move(bad_events);
    const bool loaded_mode = config_.ack_mode == config::AckMode::loaded;
    auto shared_done = std::make_shared<std::function<void(Receipt)>>(std::move(done));
    if (loaded_mode) {
        record.ticket = loader_.new_ticket();
        loader_.expect(record.ticket, [shared_done](loader::LoadOutcome result) {
            (*shared_done)(
                Receipt{result.error, !result.error, result.duplicates, result.collisions});
        });
    }
    const auto ticket = record.ticket;
    const auto refused = spool_.append(spool::encode_request(record),
                                       [this, shared_done, ticket](std::error_code ec) {
                                           // In the loaded mode a written record is answered by the
                                           // loader; a failed write is answered here, unless the
                                           // loader got to it first.
                                           if (ticket != 0 && (!ec || !loader_.forget(ticket)))
                                               return;
                                           (*shared_done)(Receipt{ec, false, 0, 0});
                                       });
    if (refused && ticket != 0) loader_.forget(ticket);
    return refused;
}

std::string Intake::refusal_message(std::error_code error) const {
    if (error == spool::errc::spool_full)
        return "the spool is full (FUNNELHOUSE_SPOOL_MAX_BYTES = " +
               std::to_string(config_.spool_max_bytes) +
               " bytes) while events wait for the database; retry later";
    if (error == spool::errc::disk_full)
        return "free disk space is below FUNNELHOUSE_SPOOL_MIN_FREE_BYTES (" +
               std::to_string(config_.spool_min_free_bytes) + " bytes); retry later";
    if (error == spool::errc::write_failed)
        return "the spool could not be written; this server refuses events until it is "
               "restarted";
    if (error == spool::errc::record_too_large)
        return "the request's events encode to more than the spool's record limit (" +
               std::to_string(spool::kMaxPayloadBytes) +
               " bytes); send them in smaller batches (FUNNELHOUSE_MAX_REQUEST_BYTES should be "
               "lowered)";
    if (error == loader::errc::database_unavailable)
        return "events were not loaded within FUNNELHOUSE_LOAD_TIMEOUT_MS (" +
               std::to_string(config_.load_timeout.count()) +
               " ms): the database is unavailable or behind; they are kept in the spool and "
               "will be loaded (a retry with the same messageId is deduplicated)";
    if (error == loader::errc::load_failed)
        return "the database refused these events; they are kept in the spool's quarantine";
    return "the server is shutting down; retry later";
}

namespace {

using ordered = nlohmann::ordered_json;

ordered spool_state(const spool::SpoolStatus& status, const std::filesystem::path& dir,
                    std::optional<double> oldest_age) {
    const bool accepting = !status.refusing;
    ordered spool = {{"dir", dir.string()},
                     {"accepting", accepting},
                     {"refusing", accepting ? ordered() : ordered(status.refusing.message())},
                     {"unloaded_records", status.unloaded_records},
                     {"unloaded_bytes", status.unloaded_bytes},
                     {"oldest_unloaded_age_seconds", nullptr},
                     {"bytes", status.bytes},
                     {"max_bytes", status.max_bytes},
                     {"segments", status.segments},
                     {"free_disk_bytes", status.free_disk_bytes},
                     {"min_free_disk_bytes", status.min_free_bytes},
                     {"quarantined_records", status.quarantined_records},
                     {"damaged_at_runtime", status.damaged_at_runtime}};
    if (oldest_age) spool["oldest_unloaded_age_seconds"] = *oldest_age;
    ordered moved = ordered::array();
    for (const auto& path : status.recovery.moved_aside) moved.push_back(path.string());
    spool["recovery"] = {{"records", status.recovery.records},
                         {"torn_tails", status.recovery.torn_tails},
                         {"torn_bytes_cut", status.recovery.torn_bytes_cut},
                         {"damaged_bytes", status.recovery.damaged_bytes},
                         {"moved_aside", moved},
                         {"position_unreadable", status.recovery.position_unreadable}};
    return spool;
}

}  // namespace

// In the durable mode a server whose database is away still takes events
// (they wait in the spool): it is "degraded" but answers 200.
std::pair<unsigned, std::string> Intake::readiness() const {
    const auto status = spool_.status();
    const bool connected = loader_.database_connected();
    const bool durable = config_.ack_mode == config::AckMode::durable;
    std::string state = "ready";
    if (status.refusing || (!durable && !connected))
        state = "unavailable";
    else if (!connected)
        state = "degraded";
    ordered body = {
        {"status", state},
        {"ack", durable ? "durable" : "loaded"},
        {"database", connected ? "connected" : "unavailable"},
        {"spool", spool_state(status, spool_.dir(), loader_.oldest_unloaded_age_seconds())}};
    return {state == "unavailable" ? 503u : 200u,
            body.dump(-1, ' ', false, ordered::error_handler_t::replace)};
}

std::size_t Intake::close(std::chrono::steady_clock::time_point deadline) {
    spool_.close();
    loader_.stop(deadline);
    return spool_.status().unloaded_records;
}

}  // namespace funnelhouse::intake
