#pragma once

#include <cstddef>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "funnelhouse/ingest/privacy.hpp"
#include "funnelhouse/schema/registry.hpp"

namespace funnelhouse::cli {

struct ReprocessReport {
    std::size_t examined = 0;
    std::size_t loaded = 0;     // now valid: inserted into events (or already there)
    std::size_t still_bad = 0;  // still rejected; left as they are
    std::size_t dropped = 0;    // now valid but without consent under the drop policy
};

// Re-validates every bad_events row (ingest mapping, then the loader's
// writer: it joins two stages, so it lives with the commands) not yet reprocessed against
// `registry` with the same mapping the server uses (route, write key, receive time and batch sentAt
// as recorded). Rows that now pass are loaded into events and marked reprocessed_at in the same
// transaction, so each is loaded at most once, even when two runs overlap (rows are locked with
// SKIP LOCKED). The privacy rules apply as at ingest (the client address is
// not known any more: none is stored). loader::prepare_staging must have run
// on `connection`.
ReprocessReport reprocess(pqxx::connection& connection, const schema::SchemaRegistry& registry,
                          const std::vector<std::string>& extra_junk_ids,
                          const ingest::PrivacySettings& privacy,
                          std::size_t rows_per_transaction = 1000);

}  // namespace funnelhouse::cli
