#include "funnelhouse/ingest/privacy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "parsed.hpp"

namespace funnelhouse::ingest {
namespace {

void clear_host_bits(unsigned char* bytes, std::size_t size, unsigned keep_bits) {
    for (std::size_t i = 0; i < size; ++i) {
        const unsigned first_bit = static_cast<unsigned>(i) * 8;
        if (first_bit >= keep_bits)
            bytes[i] = 0;
        else if (keep_bits - first_bit < 8)
            bytes[i] &= static_cast<unsigned char>(0xFF00u >> (keep_bits - first_bit));
    }
}

bool same_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

using type = simdjson::dom::element_type;

}  // namespace

PrivacySettings privacy_settings(const config::Config& config) {
    return {config.client_address,   config.consent_policy, config.consent_categories,
            config.consent_required, config.personal_data,  config.personal_data_key};
}

std::optional<std::string> truncate_address(std::string_view address, unsigned v4_bits,
                                            unsigned v6_bits) {
    if (address.empty() || address.size() > 45) return std::nullopt;
    const std::string text{address};
    unsigned char bytes[16];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
        clear_host_bits(bytes, 4, std::min(v4_bits, 32u));
        return inet_ntop(AF_INET, bytes, out, sizeof out) ? std::optional<std::string>{out}
                                                          : std::nullopt;
    }
    if (inet_pton(AF_INET6, text.c_str(), bytes) != 1) return std::nullopt;
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(bytes, kMapped, sizeof kMapped) == 0) {
        clear_host_bits(bytes + 12, 4, std::min(v4_bits, 32u));
        return inet_ntop(AF_INET, bytes + 12, out, sizeof out) ? std::optional<std::string>{out}
                                                               : std::nullopt;
    }
    clear_host_bits(bytes, 16, std::min(v6_bits, 128u));
    return inet_ntop(AF_INET6, bytes, out, sizeof out) ? std::optional<std::string>{out}
                                                       : std::nullopt;
}

Consent consent_of(element context, const std::vector<std::string>& categories) {
    const auto consent = member_of(context, "consent");
    if (!consent) return Consent::unstated;
    if (consent->type() == type::BOOL)
        return consent->get_bool().value_unsafe() ? Consent::granted : Consent::denied;
    const auto preferences = member_of(*consent, "categoryPreferences");
    if (!preferences || preferences->type() != type::OBJECT) return Consent::unstated;
    // As nlohmann::json reads the object: of equal names the last counts.
    for (const auto field : object_of(*preferences)) {
        const auto granted = member_of(*preferences, field.key);
        for (const auto& wanted : categories)
            if (same_ignoring_case(field.key, wanted) && granted && granted->type() == type::BOOL &&
                granted->get_bool().value_unsafe())
                return Consent::granted;
    }
    return Consent::denied;
}

Consent analytics_consent(std::string_view context_json,
                          const std::vector<std::string>& categories) {
    static thread_local std::optional<JsonReader> reader;
    const auto read = reader_in(reader, 64).read(context_json);
    return read ? consent_of(read->root, categories) : Consent::unstated;
}

}  // namespace funnelhouse::ingest
