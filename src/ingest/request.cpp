#include "funnelhouse/ingest/request.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "funnelhouse/common/gzip.hpp"
#include "funnelhouse/common/uuid.hpp"
#include "funnelhouse/ingest/error.hpp"
#include "funnelhouse/ingest/json_spans.hpp"
#include "funnelhouse/ingest/message.hpp"

namespace funnelhouse::ingest {
namespace {

using nlohmann::json;

// Collects the parser's own description of a syntax error (with the byte
// position) without exceptions; only run once a body has failed to parse.
struct SyntaxErrorCapture : nlohmann::json_sax<json> {
    std::string message;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t position, const std::string&,
                     const nlohmann::detail::exception& error) override {
        message = error.what();
        (void)position;
        return false;
    }
};

std::string describe_syntax_error(std::string_view body) {
    SyntaxErrorCapture capture;
    json::sax_parse(body, &capture, json::input_format_t::json, true);
    if (capture.message.empty()) return "body is not valid JSON";
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> keep the part
    // after the bracketed id.
    const auto close = capture.message.find("] ");
    return "body is not valid JSON: " +
           (close == std::string::npos ? capture.message : capture.message.substr(close + 2));
}

std::string lowercase(std::string_view text) {
    std::string out{text};
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!out.empty() && out.back() == ' ') out.pop_back();
    while (!out.empty() && out.front() == ' ') out.erase(0, 1);
    return out;
}

RequestOutcome refuse(errc code, std::string message) {
    RequestOutcome outcome;
    outcome.error = code;
    outcome.error_message = std::move(message);
    return outcome;
}

// Responses keep their keys in a fixed, readable order.
using ordered = nlohmann::ordered_json;

ordered errors_json(const std::vector<schema::ValidationError>& errors) {
    ordered list = ordered::array();
    for (const auto& error : errors)
        list.push_back({{"path", error.path}, {"message", error.message}});
    return list;
}

}  // namespace

