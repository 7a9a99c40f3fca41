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

// The one description of each row's fields: name, PostgreSQL type and
// member, in the order of the spool record, the COPY line and the staging
// tables' columns. Every encoding of a row (spool/format, the loader's COPY
// and stage, the staging tables' definitions) is derived from these, so a
// field is added here and nowhere else. `visit(name, sql_type, member)` is
// called for each field; `Row` is Event or BadEvent, const or not.
template <typename Row, typename Visit>
void for_each_event_field(Row& e, Visit&& visit) {
    visit("event_id", "text", e.event_id);
    visit("event_name", "text", e.event_name);
    visit("event_type", "text", e.event_type);
    visit("schema_version", "text", e.schema_version);
    visit("anonymous_id", "text", e.anonymous_id);
    visit("user_id", "text", e.user_id);
    visit("group_id", "text", e.group_id);
    visit("previous_id", "text", e.previous_id);
    visit("occurred_at", "timestamptz", e.occurred_at);
    visit("original_timestamp", "timestamptz", e.original_timestamp);
    visit("sent_at", "timestamptz", e.sent_at);
    visit("received_at", "timestamptz", e.received_at);
    visit("properties", "jsonb", e.properties);
    visit("context", "jsonb", e.context);
    visit("write_key_name", "text", e.write_key_name);
    visit("source", "text", e.source);
}

template <typename Row, typename Visit>
void for_each_bad_event_field(Row& b, Visit&& visit) {
    visit("bad_event_id", "uuid", b.bad_event_id);
    visit("event_id", "text", b.event_id);
    visit("event_name", "text", b.event_name);
    visit("raw_event", "text", b.raw_event);
    visit("errors", "jsonb", b.errors);
    visit("reason", "text", b.reason);
    visit("route", "text", b.route);
    visit("write_key_name", "text", b.write_key_name);
    visit("source", "text", b.source);
    visit("received_at", "timestamptz", b.received_at);
    visit("batch_sent_at", "timestamptz", b.batch_sent_at);
}

}  // namespace funnelhouse::common
