#pragma once

#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>
#include <unordered_set>
#include <vector>

#include "funnelhouse/common/event.hpp"

namespace funnelhouse::loader {

// Writes one batch in one transaction (prepare_staging must have run on the
// connection): events and bad events are streamed
// with COPY into session-local staging tables, then inserted with ON CONFLICT
// DO NOTHING, so the batch is idempotent: running it again (after an
// ambiguous commit) adds nothing. Earlier copies in `events` win over later
// ones. Returns the event ids that were new. Throws pqxx exceptions.
// Creates the session-local staging tables (once per connection; outside any
// transaction).
void prepare_staging(pqxx::connection& connection);

// The same inside a caller's transaction (prepare_staging first); the caller
// commits.
std::unordered_set<std::string> write_rows(pqxx::work& txn,
                                           const std::vector<const common::Event*>& events,
                                           const std::vector<const common::BadEvent*>& bad_events);

std::unordered_set<std::string> write_batch(pqxx::connection& connection,
                                            const std::vector<const common::Event*>& events,
                                            const std::vector<const common::BadEvent*>& bad_events);

}  // namespace funnelhouse::loader
