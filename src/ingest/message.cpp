#include "funnelhouse/ingest/message.hpp"

#include <algorithm>
#include <cctype>

#include "funnelhouse/common/sha256.hpp"
#include "funnelhouse/common/uuid.hpp"
#include "funnelhouse/ingest/json_spans.hpp"
#include "funnelhouse/schema/schemaver.hpp"
#include "parsed.hpp"

namespace funnelhouse::ingest {
namespace {

using nlohmann::json;
using type = simdjson::dom::element_type;

constexpr std::size_t kMaxEventIdLength = 100;
constexpr std::size_t kMaxIdentityLength = 255;
// Messages read on their own (validate, reprocess) come from requests that
// passed the configured nesting limit, or from files on the operator's disk.
constexpr std::size_t kMessageDepth = 1024;

std::string dump(const json& value) {
    // Strings were validated as UTF-8 by the parser; replacing instead of
    // throwing keeps this path exception-free whatever happens upstream.
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool is_string(element value) { return value.type() == type::STRING; }
std::string_view string_of(element value) { return value.get_string().value_unsafe(); }

// Whether the object has a member `key`, null or not (nlohmann's contains).
bool has_member(element object, std::string_view key) {
    if (object.type() != type::OBJECT) return false;
    for (const auto field : object_of(object))
        if (field.key == key) return true;
    return false;
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

// A message as read, with the bytes of its members.
class Message {
  public:
    // One member: its decoded key, value and bytes.
    struct Member {
        std::string_view key;
        element value;
        const MemberSpan* span;  // null if the bytes were not found
    };

    // `spans` are the object's members in order, as its DOM lists them.
    Message(simdjson::dom::object object, std::vector<MemberSpan> spans)
        : spans_(std::move(spans)) {
        members_.reserve(spans_.size());
        for (const auto field : object) {
            const auto i = members_.size();
            members_.push_back({field.key, field.value, i < spans_.size() ? &spans_[i] : nullptr});
        }
        if (spans_.size() != members_.size())
            for (auto& member : members_) member.span = nullptr;
    }
    // Members point into spans_: a copy would point into the original.
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;

    // The member `key` as nlohmann::json reads it: the last of that name.
    const Member* find(std::string_view key) const {
        for (auto it = members_.rbegin(); it != members_.rend(); ++it)
            if (it->key == key) return &*it;
        return nullptr;
    }
    // Its value; nullopt when absent or null.
    std::optional<element> operator[](std::string_view key) const {
        const auto* member = find(key);
        if (!member || member->value.is_null()) return std::nullopt;
        return member->value;
    }

  private:
    std::vector<MemberSpan> spans_;
    std::vector<Member> members_;
};

// An object member of the message (properties, traits, context) with its
// bytes: stored as sent when nothing in it must change.
struct Field {
    element value = empty_object();
    std::string_view text = "{}";
    bool plain = true;  // its numbers print as sent (json_spans.hpp)
};

std::optional<std::string> identity_field(const Message& message, const char* key, Checker& check,
                                          const MessageContext& context) {
    const auto value = message[key];
    if (!value) return std::nullopt;
    std::string text;
    if (value->type() == type::STRING)
        text = std::string{string_of(*value)};
    else if (value->type() == type::INT64)  // some backends send numeric user ids
        text = std::to_string(value->get_int64().value_unsafe());
    else if (value->type() == type::UINT64)
        text = std::to_string(value->get_uint64().value_unsafe());
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

std::optional<common::timestamp> time_field(const Message& message, const char* key,
                                            Checker& check) {
    const auto value = message[key];
    if (!value) return std::nullopt;
    if (is_string(*value)) {
        if (auto parsed = common::parse_timestamp(string_of(*value))) return parsed;
    }
    check.fail(std::string("/") + key,
               "must be an ISO 8601 date-time such as 2024-05-01T12:00:00.000Z");
    return std::nullopt;
}

Field object_field(const Message& message, const char* key, Checker& check) {
    const auto* member = message.find(key);
    if (!member || member->value.is_null()) return {};
    if (member->value.type() != type::OBJECT) {
        check.fail(std::string("/") + key, "must be a JSON object");
        return {};
    }
    if (!member->span) return {member->value, {}, false};
    return {member->value, member->span->value, member->span->numbers_as_printed};
}

// The field as nlohmann::json reads it: what the privacy rules change.
json json_of(const Field& field) {
    if (field.text.empty()) return json::parse(simdjson::minify(field.value), nullptr, false);
    return json::parse(field.text, nullptr, false);
}

// The field's text as stored when nothing in it changes: as sent, or as
// nlohmann::json prints it when a number would print otherwise (stored
// values never depend on how a sender wrote a number).
std::string text_of(const Field& field) {
    if (field.plain) return std::string{field.text};
    return dump(json_of(field));
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

// `object_text` (a JSON object, `empty` when it has no member) with `key`
// set to `value_text`; the object must not hold `key` yet.
std::string with_member(std::string_view object_text, bool empty, std::string_view key,
                        const std::string& value_text) {
    std::string out;
    out.reserve(object_text.size() + key.size() + value_text.size() + 4);
    if (empty)
        out += '{';
    else {
        out += object_text.substr(0, object_text.size() - 1);  // without the closing brace
        out += ',';
    }
    out += '"';
    out += key;
    out += "\":";
    out += value_text;
    out += '}';
    return out;
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

using config::PersonalData;

// The properties as stored: personal ones removed without consent, else as
// configured (FUNNELHOUSE_PERSONAL_DATA).
std::string kept_properties(const Field& payload, bool consented, const schema::Contract& contract,
                            const PrivacySettings& privacy) {
    const auto& personal = contract.meta.personal_data;
    const bool touches_payload =
        (!consented || privacy.personal_data != PersonalData::keep) &&
        std::any_of(personal.begin(), personal.end(),
                    [&](const std::string& key) { return has_member(payload.value, key); });
    if (!touches_payload) return text_of(payload);
    json changed = json_of(payload);
    protect(changed, personal, !consented || privacy.personal_data == PersonalData::remove,
            privacy.personal_data_key);
    return dump(changed);
}

// The client address as stored in context.ip. A page's is what the
// connection shows (it cannot choose one); a backend (server key) says in
// context.ip whose request it handled, and its own address is nobody's.
std::optional<std::string> kept_address(element message_context, bool consented,
                                        const MessageContext& context) {
    std::string address;
    const auto sent_ip = member_of(message_context, "ip");
    if (context.source == common::Source::browser)
        address = context.client_address;
    else if (sent_ip && is_string(*sent_ip))
        address = string_of(*sent_ip);
    if (!consented || address.empty()) return std::nullopt;
    switch (context.privacy->client_address) {
        case config::ClientAddress::truncated:
            return truncate_address(address, 24, 48);
        case config::ClientAddress::full:
            if (truncate_address(address, 128, 128)) return address;
            return std::nullopt;
        case config::ClientAddress::none:
            return std::nullopt;
    }
    return std::nullopt;
}

// The context as stored. SDKs copy the identify traits into context.traits
// of every event: the traits the identify contract marks as personal get the
// same treatment there. Without consent, what identifies the device goes.
std::string kept_context(const Field& message_context, bool consented,
                         const std::optional<std::string>& stored_ip,
                         const schema::SchemaRegistry& registry, const PrivacySettings& privacy) {
    const auto traits = member_of(message_context.value, "traits");
    const bool traits_object = traits && traits->type() == type::OBJECT;
    const schema::Contract* identify = traits_object ? registry.newest("identify") : nullptr;
    const auto* identify_personal = identify ? &identify->meta.personal_data : nullptr;
    const bool touches_traits =
        consented && traits_object && identify_personal &&
        privacy.personal_data != PersonalData::keep &&
        std::any_of(identify_personal->begin(), identify_personal->end(),
                    [&](const std::string& key) { return has_member(*traits, key); });
    if (consented && !touches_traits && !has_member(message_context.value, "ip")) {
        if (!stored_ip) return text_of(message_context);
        const auto empty = object_of(message_context.value).size() == 0;
        const auto kept = text_of(message_context);
        return with_member(kept, empty, "ip", dump(*stored_ip));
    }
    json changed = json_of(message_context);
    if (touches_traits)
        protect(changed["traits"], *identify_personal,
                privacy.personal_data == PersonalData::remove, privacy.personal_data_key);
    if (!consented) {
        for (const char* key : kIdentifyingContextKeys) changed.erase(key);
        if (const auto device = changed.find("device");
            device != changed.end() && device->is_object()) {
            device->erase("id");
            device->erase("advertisingId");
        }
    }
    changed.erase("ip");
    if (stored_ip) changed["ip"] = *stored_ip;
    return dump(changed);
}

Kept apply_privacy(const Field& payload, const Field& message_context, bool consented,
                   const schema::Contract& contract, const schema::SchemaRegistry& registry,
                   const MessageContext& context) {
    const PrivacySettings& privacy = *context.privacy;
    return Kept{
        kept_properties(payload, consented, contract, privacy),
        kept_context(message_context, consented,
                     kept_address(message_context.value, consented, context), registry, privacy)};
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

const MessageTypeInfo* find_message_type(std::string_view name) {
    static constexpr MessageTypeInfo kTypes[] = {
        {MessageType::track, "track", "", "properties", false},
        {MessageType::page, "page", "page_view", "properties", false},
        {MessageType::screen, "screen", "screen_view", "properties", false},
        {MessageType::identify, "identify", "identify", "traits", true},
        {MessageType::group, "group", "group", "traits", true},
        {MessageType::alias, "alias", "alias", nullptr, true},
    };
    for (const auto& type : kTypes)
        if (type.name == name) return &type;
    return nullptr;
}

const IngestRoute* find_ingest_route(std::string_view path) {
    static const IngestRoute kRoutes[] = {
        {"/v1/batch", nullptr},
        {"/v1/import", nullptr},
        {"/v1/track", find_message_type("track")},
        {"/v1/page", find_message_type("page")},
        {"/v1/identify", find_message_type("identify")},
        {"/v1/screen", find_message_type("screen")},
        {"/v1/group", find_message_type("group")},
        {"/v1/alias", find_message_type("alias")},
        // Segment's browser library (analytics.js) posts to one-letter paths.
        {"/v1/b", nullptr},
        {"/v1/t", find_message_type("track")},
        {"/v1/p", find_message_type("page")},
        {"/v1/i", find_message_type("identify")},
        {"/v1/s", find_message_type("screen")},
        {"/v1/g", find_message_type("group")},
        {"/v1/a", find_message_type("alias")},
    };
    for (const auto& route : kRoutes)
        if (route.path == path) return &route;
    return nullptr;
}

namespace {

// The message's id: messageId, or one made here. First, so that every later
// rejection can name it.
void read_event_id(const Message& message, Checker& check, MappedMessage& out) {
    const auto id = message["messageId"];
    if (!id) {
        out.event_id = common::new_uuid();
        out.event_id_assigned = true;
        return;
    }
    const auto text = is_string(*id) ? string_of(*id) : std::string_view{};
    if (!text.empty() && utf8_length(text) <= kMaxEventIdLength &&
        text.find('\0') == std::string_view::npos)
        out.event_id = std::string{text};
    else
        check.fail("/messageId", "must be a string of 1 to 100 characters");
}

// The event's name: the message's `event` for a track call, the type's own
// otherwise.
std::string read_event_name(const Message& message, const MessageTypeInfo& type, Checker& check,
                            MappedMessage& out) {
    if (type.type != MessageType::track) {
        out.event_name = std::string{type.event_name};
        return *out.event_name;
    }
    const auto name = message["event"];
    if (!name || !is_string(*name) || string_of(*name).empty()) {
        check.fail("/event", "must be the event name, a non-empty string");
        return {};
    }
    out.event_name = std::string{string_of(*name)};
    return *out.event_name;
}

// Who the message is about: anonymous and user ids, and what an alias or a
// group call needs besides.
void read_identities(const Message& message, const MessageTypeInfo& type, Checker& check,
                     const MessageContext& context, Event& event) {
    event.anonymous_id = identity_field(message, "anonymousId", check, context);
    event.user_id = identity_field(message, "userId", check, context);
    if (type.type == MessageType::alias) {
        event.previous_id = identity_field(message, "previousId", check, context);
        if (!event.previous_id && check.errors.empty())
            check.fail("/previousId", "an alias needs the previous id it links to userId");
        if (!event.user_id && check.errors.empty())
            check.fail("/userId", "an alias needs the userId the previous id belongs to");
    }
    if (type.type == MessageType::group) {
        event.group_id = identity_field(message, "groupId", check, context);
        if (!event.group_id && check.errors.empty())
            check.fail("/groupId", "a group call needs a groupId");
    }
    if (!event.user_id && !event.anonymous_id && check.errors.empty())
        check.fail("/userId",
                   "a message needs a userId or an anonymousId (placeholders such as "
                   "'undefined' or 'guest' count as absent)");
}

// The object the contract validates: traits for identify and group, the
// properties otherwise (alias has none). Segment's page and screen calls
// carry name and category beside the properties: they join the payload's
// text (into `joined`), which is read again.
Field read_payload(const Message& message, const MessageTypeInfo& type, Checker& check,
                   std::string& joined) {
    if (!type.payload_key) return {};
    Field payload = object_field(message, type.payload_key, check);
    if (type.type != MessageType::page && type.type != MessageType::screen) return payload;
    bool empty = object_of(payload.value).size() == 0;
    for (const char* key : {"name", "category"}) {
        const auto* member = message.find(key);
        const auto* span = member && !member->value.is_null() ? member->span : nullptr;
        if (!span || has_member(payload.value, key)) continue;
        joined = with_member(joined.empty() ? payload.text : joined, empty, key,
                             std::string{span->value});
        empty = false;
        payload.plain = payload.plain && span->numbers_as_printed;
    }
    if (joined.empty()) return payload;
    static thread_local std::optional<JsonReader> reader;
    const auto read = reader_in(reader, kMessageDepth).read(joined);
    if (!read) return payload;  // cannot happen: joined from valid members
    payload.value = read->root;
    payload.text = joined;
    return payload;
}

// When it happened, corrected for the client's clock, and the times the
// message gives.
void read_times(const Message& message, Checker& check, const MessageContext& context,
                Event& event) {
    const bool original_named = message.find("originalTimestamp") != nullptr;
    event.original_timestamp = original_named ? time_field(message, "originalTimestamp", check)
                                              : time_field(message, "timestamp", check);
    event.sent_at = time_field(message, "sentAt", check);
    if (!event.sent_at) event.sent_at = context.batch_sent_at;
    if (!check.errors.empty()) return;
    const auto occurred_at =
        corrected_timestamp(event.original_timestamp, event.sent_at, context.received_at);
    if (!plausible_time(occurred_at, context.received_at))
        check.fail(original_named ? "/originalTimestamp" : "/timestamp",
                   "puts the event at " + common::format_timestamp(occurred_at) +
                       ", outside 1970-01-01 to two days after receipt");
    event.occurred_at = occurred_at;
}

// Which contract: the version the message pins, or the newest of its name.
// nullptr with `rejection` set when there is none.
const schema::Contract* choose_contract(element message_context, const std::string& event_name,
                                        const MessageTypeInfo& type,
                                        const schema::SchemaRegistry& registry,
                                        std::optional<Rejection>& rejection) {
    const auto name_path = type.type == MessageType::track ? "/event" : "/type";
    const auto pin = member_of(message_context, "schema");
    if (!pin) {
        const auto* contract = registry.newest(event_name);
        if (!contract)
            rejection = Rejection{
                reason::unknown_event,
                {{name_path, "no contract for event '" + event_name.substr(0, 100) + "'"}}};
        return contract;
    }
    const auto ref =
        is_string(*pin) ? schema::parse_schema_ref(std::string{string_of(*pin)}) : std::nullopt;
    if (!ref) {
        rejection = Rejection{
            reason::invalid_message,
            {{"/context/schema", "must be \"<event_name>/<MODEL>-<REVISION>-<ADDITION>\""}}};
        return nullptr;
    }
    if (ref->name != event_name) {
        rejection = Rejection{reason::invalid_message,
                              {{"/context/schema",
                                "pins '" + ref->name + "' but the event is '" + event_name + "'"}}};
        return nullptr;
    }
    const auto* contract = registry.find(ref->name, ref->version);
    if (!contract)
        rejection = Rejection{
            reason::unknown_schema_version,
            {{"/context/schema", "no contract " + ref->name + "/" + ref->version.to_string()}}};
    return contract;
}

// Whether the message may be kept with its person. An event that says
// nothing counts as consented unless FUNNELHOUSE_CONSENT_REQUIRED.
bool consented(element message_context, const MessageContext& context) {
    if (!context.privacy) return true;
    const auto consent = consent_of(message_context, context.privacy->consent_categories);
    return consent == Consent::granted ||
           (consent == Consent::unstated && !context.privacy->consent_required);
}

// The message's type: the one its route implies, else its `type`. nullptr
// with the rejection in `out` when there is none Funnelhouse stores.
const MessageTypeInfo* resolve_type(const Message& message, const MessageContext& context,
                                    Checker& check, MappedMessage& out) {
    const auto* route = find_ingest_route(context.route);
    if (route && route->type) return route->type;
    const auto value = message["type"];
    if (!value || !is_string(*value)) {
        check.fail("/type", "must be one of track, page, screen, identify, group, alias");
        out.rejection = Rejection{reason::invalid_message, std::move(check.errors)};
        return nullptr;
    }
    const auto* type = find_message_type(string_of(*value));
    if (!type)
        out.rejection = Rejection{reason::unsupported_type,
                                  {{"/type", "'" + std::string{string_of(*value).substr(0, 50)} +
                                                 "' messages are not accepted; expected track, "
                                                 "page, screen, identify, group or alias"}}};
    return type;
}

// The payload and context as stored, under the privacy rules; a rejection
// when either holds what a text column cannot.
std::optional<Rejection> store_payloads(Event& event, const Field& payload,
                                        const Field& message_context, bool consent,
                                        const schema::Contract& contract,
                                        const schema::SchemaRegistry& registry,
                                        const MessageContext& context,
                                        const std::string& payload_path) {
    if (context.privacy) {
        auto kept = apply_privacy(payload, message_context, consent, contract, registry, context);
        event.properties = std::move(kept.properties);
        event.context = std::move(kept.context);
    } else {
        event.properties = text_of(payload);
        event.context = text_of(message_context);
    }
    if (has_nul_escape(event.properties))
        return Rejection{reason::invalid_message,
                         {{payload_path, "contains U+0000, which cannot be stored"}}};
    if (has_nul_escape(event.context))
        return Rejection{reason::invalid_message,
                         {{"/context", "contains U+0000, which cannot be stored"}}};
    return std::nullopt;
}

// A page must not be able to forge what only a backend may report (an
// order, a refund): the contract names the sources allowed to send it.
std::optional<Rejection> check_source(const schema::Contract& contract, const MessageTypeInfo& type,
                                      const std::string& event_name, common::Source source) {
    const auto& allowed = contract.meta.sources;
    if (std::find(allowed.begin(), allowed.end(), source) != allowed.end()) return std::nullopt;
    return Rejection{reason::source_not_allowed,
                     {{type.type == MessageType::track ? "/event" : "/type",
                       "'" + event_name + "' may not be sent with a " +
                           std::string{common::to_string(source)} + " write key"}}};
}

// Without consent an event is kept without the person (true), or not at
// all (false: `out` says it was dropped).
bool keep_without_consent(const MessageTypeInfo& type, const MessageContext& context, Event& event,
                          MappedMessage& out) {
    if (type.identifies_only || context.privacy->consent_policy == config::ConsentPolicy::drop) {
        out.dropped = true;
        return false;
    }
    event.anonymous_id.reset();
    event.user_id.reset();
    out.anonymized = true;
    return true;
}

}  // namespace

MappedMessage map_parsed(ParsedMessage parsed, const MessageContext& context,
                         const schema::SchemaRegistry& registry) {
    MappedMessage out;
    auto reject = [&](const char* reason, std::vector<schema::ValidationError> errors) {
        out.rejection = Rejection{reason, std::move(errors)};
        return out;
    };
    auto members = parsed.members ? std::move(parsed.members) : object_member_spans(parsed.text);
    if (parsed.value.type() != type::OBJECT || !members)
        return reject(reason::invalid_message, {{"", "message must be a JSON object"}});
    const Message message{object_of(parsed.value), std::move(*members)};
    Checker check;
    read_event_id(message, check, out);

    const auto* type = resolve_type(message, context, check, out);
    if (!type) return out;
    auto event_name = read_event_name(message, *type, check, out);
    Event event;
    event.event_type = std::string{type->name};
    read_identities(message, *type, check, context, event);
    std::string joined;
    const Field payload = read_payload(message, *type, check, joined);
    const Field message_context = object_field(message, "context", check);
    read_times(message, check, context, event);
    if (!check.errors.empty()) return reject(reason::invalid_message, std::move(check.errors));

    const auto* contract =
        choose_contract(message_context.value, event_name, *type, registry, out.rejection);
    if (!contract) return out;
    if ((out.rejection = check_source(*contract, *type, event_name, context.source))) return out;
    const std::string payload_path =
        std::string("/") + (type->payload_key ? type->payload_key : "properties");
    auto violations = schema::validate(*contract, payload.value, payload_path);
    if (!violations.empty()) return reject(reason::schema_violation, std::move(violations));

    const bool consent = consented(message_context.value, context);
    if (!consent && !keep_without_consent(*type, context, event, out)) return out;
    out.rejection = store_payloads(event, payload, message_context, consent, *contract, registry,
                                   context, payload_path);
    if (out.rejection) return out;

    event.event_id = *out.event_id;
    event.event_name = std::move(event_name);
    event.schema_version = contract->version.to_string();
    event.received_at = context.received_at;
    event.write_key_name = std::string{context.write_key_name};
    event.source = context.source;
    out.event = std::move(event);
    return out;
}

MappedMessage map_message(std::string_view message_json, const MessageContext& context,
                          const schema::SchemaRegistry& registry) {
    static thread_local std::optional<JsonReader> reader;
    const auto read = reader_in(reader, kMessageDepth).read(message_json);
    if (!read) {
        MappedMessage out;
        out.rejection = Rejection{reason::invalid_message, {{"", "message is not valid JSON"}}};
        return out;
    }
    return map_parsed({read->root, read->parsed}, context, registry);
}

}  // namespace funnelhouse::ingest
