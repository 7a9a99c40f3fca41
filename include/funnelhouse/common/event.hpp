#pragma once

#include <optional>
#include <string>

#include "funnelhouse/common/source.hpp"
#include "funnelhouse/common/time.hpp"

namespace funnelhouse::common {

// The rows the pipeline carries from ingest to the loader.

// A valid event, ready to be stored: one row of `events`.
struct Event {
    std::string event_id;
    std::string event_name;
    std::string event_type;  // track | page | screen | identify | group | alias
    std::string schema_version;
    std::optional<std::string> anonymous_id;
    std::optional<std::string> user_id;
    std::optional<std::string> group_id;     // group calls
    std::optional<std::string> previous_id;  // alias calls: the id linked to user_id
    timestamp occurred_at;                   // clock-skew corrected
    std::optional<timestamp> original_timestamp;
    std::optional<timestamp> sent_at;
    timestamp received_at;
    std::string properties;  // JSON object text
    std::string context;     // JSON object text
    std::string write_key_name;
    Source source = Source::browser;
};

// A rejected event, stored rather than dropped: one row of `bad_events`.
// It keeps what is needed to re-run the same checks later (`reprocess`).
struct BadEvent {
    std::string bad_event_id;
    std::optional<std::string> event_id;
    std::optional<std::string> event_name;
    std::string raw_event;  // exactly the bytes received
    std::string errors;     // JSON list of {"path","message"}
    std::string reason;
    std::string route;  // the route it arrived on, e.g. /v1/batch
    std::string write_key_name;
    Source source = Source::browser;
    timestamp received_at;
    std::optional<timestamp> batch_sent_at;
};

}  // namespace funnelhouse::common
