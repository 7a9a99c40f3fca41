#include "funnelhouse/ingest/message.hpp"

#include <algorithm>
#include <cctype>

#include "funnelhouse/common/sha256.hpp"
#include "funnelhouse/common/uuid.hpp"
#include "funnelhouse/schema/schemaver.hpp"

namespace funnelhouse::ingest {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxEventIdLength = 100;
constexpr std::size_t kMaxIdentityLength = 255;

std::string dump(const json& value) {
    // Strings were validated as UTF-8 by the parser; replacing instead of
    // throwing keeps this path exception-free whatever happens upstream.
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

const json* member(const json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
}

struct Checker {
    std::vector<schema::ValidationError> errors;
    void fail(std::string path, std::string message) {
        errors.push_back({std::move(path), std::move(message)});
    }
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::optional<std::string> identity_field(const json& message, const char* key, Checker& check,
                                          const MessageContext& context) {
    const json* value = member(message, key);
    if (!value) return std::nullopt;
    std::string text;
    if (value->is_string())
        text = value->get<std::string>();
    else if (value->is_number_integer())
        text = dump(*value);  // some backends send numeric user ids
    else {
        check.fail(std::string("/") + key, "must be a string");
        return std::nullopt;
    }
    // Placeholders that SDKs and templates send when nobody is known are no
    // person: treating them as one would merge every visitor into one.
    if (is_junk_identity(text, context.extra_junk_ids)) return std::nullopt;
    if (text.size() > kMaxIdentityLength || text.find('\0') != std::string::npos) {
        check.fail(std::string("/") + key, "must be at most 255 characters without NUL characters");
        return std::nullopt;
    }
    return text;
}

std::optional<common::timestamp> time_field(const json& message, const char* key, Checker& check) {
    const json* value = member(message, key);
    if (!value) return std::nullopt;
    if (value->is_string()) {
        if (auto parsed = common::parse_timestamp(value->get_ref<const std::string&>()))
            return parsed;
    }
    check.fail(std::string("/") + key,
               "must be an ISO 8601 date-time such as 2024-05-01T12:00:00.000Z");
    return std::nullopt;
}

const json& object_field(const json& message, const char* key, Checker& check) {
    static const json empty = json::object();
    const json* value = member(message, key);
    if (!value) return empty;
    if (!value->is_object()) {
        check.fail(std::string("/") + key, "must be a JSON object");
        return empty;
    }
    return *value;
}

std::size_t utf8_length(std::string_view text) {
    std::size_t count = 0;
    for (unsigned char c : text)
        if ((c & 0xC0) != 0x80) ++count;
    return count;
}

// Events are kept only for times PostgreSQL and analysts can use: from 1970
// up to two days past receipt (a clock further ahead is a broken clock, and
// skew correction only applies when the sender also says when it sent).
bool plausible_time(common::timestamp occurred_at, common::timestamp received_at) {
    using namespace std::chrono;
    constexpr auto kEarliest = sys_days{year{1970} / 1 / 1};
    return occurred_at >= kEarliest && occurred_at <= received_at + days{2};
}

// PostgreSQL's jsonb cannot hold U+0000; catching it here turns what would be
// a failed batch into a precise rejection of one event.
bool has_nul_escape(const std::string& json_text) {
    return json_text.find("\\u0000") != std::string::npos;
}

// `object_text` (a JSON object) with `key` set to `value_text`; the object
// must not hold `key` yet. Saves re-building the object for one member.
std::string with_member(std::string object_text, std::string_view key,
                        const std::string& value_text) {
    object_text.pop_back();  // the closing brace
    if (object_text.size() > 1) object_text += ',';
    object_text += '"';
    object_text += key;
    object_text += "\":";
    object_text += value_text;
    object_text += '}';
    return object_text;
}

// Removes the members `keys` of `object`, or replaces each value by its
// keyed hash (a value that is not a string is hashed as its JSON text).
void protect(json& object, const std::vector<std::string>& keys, bool remove,
             const std::string& secret) {
    for (const auto& key : keys) {
        const auto it = object.find(key);
        if (it == object.end()) continue;
        if (remove)
            object.erase(it);
        else
            *it = common::hmac_sha256_hex(
                secret, it->is_string() ? it->get_ref<const std::string&>() : dump(*it));
    }
}

// What the privacy rules leave of one valid message's payload and context.
struct Kept {
    std::string properties;
    std::string context;
};

Kept apply_privacy(const json& payload, const json& message_context, bool consented,
                   const schema::Contract& contract, const schema::SchemaRegistry& registry,
                   const MessageContext& context) {
    const PrivacySettings& privacy = *context.privacy;
    using config::PersonalData;

    // Personal properties: removed without consent, else as configured.
    const auto& personal = contract.meta.personal_data;
    const bool touches_payload =
        (!consented || privacy.personal_data != PersonalData::keep) &&
        std::any_of(personal.begin(), personal.end(),
                    [&](const std::string& key) { return payload.contains(key); });
    Kept kept;
    if (touches_payload) {
        json changed = payload;
        protect(changed, personal, !consented || privacy.personal_data == PersonalData::remove,
                privacy.personal_data_key);
        kept.properties = dump(changed);
    } else {
        kept.properties = dump(payload);
    }

    // The address: a page's is what the connection shows (it cannot choose
    // one); a backend (server key) says in context.ip whose request it
    // handled, and its own address is nobody's.
    std::string address;
    const json* sent_ip = member(message_context, "ip");
    if (context.source == common::Source::browser)
        address = context.client_address;
    else if (sent_ip && sent_ip->is_string())
        address = sent_ip->get<std::string>();
    std::optional<std::string> stored_ip;
    if (consented && !address.empty()) {
        switch (privacy.client_address) {
            case config::ClientAddress::truncated:
                stored_ip = truncate_address(address, 24, 48);
                break;
            case config::ClientAddress::full:
                if (truncate_address(address, 128, 128)) stored_ip = address;
                break;
            case config::ClientAddress::none:
                break;
        }
    }

    // SDKs copy the identify traits into context.traits of every event: the
    // traits the identify contract marks as personal get the same treatment
    // there.
    const json* traits = member(message_context, "traits");
    const schema::Contract* identify =
        traits && traits->is_object() ? registry.newest("identify") : nullptr;
    const auto* identify_personal = identify ? &identify->meta.personal_data : nullptr;
    const bool touches_traits =
        consented && traits && traits->is_object() && identify_personal &&
        privacy.personal_data != PersonalData::keep &&
        std::any_of(identify_personal->begin(), identify_personal->end(),
                    [&](const std::string& key) { return traits->contains(key); });
    if (!consented || touches_traits || message_context.contains("ip")) {
        json changed = message_context;
        if (touches_traits)
            protect(changed["traits"], *identify_personal,
                    privacy.personal_data == PersonalData::remove, privacy.personal_data_key);
        if (!consented) {
            for (const char* key : kIdentifyingContextKeys) changed.erase(key);
            if (const auto device = changed.find("device"); device != changed.end() &&
                                                            device->is_object()) {
                device->erase("id");
                device->erase("advertisingId");
            }
        }
        changed.erase("ip");
        if (stored_ip) changed["ip"] = *stored_ip;
        kept.context = dump(changed);
    } else {
        kept.context = dump(message_context);
        if (stored_ip) kept.context = with_member(std::move(kept.context), "ip", dump(*stored_ip));
    }
    return kept;
}

}  // namespace

bool is_junk_identity(std::string_view value, const std::vector<std::string>* extra) {
    static constexpr std::string_view kJunk[] = {
        "", "null", "undefined", "anonymous", "0", "guest", "nil", "none", "[object object]"};
    std::string_view trimmed = value;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
        trimmed.remove_prefix(1);
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back())))
        trimmed.remove_suffix(1);
    for (const auto junk : kJunk)
        if (equals_ignoring_case(trimmed, junk)) return true;
    if (extra)
        for (const auto& junk : *extra)
            if (equals_ignoring_case(trimmed, junk)) return true;
    return false;
}

