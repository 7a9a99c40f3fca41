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

inline std::vector<const common::Event*> pointers(const std::vector<common::Event>& events) {
    std::vector<const common::Event*> out;
    for (const auto& event : events) out.push_back(&event);
    return out;
}

}  // namespace funnelhouse::test
