#pragma once

#include <array>
#include <cstdint>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>
#include <vector>

#include "funnelhouse/common/event.hpp"
#include "funnelhouse/db/copy_text.hpp"

namespace funnelhouse::loader {

// What became of one event of a batch.
enum class Fate : std::uint8_t {
    inserted,   // the first copy of its id: a new row
    duplicate,  // its id was already stored: no new row; a copy from the other
                // source is merged into the row (see write_rows)
    collision,  // its id is stored for another event or person: kept in
                // bad_events with reason event_id_collision
};

// What a batch did to identities: new links of an anonymous (or previous) id
// to a user id, and links refused because the id belongs to another user.
struct IdentityCounts {
    std::size_t links = 0;
    std::size_t conflicts = 0;
};

// The columns a new row of `events` is written with, and that row's COPY
// text (into `row`, cleared first), exactly as the loader writes it. The
// benchmark's ceiling loads the same text.
inline constexpr std::array<const char*, 18> kEventColumns = {
    "event_id",       "event_name",          "event_type",  "schema_version", "anonymous_id",
    "user_id",        "group_id",            "previous_id", "occurred_at",    "original_timestamp",
    "sent_at",        "received_at",         "properties",  "context",        "write_key_name",
    "source",         "browser_received_at", "server_received_at"};
void encode_event_row(db::CopyRow& row, const common::Event& event);

// Creates the session-local staging tables (once per connection; outside any
// transaction).
void prepare_staging(pqxx::connection& connection);

// Writes one batch inside the caller's transaction (the caller commits).
// Events and bad events are streamed with COPY into the staging tables, then:
//   - the first copy of each new event id becomes a row of `events`;
//   - a later copy with another event name, or another user or anonymous id
//     (both set and different), is a collision, stored in bad_events;
//   - any other later copy is the same event: the row records when each
//     source's copy arrived, a server copy's properties replace a browser
//     copy's, and ids missing from the row are filled in.
// Everything is keyed on stable ids, so running the same batch again (after
// an ambiguous commit) changes nothing. Returns one fate per event, in order;
// `identity`, when given, receives what the batch did to identities.
std::vector<Fate> write_rows(pqxx::work& txn, const std::vector<const common::Event*>& events,
                             const std::vector<const common::BadEvent*>& bad_events,
                             IdentityCounts* identity = nullptr);

// The same in a transaction of its own (prepare_staging must have run).
std::vector<Fate> write_batch(pqxx::connection& connection,
                              const std::vector<const common::Event*>& events,
                              const std::vector<const common::BadEvent*>& bad_events,
                              IdentityCounts* identity = nullptr);

}  // namespace funnelhouse::loader
