#pragma once

#include <optional>
#include <string>

#include "funnelhouse/common/source.hpp"
#include "funnelhouse/common/time.hpp"

namespace funnelhouse::ingest {

// A valid event, ready to be stored: one row of `events`.
struct Event {
    std::string event_id;
    std::string event_name;
    std::string event_type;  // track | page | identify
    std::string schema_version;
    std::optional<std::string> anonymous_id;
    std::optional<std::string> user_id;
    common::timestamp occurred_at;  // clock-skew corrected
    std::optional<common::timestamp> original_timestamp;
    std::optional<common::timestamp> sent_at;
    common::timestamp received_at;
    std::string properties;  // JSON object text
    std::string context;     // JSON object text
    std::string write_key_name;
    common::Source source = common::Source::browser;
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
    common::Source source = common::Source::browser;
    common::timestamp received_at;
    std::optional<common::timestamp> batch_sent_at;
};

// Reasons a single event is rejected (the `reason` column of bad_events).
namespace reason {
inline constexpr const char* invalid_message = "invalid_message";
inline constexpr const char* unsupported_type = "unsupported_type";
inline constexpr const char* unknown_event = "unknown_event";
inline constexpr const char* unknown_schema_version = "unknown_schema_version";
inline constexpr const char* schema_violation = "schema_violation";
inline constexpr const char* source_not_allowed = "source_not_allowed";
}  // namespace reason

}  // namespace funnelhouse::ingest