common::timestamp corrected_timestamp(std::optional<common::timestamp> original,
                                      std::optional<common::timestamp> sent_at,
                                      common::timestamp received_at) {
    if (original && sent_at) return received_at - (*sent_at - *original);
    if (original) return *original;
    return received_at;
}

std::optional<std::string_view> route_message_type(std::string_view route) {
    // Segment's browser library (analytics.js) posts to one-letter paths.
    if (route == "/v1/t") return std::string_view{"track"};
    if (route == "/v1/p") return std::string_view{"page"};
    if (route == "/v1/i") return std::string_view{"identify"};
    if (route == "/v1/s") return std::string_view{"screen"};
    if (route == "/v1/g") return std::string_view{"group"};
    if (route == "/v1/a") return std::string_view{"alias"};
    if (route == "/v1/batch" || route == "/v1/import" || route == "/v1/b")
        return std::string_view{};
    if (route == "/v1/track") return std::string_view{"track"};
    if (route == "/v1/page") return std::string_view{"page"};
    if (route == "/v1/identify") return std::string_view{"identify"};
    if (route == "/v1/screen") return std::string_view{"screen"};
    if (route == "/v1/group") return std::string_view{"group"};
    if (route == "/v1/alias") return std::string_view{"alias"};
    return std::nullopt;
}