RequestOutcome process_request(const RequestInput& input, const WriteKeyRing& keys,
                               const schema::SchemaRegistry& registry,
                               const IngestSettings& settings) {
    const auto implied_type = route_message_type(input.route);
    if (!implied_type) return refuse(errc::not_found, "no such route: " + std::string{input.route});
    const bool is_batch = implied_type->empty();

    if (input.body.size() > settings.max_request_bytes)
        return refuse(errc::request_too_large,
                      "request body is " + std::to_string(input.body.size()) +
                          " bytes; the limit is " + std::to_string(settings.max_request_bytes) +
                          " bytes (FUNNELHOUSE_MAX_REQUEST_BYTES)");

    // Compressed bodies are bounded after decompression too: a small gzip
    // that inflates past the limit is refused without inflating it all.
    std::string inflated;
    std::string_view text = input.body;
    const auto encoding = lowercase(input.content_encoding);
    if (encoding == "gzip" || encoding == "x-gzip" || encoding == "deflate") {
        auto result = common::inflate_bounded(input.body, settings.max_request_bytes);
        if (result.status == common::InflateStatus::too_large)
            return refuse(errc::request_too_large, "request body inflates past " +
                                                       std::to_string(settings.max_request_bytes) +
                                                       " bytes (FUNNELHOUSE_MAX_REQUEST_BYTES)");
        if (result.status == common::InflateStatus::corrupt)
            return refuse(errc::wrong_shape, "body is not valid " + encoding + " data");
        inflated = std::move(result.bytes);
        text = inflated;
    } else if (!encoding.empty() && encoding != "identity") {
        return refuse(errc::unsupported_encoding,
                      "Content-Encoding '" + encoding.substr(0, 40) +
                          "' is not supported; use gzip, deflate or none");
    }

    // JSON text never holds a NUL byte (inside strings it must be escaped),
    // and the parser would take one for the end of the input.
    if (const auto nul = text.find('\0'); nul != std::string_view::npos)
        return refuse(errc::malformed_json,
                      "body is not valid JSON: a NUL byte at offset " + std::to_string(nul));
    if (nests_deeper_than(text, settings.max_json_depth))
        return refuse(errc::nesting_too_deep,
                      "arrays and objects nest deeper than " +
                          std::to_string(settings.max_json_depth) +
                          " levels (FUNNELHOUSE_MAX_JSON_DEPTH)");

    // Bytes that are not UTF-8 fail the parse. When that is all that is
    // wrong, the messages holding them are rejected one by one (into
    // bad_events, readable) instead of refusing the request: the parse is
    // repeated on a copy with '?' in their place, which keeps every offset.
    json body = json::parse(text, nullptr, false);
    std::vector<std::size_t> broken;
    std::string repaired;
    if (body.is_discarded()) {
        broken = invalid_utf8_offsets(text);
        if (!broken.empty()) {
            repaired.assign(text);
            for (const auto at : broken) repaired[at] = '?';
            body = json::parse(repaired, nullptr, false);
        }
        if (body.is_discarded()) return refuse(errc::malformed_json, describe_syntax_error(text));
    }
    const std::string_view parsed = broken.empty() ? text : std::string_view{repaired};
    if (!body.is_object())
        return refuse(errc::wrong_shape, is_batch ? "body must be a JSON object with a 'batch' list"
                                                  : "body must be a JSON object (one message)");

    // Authenticate before looking at any message.
    std::optional<std::string> key_text = write_key_from_authorization(input.authorization);
    if (!key_text) {
        if (const auto it = body.find("writeKey"); it != body.end() && it->is_string())
            key_text = it->get<std::string>();
    }
    if (!key_text || key_text->empty())
        return refuse(errc::missing_write_key,
                      "missing write key: send HTTP Basic auth with the write key as user name "
                      "and an empty password, or 'writeKey' in the body");
    const WriteKey* key = keys.find(*key_text);
    if (!key) return refuse(errc::unknown_write_key, "unknown write key");
    // Browsers always send Origin. A server key in a page would be a leaked
    // secret; a browser key answers only the origins it lists.
    if (!input.origin.empty()) {
        if (key->source == common::Source::server)
            return refuse(
                errc::origin_not_allowed,
                "a server write key cannot be used from a browser page; use a browser key");
        if (!key->allows_origin(input.origin))
            return refuse(errc::origin_not_allowed,
                          "origin '" + std::string{input.origin.substr(0, 200)} +
                              "' is not in the origins of write key '" + key->name + "'");
    }

    MessageContext context;
    context.route = input.route;
    context.write_key_name = key->name;
    context.source = key->source;
    context.received_at = input.received_at;
    context.extra_junk_ids = &settings.extra_junk_ids;
    context.privacy = &settings.privacy;
    context.client_address = input.client_address;

    std::vector<std::string_view> raw_messages;
    std::vector<const json*> messages;
    if (is_batch) {
        const auto batch = body.find("batch");
        if (batch == body.end() || !batch->is_array())
            return refuse(errc::wrong_shape, "'batch' must be a list of messages");
        if (const auto sent = body.find("sentAt"); sent != body.end() && !sent->is_null()) {
            const auto parsed = sent->is_string()
                                    ? common::parse_timestamp(sent->get<std::string>())
                                    : std::nullopt;
            if (!parsed)
                return refuse(
                    errc::wrong_shape,
                    "'sentAt' must be an ISO 8601 date-time such as 2024-05-01T12:00:00.000Z");
            context.batch_sent_at = parsed;
        }
        auto spans = array_member_spans(parsed, "batch");
        if (!spans || spans->size() != batch->size())
            return refuse(errc::wrong_shape, "'batch' must be a list of messages");
        raw_messages = std::move(*spans);
        for (const auto& message : *batch) messages.push_back(&message);
    } else {
        raw_messages.push_back(parsed);
        messages.push_back(&body);
    }

    for (std::size_t i = 0; i < raw_messages.size(); ++i) {
        if (raw_messages[i].size() > settings.max_event_bytes)
            return refuse(
                errc::event_too_large,
                (is_batch ? "message at index " + std::to_string(i) : std::string{"message"}) +
                    " is " + std::to_string(raw_messages[i].size()) + " bytes; the limit is " +
                    std::to_string(settings.max_event_bytes) +
                    " bytes per event (FUNNELHOUSE_MAX_EVENT_BYTES)");
    }

    RequestOutcome outcome;
    outcome.message_count = messages.size();
    outcome.write_key_name = key->name;
    ordered rejected = ordered::array();
    ordered assigned = ordered::array();
    for (std::size_t i = 0; i < messages.size(); ++i) {
        // The message's own bytes, as received.
        const std::size_t offset = static_cast<std::size_t>(raw_messages[i].data() - parsed.data());
        const std::string_view received = text.substr(offset, raw_messages[i].size());
        const auto first_broken = std::lower_bound(broken.begin(), broken.end(), offset);
        const bool encoding_broken =
            first_broken != broken.end() && *first_broken < offset + received.size();
        MappedMessage mapped;
        if (encoding_broken) {
            std::vector<schema::ValidationError> errors;
            for (auto at = first_broken;
                 at != broken.end() && *at < offset + received.size() && errors.size() < 10; ++at) {
                static constexpr char kHex[] = "0123456789ABCDEF";
                const auto value = static_cast<unsigned char>(text[*at]);
                errors.push_back({"", "byte " + std::to_string(*at - offset) + " (0x" +
                                          kHex[value >> 4] + kHex[value & 15] +
                                          ") is not UTF-8; stored as U+FFFD in raw_event"});
            }
            mapped.rejection = Rejection{reason::invalid_encoding, std::move(errors)};
        } else {
            mapped = map_message(*messages[i], context, registry);
        }
        if (mapped.dropped) {
            ++outcome.dropped_without_consent;
            continue;
        }
        if (mapped.event) {
            if (mapped.anonymized) ++outcome.anonymized_without_consent;
            if (mapped.event_id_assigned)
                assigned.push_back({{"index", i}, {"event_id", mapped.event->event_id}});
            outcome.events.push_back(std::move(*mapped.event));
            continue;
        }
        auto& rejection = *mapped.rejection;
        ordered entry = {
            {"index", i},
            {"event_id", mapped.event_id ? ordered(*mapped.event_id) : ordered(nullptr)},
            {"reason", rejection.reason},
            {"errors", errors_json(rejection.errors)}};
        BadEvent bad;
        // Write keys are credentials: they are never stored, not even inside
        // the raw message. Nothing else of the message is changed.
        bad.raw_event = without_member(
            encoding_broken ? std::string_view{with_replacement_characters(received)} : received,
            "writeKey");
        // The same message sent again (a client retry) maps to the same row.
        bad.bad_event_id = common::uuid_from_name(key->name + '\n' + std::string{input.route} +
                                                  '\n' + std::to_string(i) + '\n' + bad.raw_event);
        bad.event_id = mapped.event_id;
        // Text columns cannot hold U+0000; such a name stays visible in raw_event.
        if (mapped.event_name && mapped.event_name->find('\0') == std::string::npos)
            bad.event_name = mapped.event_name;
        bad.errors = entry["errors"].dump(-1, ' ', false, ordered::error_handler_t::replace);
        for (auto at = bad.errors.find("\\u0000"); at != std::string::npos;
             at = bad.errors.find("\\u0000", at))
            bad.errors.replace(at, 6, "\\ufffd");
        bad.reason = rejection.reason;
        bad.route = std::string{input.route};
        bad.write_key_name = key->name;
        bad.source = key->source;
        bad.received_at = input.received_at;
        bad.batch_sent_at = context.batch_sent_at;
        outcome.bad_events.push_back(std::move(bad));
        rejected.push_back(std::move(entry));
    }
    outcome.rejected_json = rejected.dump(-1, ' ', false, ordered::error_handler_t::replace);
    outcome.assigned_json = assigned.dump(-1, ' ', false, ordered::error_handler_t::replace);
    return outcome;
}

std::string accepted_body(std::size_t accepted, std::size_t duplicates, std::size_t collisions,
                          const RequestOutcome& outcome) {
    std::string body = "{\"accepted\":" + std::to_string(accepted);
    body += ",\"duplicates\":" + std::to_string(duplicates);
    body += ",\"collisions\":" + std::to_string(collisions);
    body += ",\"rejected\":" + outcome.rejected_json;
    body += ",\"assigned_ids\":" + outcome.assigned_json + "}";
    return body;
}

std::string spooled_body(std::size_t accepted, const RequestOutcome& outcome) {
    std::string body = "{\"accepted\":" + std::to_string(accepted);
    body += ",\"rejected\":" + outcome.rejected_json;
    body += ",\"assigned_ids\":" + outcome.assigned_json + "}";
    return body;
}

std::string error_body(std::error_code error, std::string_view message) {
    ordered body = {{"error", error.message()}, {"message", message}};
    return body.dump(-1, ' ', false, ordered::error_handler_t::replace);
}

}  // namespace funnelhouse::ingest
