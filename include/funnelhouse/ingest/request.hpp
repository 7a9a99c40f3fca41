#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "funnelhouse/ingest/message.hpp"
#include "funnelhouse/ingest/privacy.hpp"
#include "funnelhouse/ingest/write_keys.hpp"
#include "funnelhouse/schema/registry.hpp"

namespace funnelhouse::ingest {

struct IngestSettings {
    std::size_t max_event_bytes = 32 * 1024;
    std::size_t max_request_bytes = 500 * 1024;
    std::vector<std::string> extra_junk_ids;  // identifier values to treat as absent
    PrivacySettings privacy;
    std::size_t max_json_depth = 64;  // arrays and objects within each other
};

struct RequestInput {
    std::string_view route;
    std::string_view body;
    std::string_view authorization;  // the Authorization header, if any
    common::timestamp received_at;
    std::string_view content_encoding{};  // "", "identity", "gzip" or "deflate"
    std::string_view origin{};            // the Origin header: set by browsers
    std::string_view client_address{};    // the sender's IP address, in full
    // The known key `authorization` names, when the caller has looked it up
    // already (the HTTP session does, for the rate limits); null: look here.
    const WriteKey* header_key = nullptr;
};

// Everything one request turns into. Either `error` is set (the request as a
// whole is refused and nothing is stored), or every message of the request is
// in exactly one of `events` and `bad_events`, or counted in
// `dropped_without_consent`.
struct RequestOutcome {
    std::error_code error;
    std::string error_message;

    std::vector<Event> events;
    std::vector<BadEvent> bad_events;
    std::string rejected_json = "[]";  // [{index, event_id, reason, errors}]
    std::string assigned_json = "[]";  // [{index, event_id}] for ids the server made
    std::size_t message_count = 0;
    const WriteKey* write_key = nullptr;         // once known (the ring's own)
    std::size_t dropped_without_consent = 0;     // valid, not stored (consent policy)
    std::size_t anonymized_without_consent = 0;  // in `events`, without the person
};

// Pure: parses, authenticates, maps and validates a request body.
RequestOutcome process_request(const RequestInput& input, const WriteKeyRing& keys,
                               const schema::SchemaRegistry& registry,
                               const IngestSettings& limits);

// The 200 body once the request's events are committed (FUNNELHOUSE_ACK=
// loaded): `accepted` valid events, of which `duplicates` had an id that was
// already stored (for the same event: no new row) and `collisions` an id
// stored for another event or person (kept in bad_events as
// event_id_collision).
std::string accepted_body(std::size_t accepted, std::size_t duplicates, std::size_t collisions,
                          const RequestOutcome& outcome);

// The 200 body once the request's events and rejections are durable in the
// spool (the default acknowledgement): whether an id was already stored is
// not known yet, so there are no duplicate or collision counts.
std::string spooled_body(std::size_t accepted, const RequestOutcome& outcome);

// The body of any refused request: {"error": "...", "message": "..."}.
std::string error_body(std::error_code error, std::string_view message);

}  // namespace funnelhouse::ingest