MappedMessage map_message(const json& message, const MessageContext& context,
                          const schema::SchemaRegistry& registry) {
    MappedMessage out;
    auto reject = [&](const char* reason, std::vector<schema::ValidationError> errors) {
        out.rejection = Rejection{reason, std::move(errors)};
        return out;
    };

    if (!message.is_object())
        return reject(reason::invalid_message, {{"", "message must be a JSON object"}});

    Checker check;

    // The event id comes first so that every later rejection can name it.
    if (const json* id = member(message, "messageId")) {
        if (id->is_string() && !id->get_ref<const std::string&>().empty() &&
            utf8_length(id->get_ref<const std::string&>()) <= kMaxEventIdLength &&
            id->get_ref<const std::string&>().find('\0') == std::string::npos) {
            out.event_id = id->get<std::string>();
        } else {
            check.fail("/messageId", "must be a string of 1 to 100 characters");
        }
    } else {
        out.event_id = common::new_uuid();
        out.event_id_assigned = true;
    }

    std::string type;
    const auto implied = route_message_type(context.route);
    if (implied && !implied->empty()) {
        type = std::string{*implied};
    } else {
        const json* value = member(message, "type");
        if (!value || !value->is_string()) {
            check.fail("/type", "must be one of track, page, screen, identify, group, alias");
            return reject(reason::invalid_message, std::move(check.errors));
        }
        type = value->get<std::string>();
    }

    std::string event_name;
    if (type == "track") {
        const json* name = member(message, "event");
        if (!name || !name->is_string() || name->get_ref<const std::string&>().empty()) {
            check.fail("/event", "must be the event name, a non-empty string");
        } else {
            event_name = name->get<std::string>();
            out.event_name = event_name;
        }
    } else if (type == "page") {
        event_name = "page_view";
        out.event_name = event_name;
    } else if (type == "screen") {
        event_name = "screen_view";
        out.event_name = event_name;
    } else if (type == "identify" || type == "group" || type == "alias") {
        event_name = type;
        out.event_name = event_name;
    } else {
        return reject(reason::unsupported_type,
                      {{"/type", "'" + type.substr(0, 50) +
                                     "' messages are not accepted; expected track, page, screen, "
                                     "identify, group or alias"}});
    }

    Event event;
    event.event_type = type;
    event.anonymous_id = identity_field(message, "anonymousId", check, context);
    event.user_id = identity_field(message, "userId", check, context);
    if (type == "alias") {
        event.previous_id = identity_field(message, "previousId", check, context);
        if (!event.previous_id && check.errors.empty())
            check.fail("/previousId", "an alias needs the previous id it links to userId");
        if (!event.user_id && check.errors.empty())
            check.fail("/userId", "an alias needs the userId the previous id belongs to");
    }
    if (type == "group") {
        event.group_id = identity_field(message, "groupId", check, context);
        if (!event.group_id && check.errors.empty())
            check.fail("/groupId", "a group call needs a groupId");
    }
    if (!event.user_id && !event.anonymous_id && check.errors.empty())
        check.fail("/userId",
                   "a message needs a userId or an anonymousId (placeholders such as "
                   "'undefined' or 'guest' count as absent)");

    // The object the contract validates: traits for identify and group, the
    // properties otherwise (alias has none).
    const char* payload_key = (type == "identify" || type == "group") ? "traits" : "properties";
    static const json kNoPayload = json::object();
    const json* payload =
        type == "alias" ? &kNoPayload : &object_field(message, payload_key, check);
    // Segment's page and screen calls carry name and category beside the
    // properties; only then is the payload copied.
    json page_payload;
    if (type == "page" || type == "screen") {
        for (const char* key : {"name", "category"}) {
            const json* value = member(message, key);
            if (!value || payload->contains(key)) continue;
            if (payload != &page_payload) {
                page_payload = *payload;
                payload = &page_payload;
            }
            page_payload[key] = *value;
        }
    }
    const json& message_context = object_field(message, "context", check);

    const auto original = message.contains("originalTimestamp")
                              ? time_field(message, "originalTimestamp", check)
                              : time_field(message, "timestamp", check);
    auto sent_at = time_field(message, "sentAt", check);
    if (!sent_at) sent_at = context.batch_sent_at;

    if (check.errors.empty()) {
        const auto occurred_at = corrected_timestamp(original, sent_at, context.received_at);
        if (!plausible_time(occurred_at, context.received_at))
            check.fail(message.contains("originalTimestamp") ? "/originalTimestamp" : "/timestamp",
                       "puts the event at " + common::format_timestamp(occurred_at) +
                           ", outside 1970-01-01 to two days after receipt");
        event.occurred_at = occurred_at;
    }
    if (!check.errors.empty()) return reject(reason::invalid_message, std::move(check.errors));

    // Which contract: the pinned version, or the newest of the name.
    const schema::Contract* contract = nullptr;
    if (const json* pin = member(message_context, "schema")) {
        const auto ref =
            pin->is_string() ? schema::parse_schema_ref(pin->get<std::string>()) : std::nullopt;
        if (!ref)
            return reject(
                reason::invalid_message,
                {{"/context/schema", "must be \"<event_name>/<MODEL>-<REVISION>-<ADDITION>\""}});
        if (ref->name != event_name)
            return reject(reason::invalid_message,
                          {{"/context/schema",
                            "pins '" + ref->name + "' but the event is '" + event_name + "'"}});
        contract = registry.find(ref->name, ref->version);
        if (!contract)
            return reject(
                reason::unknown_schema_version,
                {{"/context/schema", "no contract " + ref->name + "/" + ref->version.to_string()}});
    } else {
        contract = registry.newest(event_name);
        if (!contract)
            return reject(reason::unknown_event,
                          {{type == "track" ? "/event" : "/type",
                            "no contract for event '" + event_name.substr(0, 100) + "'"}});
    }

    // A page must not be able to forge what only a backend may report (an
    // order, a refund): the contract names the sources allowed to send it.
    const auto& allowed = contract->meta.sources;
    if (std::find(allowed.begin(), allowed.end(), context.source) == allowed.end())
        return reject(reason::source_not_allowed,
                      {{type == "track" ? "/event" : "/type",
                        "'" + event_name + "' may not be sent with a " +
                            std::string{common::to_string(context.source)} + " write key"}});

    auto violations = schema::validate(*contract, *payload, std::string("/") + payload_key);
    if (!violations.empty()) return reject(reason::schema_violation, std::move(violations));

    // Consent: an event without it is kept without the person, or not at
    // all. An event that says nothing counts as consented unless
    // FUNNELHOUSE_CONSENT_REQUIRED.
    bool consented = true;
    if (context.privacy) {
        const auto consent = analytics_consent(message_context, context.privacy->consent_categories);
        consented = consent == Consent::granted ||
                    (consent == Consent::unstated && !context.privacy->consent_required);
    }
    if (!consented) {
        const bool identifies_only = type == "identify" || type == "alias" || type == "group";
        if (identifies_only || context.privacy->consent_policy == config::ConsentPolicy::drop) {
            out.dropped = true;
            return out;
        }
        event.anonymous_id.reset();
        event.user_id.reset();
        out.anonymized = true;
    }
    if (context.privacy) {
        auto kept =
            apply_privacy(*payload, message_context, consented, *contract, registry, context);
        event.properties = std::move(kept.properties);
        event.context = std::move(kept.context);
    } else {
        event.properties = dump(*payload);
        event.context = dump(message_context);
    }
    if (has_nul_escape(event.properties))
        return reject(reason::invalid_message, {{std::string("/") + payload_key,
                                                 "contains U+0000, which cannot be stored"}});
    if (has_nul_escape(event.context))
        return reject(reason::invalid_message,
                      {{"/context", "contains U+0000, which cannot be stored"}});

    event.event_id = *out.event_id;
    event.event_name = std::move(event_name);
    event.schema_version = contract->version.to_string();
    event.original_timestamp = original;
    event.sent_at = sent_at;
    event.received_at = context.received_at;
    event.write_key_name = std::string{context.write_key_name};
    event.source = context.source;
    out.event = std::move(event);
    return out;
}

}  // namespace funnelhouse::ingest
