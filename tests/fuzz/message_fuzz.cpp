// Fuzz target: any JSON value as one Segment message, mapped under every
// combination of the privacy settings the first byte selects. Whatever the
// message, it is exactly one of stored, rejected or dropped, and what is
// stored keeps the promises of docs/security.md. Its properties get the same
// answer from the contract's quick rules as from valijson alone.
#include <simdjson.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "funnelhouse/common/utf8.hpp"
#include "funnelhouse/ingest/json_spans.hpp"
#include "funnelhouse/ingest/message.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace funnelhouse;
using fuzz::require;
using nlohmann::json;

std::string described(const std::vector<schema::ValidationError>& errors) {
    std::string text;
    for (const auto& error : errors) text += error.path + ": " + error.message + "\n";
    return text;
}

// The properties of a message naming a known event, validated both ways.
void check_quick_rules(std::string_view message, const schema::SchemaRegistry& registry) {
    static simdjson::dom::parser parser;
    const simdjson::padded_string text{message};
    simdjson::dom::element root;
    if (parser.parse(text).get(root) != simdjson::SUCCESS) return;
    std::string_view name;
    simdjson::dom::element properties;
    if (root["event"].get(name) != simdjson::SUCCESS ||
        root["properties"].get(properties) != simdjson::SUCCESS)
        return;
    const auto* contract = registry.newest(name);
    if (!contract) return;
    require(described(schema::validate(*contract, properties, "/properties")) ==
                described(schema::validate(*contract, properties, "/properties",
                                           schema::Validation::valijson_only)),
            "the quick rules agree with valijson");
}

void check(std::string_view bytes) {
    static const auto registry =
        schema::SchemaRegistry::load(std::filesystem::path(FUNNELHOUSE_SOURCE_DIR) / "schemas");
    if (bytes.empty()) return;
    const auto selector = static_cast<unsigned char>(bytes.front());
    bytes.remove_prefix(1);
    if (!json::accept(bytes)) return;
    const std::string_view message = bytes;
    check_quick_rules(message, registry);

    ingest::PrivacySettings privacy;
    privacy.consent_policy =
        selector & 1 ? config::ConsentPolicy::drop : config::ConsentPolicy::anonymize;
    privacy.consent_required = selector & 2;
    privacy.client_address = (selector >> 2) % 3 == 0   ? config::ClientAddress::truncated
                             : (selector >> 2) % 3 == 1 ? config::ClientAddress::full
                                                        : config::ClientAddress::none;
    privacy.personal_data = (selector >> 4) % 3 == 0   ? config::PersonalData::remove
                            : (selector >> 4) % 3 == 1 ? config::PersonalData::hash
                                                       : config::PersonalData::keep;
    privacy.personal_data_key = "a fuzzing key of thirty-two bytes";

    ingest::MessageContext context;
    context.route = selector & 64 ? "/v1/batch" : "/v1/track";
    context.write_key_name = "web";
    context.source = selector & 128 ? common::Source::server : common::Source::browser;
    context.received_at = *common::parse_timestamp("2024-05-01T12:00:00Z");
    context.privacy = &privacy;
    context.client_address = "2001:db8:1:2:3:4:5:6";

    const auto mapped = ingest::map_message(message, context, registry);
    require(
        int(mapped.event.has_value()) + int(mapped.rejection.has_value()) + int(mapped.dropped) ==
            1,
        "a message is exactly one of stored, rejected, dropped");
    if (mapped.rejection) {
        require(!mapped.rejection->reason.empty() && !mapped.rejection->errors.empty(),
                "a rejection says why");
        return;
    }
    if (!mapped.event) return;
    const auto& event = *mapped.event;
    const auto properties = json::parse(event.properties, nullptr, false);
    const auto stored_context = json::parse(event.context, nullptr, false);
    require(properties.is_object() && stored_context.is_object(), "payloads are objects");
    for (const auto* text : {&event.properties, &event.context})
        require(text->find("\\u0000") == std::string::npos &&
                    common::invalid_utf8_offsets(*text).empty(),
                "payloads can be stored as they are");
    if (mapped.anonymized) {
        require(!event.user_id && !event.anonymous_id, "no identifier without consent");
        require(!stored_context.contains("ip") && !stored_context.contains("traits"),
                "no address or traits without consent");
    }
    const auto* contract =
        registry.find(event.event_name, *schema::parse_schemaver(event.schema_version));
    require(contract != nullptr, "the stored version exists");
    if (mapped.anonymized || privacy.personal_data == config::PersonalData::remove)
        for (const auto& key : contract->meta.personal_data)
            require(!properties.contains(key), "personal properties are removed");
    if (privacy.personal_data == config::PersonalData::hash && !mapped.anonymized)
        for (const auto& key : contract->meta.personal_data)
            if (properties.contains(key))
                require(
                    properties[key].is_string() && properties[key].get<std::string>().size() == 64,
                    "personal properties are hashed");
    if (stored_context.contains("ip")) {
        const auto ip = stored_context["ip"].get<std::string>();
        require(privacy.client_address != config::ClientAddress::none, "no address when none");
        if (privacy.client_address == config::ClientAddress::truncated)
            require(ingest::truncate_address(ip, 24, 48) == ip, "the address is truncated");
    }
}

}  // namespace

FUNNELHOUSE_FUZZ_TARGET(check)
