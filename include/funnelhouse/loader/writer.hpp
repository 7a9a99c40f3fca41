#pragma once

#include <cstdint>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/common/event.hpp"
#include "funnelhouse/db/copy_text.hpp"

namespace funnelhouse::loader {

class KnownIds;  // loader/known_ids.hpp

// What became of one event of a batch.
enum class Fate : std::uint8_t {
    inserted,    // the first copy of its id: a new row
    duplicate,   // its id was already stored: no new row; a copy from the other
                 // source is merged into the row (see write_rows)
    collision,   // its id is stored for another event or person: kept in
                 // bad_events with reason event_id_collision
    suppressed,  // of a person erased with `funnelhouse forget`: not stored
};

// What a batch did besides the events' fates: new links of an anonymous (or
// previous) id to a user id, links refused because the id belongs to another
// user, and rejected messages of erased persons left out.
struct BatchCounts {
    std::size_t links = 0;
    std::size_t conflicts = 0;
    std::size_t suppressed_bad_events = 0;
};

// The suppression key of an identifier: its SHA-256 as hex, so that the
// suppression list does not hold the identifiers themselves. The SQL side
// is encode(sha256(convert_to(id, 'UTF8')), 'hex').
std::string suppression_hash(std::string_view id);

// The columns a new row of `events` is written with (the event's fields of
// common/event.hpp, then when each source's copy arrived), and that row's
// COPY text (into `row`, cleared first), exactly as the loader writes it.
// The benchmark's ceiling loads the same text.
const std::vector<std::string>& event_columns();
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
// an ambiguous commit) changes nothing. Events and rejected messages whose
// user, anonymous or previous id is suppressed (an erased person) are left
// out. Returns one fate per event, in order; `counts`, when given, receives
// what else the batch did.
//
// With `known`, a new row whose ids `known` holds is not staged for the
// identity steps (they would find nothing to do); the caller tells `known`
// what the batch stored once the transaction committed (KnownIds::remember).
std::vector<Fate> write_rows(pqxx::work& txn, const std::vector<const common::Event*>& events,
                             const std::vector<const common::BadEvent*>& bad_events,
                             BatchCounts* counts = nullptr, KnownIds* known = nullptr);

// The same in a transaction of its own (prepare_staging must have run); it
// tells `known` what it stored after the commit.
std::vector<Fate> write_batch(pqxx::connection& connection,
                              const std::vector<const common::Event*>& events,
                              const std::vector<const common::BadEvent*>& bad_events,
                              BatchCounts* counts = nullptr, KnownIds* known = nullptr);

}  // namespace funnelhouse::loader
