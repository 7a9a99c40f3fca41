#pragma once

#include <string>
#include <vector>

#include "funnelhouse/common/event.hpp"

namespace funnelhouse::test {

// A valid add_to_cart event as the loader receives it.
inline common::Event sample_event(const std::string& id,
                                  const std::string& properties = R"({"product_id":"p"})") {
    common::Event event;
    event.event_id = id;
    event.event_name = "add_to_cart";
    event.event_type = "track";
    event.schema_version = "1-0-0";
    event.anonymous_id = "anon";
    event.occurred_at = *common::parse_timestamp("2024-05-01T12:00:00.123456Z");
    event.received_at = *common::parse_timestamp("2024-05-01T12:00:01Z");
    event.properties = properties;
    event.context = "{}";
    event.write_key_name = "web";
    event.source = common::Source::browser;
    return event;
}

// A page's copy of an order, which only a backend may send: refused at
// ingest as source_not_allowed.
inline common::BadEvent refused_browser_copy(const std::string& bad_event_id,
                                             const std::string& event_id,
                                             const std::string& received_at) {
    common::BadEvent refused;
    refused.bad_event_id = bad_event_id;
    refused.event_id = event_id;
    refused.event_name = "order_completed";
    refused.raw_event =
        R"({"type":"track","messageId":")" + event_id + R"(","event":"order_completed"})";
    refused.errors = R"([{"path":"/event","message":"refused"}])";
    refused.reason = "source_not_allowed";
    refused.route = "/v1/batch";
    refused.write_key_name = "web";
    refused.source = common::Source::browser;
    refused.received_at = *common::parse_timestamp(received_at);
    return refused;
}

inline std::vector<const common::Event*> pointers(const std::vector<common::Event>& events) {
    std::vector<const common::Event*> out;
    for (const auto& event : events) out.push_back(&event);
    return out;
}

}  // namespace funnelhouse::test
