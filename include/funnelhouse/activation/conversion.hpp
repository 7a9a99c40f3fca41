#pragma once

#include <optional>
#include <string>

#include "funnelhouse/common/time.hpp"

namespace funnelhouse::activation {

// One event as a destination is sent it: what it was, what it is worth, and
// what the platform can match its person on (raw: each platform normalises
// and hashes in its own way, activation/matching).
struct Conversion {
    std::string event_id;    // Funnelhouse's: the platforms deduplicate on it
    std::string event_name;  // the name the destination is sent
    common::timestamp occurred_at{};
    std::optional<double> value;
    std::optional<std::string> currency;  // ISO 4217
    std::optional<std::string> order_id;

    std::optional<std::string> person_id;  // the stitched person
    std::optional<std::string> user_id;
    std::optional<std::string> email;
    std::optional<std::string> phone;
    std::optional<std::string> client_address;
    std::optional<std::string> user_agent;
    std::optional<std::string> page_url;

    std::optional<std::string> fbp;  // Meta's browser id (the _fbp cookie)
    std::optional<std::string> fbc;  // Meta's click id, fb.1.<ms>.<fbclid>
    std::optional<std::string> gclid;
    std::optional<std::string> gbraid;
    std::optional<std::string> wbraid;
    std::optional<std::string> ga_client_id;  // GA4's client id (the _ga cookie)
};

}  // namespace funnelhouse::activation
