#pragma once

#include <cstdint>
#include <functional>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/common/event.hpp"
#include "funnelhouse/config/config.hpp"
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
// user, and rejected messages of erased persons left out; and the identity
// generation read last in its transaction (see KnownIds).
struct BatchCounts {
    std::size_t links = 0;
    std::size_t conflicts = 0;
    std::size_t suppressed_bad_events = 0;
    std::int64_t identity_generation = -1;
};

// Where a batch stands among batches stored at the same time on other
// connections (the loader's lanes, one batch each, in the spool's order).
// Its look-up and COPYs run while the batches ahead of it are still being
// stored; everything after them (first copies, merges, collisions, identity)
// waits until those are committed, so that batches change rows, links and
// persons in the order they arrived, as when they are stored one by one.
struct BatchOrder {
    // Whether an event id belongs to a batch ahead still being stored. Such
    // an id is never copied straight into `events` (its row may not be
    // committed yet): it is staged and merged once it is.
    std::function<bool(std::string_view event_id)> ahead;
    // Waits until the batches ahead are committed; false when one was not
    // (the loader is stopping), or when waiting took too long: this batch
    // must not be committed now (rolled back, it lets go of its rows).
    std::function<bool()> wait_turn;
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
// transaction). On Citus it also sets how many connections this one keeps
// to each worker (config::Config::loader_worker_connections).
void prepare_staging(pqxx::connection& connection,
                     std::size_t worker_connections = config::Config{}.loader_worker_connections);

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
// what the batch stored once the transaction committed (KnownIds::remember,
// with counts->identity_generation). With `order`, the batch is stored
// alongside others (BatchOrder); write_rows throws NotInTurn when a batch
// ahead was not committed.
std::vector<Fate> write_rows(pqxx::work& txn, const std::vector<const common::Event*>& events,
                             const std::vector<const common::BadEvent*>& bad_events,
                             BatchCounts* counts = nullptr, KnownIds* known = nullptr,
                             const BatchOrder* order = nullptr);

struct NotInTurn {};

// The same in a transaction of its own (prepare_staging must have run); it
// tells `known` what it stored after the commit.
std::vector<Fate> write_batch(pqxx::connection& connection,
                              const std::vector<const common::Event*>& events,
                              const std::vector<const common::BadEvent*>& bad_events,
                              BatchCounts* counts = nullptr, KnownIds* known = nullptr,
                              const BatchOrder* order = nullptr);

}  // namespace funnelhouse::loader
