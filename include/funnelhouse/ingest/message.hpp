#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/common/event.hpp"
#include "funnelhouse/ingest/privacy.hpp"
#include "funnelhouse/schema/registry.hpp"

namespace funnelhouse::ingest {

using common::BadEvent;
using common::Event;

// Reasons a single event is rejected (the `reason` column of bad_events).
namespace reason {
inline constexpr const char* invalid_message = "invalid_message";
inline constexpr const char* unsupported_type = "unsupported_type";
inline constexpr const char* unknown_event = "unknown_event";
inline constexpr const char* unknown_schema_version = "unknown_schema_version";
inline constexpr const char* schema_violation = "schema_violation";
inline constexpr const char* source_not_allowed = "source_not_allowed";
// Bytes that are not UTF-8: PostgreSQL cannot store them as text, so the
// message is kept with U+FFFD in their place and the offsets in `errors`.
inline constexpr const char* invalid_encoding = "invalid_encoding";
}  // namespace reason

// What surrounds one message: who sent it, on which route, and when.
struct MessageContext {
    std::string_view route;  // "/v1/batch", "/v1/track", ...
    std::string_view write_key_name;
    common::Source source = common::Source::browser;
    common::timestamp received_at;
    std::optional<common::timestamp> batch_sent_at;  // `sentAt` of the enclosing batch
    // Identifier values to treat as absent besides the built-in ones
    // (FUNNELHOUSE_JUNK_IDS); may be null.
    const std::vector<std::string>* extra_junk_ids = nullptr;
    // The consent, address and personal-data rules; null keeps messages as
    // sent (offline validation).
    const PrivacySettings* privacy = nullptr;
    // The address the request came from, in full; stored in context.ip as
    // the privacy settings allow. Empty when not known (reprocess).
    std::string_view client_address;
};

// Whether an identifier is a placeholder rather than a person: "", "null",
// "undefined", "anonymous", "0", "guest", "nil", "none", "[object Object]"
// and `extra`, ignoring case and surrounding spaces.
bool is_junk_identity(std::string_view value, const std::vector<std::string>* extra);

struct Rejection {
    std::string reason;
    std::vector<schema::ValidationError> errors;
};

struct MappedMessage {
    std::optional<Event> event;           // set when the message is valid
    std::optional<Rejection> rejection;   // set otherwise
    std::optional<std::string> event_id;  // known even for most rejections
    std::optional<std::string> event_name;
    bool event_id_assigned = false;  // no messageId was sent: the server made one
    // A valid message without analytics consent: `dropped` when the policy
    // (or the message's type: identify, alias and group only identify) says
    // not to store it, `anonymized` when it is kept without the person.
    bool dropped = false;
    bool anonymized = false;
};

// Segment's skew correction: when the client says both when the event
// happened (originalTimestamp, or timestamp) and when it sent it (sentAt),
// the server trusts the difference, not the client's clock:
// occurred_at = receivedAt - (sentAt - originalTimestamp). With no sentAt the
// client's timestamp is taken as is (historical imports); with no timestamp
// at all, receivedAt.
common::timestamp corrected_timestamp(std::optional<common::timestamp> original,
                                      std::optional<common::timestamp> sent_at,
                                      common::timestamp received_at);

// Maps one Segment message (JSON text) to an event and validates it against
// its contract. Pure: no I/O, never throws on any input.
MappedMessage map_message(std::string_view message_json, const MessageContext& context,
                          const schema::SchemaRegistry& registry);

// The Segment message types Funnelhouse stores, each described once.
enum class MessageType : std::uint8_t { track, page, screen, identify, group, alias };

struct MessageTypeInfo {
    MessageType type;
    std::string_view name;        // the Segment type, stored as event_type
    std::string_view event_name;  // the event name it is stored under; empty for track,
                                  // whose message names its event
    const char* payload_key;      // what its contract validates; nullptr: nothing (alias)
    bool identifies_only;         // identify, group, alias: nothing to keep without the person
};

// nullptr for a type Funnelhouse does not store.
const MessageTypeInfo* find_message_type(std::string_view name);

// The ingest API's routes, each with the message type it implies (none for
// the batch routes, where each message says its own).
struct IngestRoute {
    std::string_view path;
    const MessageTypeInfo* type;
};

// nullptr for a path that takes no events.
const IngestRoute* find_ingest_route(std::string_view path);

}  // namespace funnelhouse::ingest
