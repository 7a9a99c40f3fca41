#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/config/config.hpp"

namespace funnelhouse::ingest {

// What ingest may keep of a person: the consent rules, the client address
// and the properties contracts mark as personal data
// (docs/security.md). Applied before an event reaches the spool.
struct PrivacySettings {
    config::ClientAddress client_address = config::ClientAddress::truncated;
    config::ConsentPolicy consent_policy = config::ConsentPolicy::anonymize;
    std::vector<std::string> consent_categories{"analytics"};
    bool consent_required = false;
    config::PersonalData personal_data = config::PersonalData::remove;
    std::string personal_data_key;
};

PrivacySettings privacy_settings(const config::Config& config);

// The address with its host bits cleared: the first `v4_bits` of an IPv4
// address, the first `v6_bits` of an IPv6 one (an IPv4-mapped IPv6 address
// counts as IPv4). nullopt when `address` is not an IP address.
std::optional<std::string> truncate_address(std::string_view address, unsigned v4_bits,
                                            unsigned v6_bits);

// What a message's context says about analytics consent.
enum class Consent { granted, denied, unstated };

// Reads Segment's `context.consent.categoryPreferences` (an object of
// category -> boolean: granted when one of `categories` is true, denied when
// preferences are given and none of them is) and the simple form
// `context.consent: true|false`, in a message's context (JSON text).
Consent analytics_consent(std::string_view context_json,
                          const std::vector<std::string>& categories);

// The context keys that point at a person rather than at the event: left out
// of an event kept without consent.
inline constexpr const char* kIdentifyingContextKeys[] = {"ip", "traits", "adIds"};

}  // namespace funnelhouse::ingest
