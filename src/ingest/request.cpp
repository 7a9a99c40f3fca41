#include "funnelhouse/ingest/request.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "funnelhouse/common/gzip.hpp"
#include "funnelhouse/common/utf8.hpp"
#include "funnelhouse/common/uuid.hpp"
#include "funnelhouse/ingest/error.hpp"
#include "funnelhouse/ingest/json_spans.hpp"
#include "funnelhouse/ingest/message.hpp"
#include "parsed.hpp"

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

namespace {

// A step's refusal of the whole request, or nothing.
using Refusal = std::optional<RequestOutcome>;

// The body's text: as sent, or inflated. Compressed bodies are bounded
// after decompression too: a small gzip that inflates past the limit is
// refused without inflating it all.
Refusal decode_body(const RequestInput& input, const IngestSettings& settings,
                    std::string& inflated, std::string_view& text) {
    if (input.body.size() > settings.max_request_bytes)
        return refuse(errc::request_too_large,
                      "request body is " + std::to_string(input.body.size()) +
                          " bytes; the limit is " + std::to_string(settings.max_request_bytes) +
                          " bytes (FUNNELHOUSE_MAX_REQUEST_BYTES)");
    text = input.body;
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
    return std::nullopt;
}

// The body parsed. Bytes that are not UTF-8 fail the parse. When that is
// all that is wrong, the messages holding them are rejected one by one
// (into bad_events, readable) instead of refusing the request: the parse is
// repeated on a copy with '?' in their place, which keeps every offset.
struct ParsedBody {
    element body;
    std::vector<std::size_t> broken;  // offsets of bytes that are not UTF-8
    std::string repaired;             // the text with '?' at those offsets
    std::string_view source;          // the text, or `repaired`: offsets as received
    std::string_view parsed;          // what the DOM was read from (JsonReader::Result)
    bool normalised = false;          // `parsed` is not `source` but its reprint
};

Refusal parse_body(std::string_view text, bool is_batch, const IngestSettings& settings,
                   ParsedBody& out) {
    // JSON text never holds a NUL byte (inside strings it must be escaped),
    // and the parser would take one for the end of the input.
    if (const auto nul = text.find('\0'); nul != std::string_view::npos)
        return refuse(errc::malformed_json,
                      "body is not valid JSON: a NUL byte at offset " + std::to_string(nul));
    const auto too_deep = [&] {
        return refuse(errc::nesting_too_deep, "arrays and objects nest deeper than " +
                                                  std::to_string(settings.max_json_depth) +
                                                  " levels (FUNNELHOUSE_MAX_JSON_DEPTH)");
    };
    static thread_local std::optional<JsonReader> slot;
    auto& reader = reader_in(slot, settings.max_json_depth);
    out.source = text;
    auto read = reader.read(text);
    if (!read && nests_deeper_than(text, settings.max_json_depth)) return too_deep();
    if (!read) {
        out.broken = common::invalid_utf8_offsets(text);
        if (!out.broken.empty()) {
            out.repaired.assign(text);
            for (const auto at : out.broken) out.repaired[at] = '?';
            out.source = out.repaired;
            read = reader.read(out.repaired);
        }
        if (!read) return refuse(errc::malformed_json, describe_syntax_error(text));
    }
    out.body = read->root;
    out.parsed = read->parsed;
    out.normalised = read->normalised;
    if (out.body.type() != simdjson::dom::element_type::OBJECT)
        return refuse(errc::wrong_shape, is_batch ? "body must be a JSON object with a 'batch' list"
                                                  : "body must be a JSON object (one message)");
    return std::nullopt;
}

// The write key, before any message is looked at. Browsers always send
// Origin: a server key in a page would be a leaked secret, and a browser key
// answers only the origins it lists.
Refusal authenticate(const RequestInput& input, element body, const WriteKeyRing& keys,
                     const WriteKey*& key) {
    key = input.header_key;  // looked up by the caller already
    if (!key) {
        std::optional<std::string> key_text = write_key_from_authorization(input.authorization);
        if (!key_text) {
            if (const auto value = member_of(body, "writeKey");
                value && value->type() == simdjson::dom::element_type::STRING)
                key_text = std::string{value->get_string().value_unsafe()};
        }
        if (!key_text || key_text->empty())
            return refuse(errc::missing_write_key,
                          "missing write key: send HTTP Basic auth with the write key as user "
                          "name and an empty password, or 'writeKey' in the body");
        key = keys.find(*key_text);
        if (!key) return refuse(errc::unknown_write_key, "unknown write key");
    }
    if (input.origin.empty()) return std::nullopt;
    if (key->source == common::Source::server)
        return refuse(errc::origin_not_allowed,
                      "a server write key cannot be used from a browser page; use a browser key");
    if (!key->allows_origin(input.origin))
        return refuse(errc::origin_not_allowed,
                      "origin '" + std::string{input.origin.substr(0, 200)} +
                          "' is not in the origins of write key '" + key->name + "'");
    return std::nullopt;
}

// The request's messages: each as parsed (its DOM and the bytes it was read
// from) and its bytes in `source`, as received; a batch's sentAt goes into
// `context`.
struct Messages {
    std::vector<ParsedMessage> parsed;
    std::vector<std::string_view> received;
};

// The batch's sentAt, which each message without its own takes.
Refusal read_batch_sent_at(element body, MessageContext& context) {
    const auto sent = member_of(body, "sentAt");
    if (!sent) return std::nullopt;
    const auto at = sent->type() == simdjson::dom::element_type::STRING
                        ? common::parse_timestamp(sent->get_string().value_unsafe())
                        : std::nullopt;
    if (!at)
        return refuse(errc::wrong_shape,
                      "'sentAt' must be an ISO 8601 date-time such as 2024-05-01T12:00:00.000Z");
    context.batch_sent_at = at;
    return std::nullopt;
}

Refusal split_messages(const ParsedBody& body, bool is_batch, const IngestSettings& settings,
                       MessageContext& context, Messages& out) {
    if (!is_batch) {
        out.parsed.push_back({body.body, body.parsed, std::nullopt});
        out.received.push_back(body.source);
    } else {
        const auto batch = member_of(body.body, "batch");
        if (!batch || batch->type() != simdjson::dom::element_type::ARRAY)
            return refuse(errc::wrong_shape, "'batch' must be a list of messages");
        if (auto refused = read_batch_sent_at(body.body, context)) return refused;
        simdjson::dom::array elements;
        if (batch->get(elements) != simdjson::SUCCESS)
            return refuse(errc::wrong_shape, "'batch' must be a list of messages");
        auto spans = batch_message_spans(body.parsed);
        if (!spans || spans->size() != elements.size())
            return refuse(errc::wrong_shape, "'batch' must be a list of messages");
        std::size_t i = 0;
        for (const auto message : elements) {
            auto& span = (*spans)[i++];
            out.parsed.push_back({message, span.text, std::move(span.members)});
            out.received.push_back(span.text);
        }
        if (body.normalised) {  // the bytes as received are not the ones parsed
            const auto received = batch_message_spans(body.source);
            if (!received || received->size() != elements.size())
                return refuse(errc::wrong_shape, "'batch' must be a list of messages");
            for (std::size_t m = 0; m < received->size(); ++m)
                out.received[m] = (*received)[m].text;
        }
    }
    for (std::size_t i = 0; i < out.received.size(); ++i) {
        if (out.received[i].size() > settings.max_event_bytes)
            return refuse(
                errc::event_too_large,
                (is_batch ? "message at index " + std::to_string(i) : std::string{"message"}) +
                    " is " + std::to_string(out.received[i].size()) + " bytes; the limit is " +
                    std::to_string(settings.max_event_bytes) +
                    " bytes per event (FUNNELHOUSE_MAX_EVENT_BYTES)");
    }
    return std::nullopt;
}

// A message with bytes that are not UTF-8 (from `first` on, in `text`, the
// message starting at `offset`): rejected, naming at most ten of them.
Rejection invalid_encoding(std::string_view text, std::size_t offset, std::size_t size,
                           std::vector<std::size_t>::const_iterator first,
                           std::vector<std::size_t>::const_iterator end) {
    std::vector<schema::ValidationError> errors;
    for (auto at = first; at != end && *at < offset + size && errors.size() < 10; ++at) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        const auto value = static_cast<unsigned char>(text[*at]);
        errors.push_back({"", "byte " + std::to_string(*at - offset) + " (0x" + kHex[value >> 4] +
                                  kHex[value & 15] +
                                  ") is not UTF-8; stored as U+FFFD in raw_event"});
    }
    return Rejection{reason::invalid_encoding, std::move(errors)};
}

// A rejected message as the row of bad_events it becomes.
BadEvent bad_event_of(const MappedMessage& mapped, const ordered& errors, std::string_view received,
                      bool encoding_broken, std::size_t index, const RequestInput& input,
                      const WriteKey& key, const MessageContext& context) {
    BadEvent bad;
    // Write keys are credentials: they are never stored, not even inside
    // the raw message. Nothing else of the message is changed.
    bad.raw_event = without_member(
        encoding_broken ? std::string_view{common::with_replacement_characters(received)}
                        : received,
        "writeKey");
    // The same message sent again (a client retry) maps to the same row.
    bad.bad_event_id = common::uuid_from_name(key.name + '\n' + std::string{input.route} + '\n' +
                                              std::to_string(index) + '\n' + bad.raw_event);
    bad.event_id = mapped.event_id;
    // Text columns cannot hold U+0000; such a name stays visible in raw_event.
    if (mapped.event_name && mapped.event_name->find('\0') == std::string::npos)
        bad.event_name = mapped.event_name;
    bad.errors = errors.dump(-1, ' ', false, ordered::error_handler_t::replace);
    for (auto at = bad.errors.find("\\u0000"); at != std::string::npos;
         at = bad.errors.find("\\u0000", at))
        bad.errors.replace(at, 6, "\\ufffd");
    bad.reason = mapped.rejection->reason;
    bad.route = std::string{input.route};
    bad.write_key_name = key.name;
    bad.source = key.source;
    bad.received_at = input.received_at;
    bad.batch_sent_at = context.batch_sent_at;
    return bad;
}

// What every message of a request shares.
MessageContext context_of(const RequestInput& input, const WriteKey& key,
                          const IngestSettings& settings) {
    MessageContext context;
    context.route = input.route;
    context.write_key_name = key.name;
    context.source = key.source;
    context.received_at = input.received_at;
    context.extra_junk_ids = &settings.extra_junk_ids;
    context.privacy = &settings.privacy;
    context.client_address = input.client_address;
    return context;
}

// Maps each message into an event or a rejection (or nothing, for one
// dropped under the consent policy), in order, with the answer's lists of
// rejections and of ids the server made.
void map_messages(Messages& messages, const ParsedBody& body, std::string_view text,
                  const RequestInput& input, const WriteKey& key, const MessageContext& context,
                  const schema::SchemaRegistry& registry, RequestOutcome& outcome) {
    ordered rejected = ordered::array();
    ordered assigned = ordered::array();
    outcome.events.reserve(messages.parsed.size());
    for (std::size_t i = 0; i < messages.parsed.size(); ++i) {
        // The message's own bytes, as received.
        const auto offset =
            static_cast<std::size_t>(messages.received[i].data() - body.source.data());
        const std::string_view received = text.substr(offset, messages.received[i].size());
        const auto first_broken = std::lower_bound(body.broken.begin(), body.broken.end(), offset);
        const bool encoding_broken =
            first_broken != body.broken.end() && *first_broken < offset + received.size();
        MappedMessage mapped;
        if (encoding_broken)
            mapped.rejection =
                invalid_encoding(text, offset, received.size(), first_broken, body.broken.end());
        else
            mapped = map_parsed(std::move(messages.parsed[i]), context, registry);
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
        ordered entry = {
            {"index", i},
            {"event_id", mapped.event_id ? ordered(*mapped.event_id) : ordered(nullptr)},
            {"reason", mapped.rejection->reason},
            {"errors", errors_json(mapped.rejection->errors)}};
        outcome.bad_events.push_back(bad_event_of(mapped, entry["errors"], received,
                                                  encoding_broken, i, input, key, context));
        rejected.push_back(std::move(entry));
    }
    // Most requests have neither: their lists stay "[]".
    if (!rejected.empty())
        outcome.rejected_json = rejected.dump(-1, ' ', false, ordered::error_handler_t::replace);
    if (!assigned.empty())
        outcome.assigned_json = assigned.dump(-1, ' ', false, ordered::error_handler_t::replace);
}

}  // namespace

RequestOutcome process_request(const RequestInput& input, const WriteKeyRing& keys,
                               const schema::SchemaRegistry& registry,
                               const IngestSettings& settings) {
    const auto* route = find_ingest_route(input.route);
    if (!route) return refuse(errc::not_found, "no such route: " + std::string{input.route});
    const bool is_batch = route->type == nullptr;
    std::string inflated;
    std::string_view text;
    if (auto refused = decode_body(input, settings, inflated, text)) return std::move(*refused);
    ParsedBody body;
    if (auto refused = parse_body(text, is_batch, settings, body)) return std::move(*refused);
    const WriteKey* key = nullptr;
    if (auto refused = authenticate(input, body.body, keys, key)) return std::move(*refused);
    auto context = context_of(input, *key, settings);
    Messages messages;
    if (auto refused = split_messages(body, is_batch, settings, context, messages))
        return std::move(*refused);

    RequestOutcome outcome;
    outcome.message_count = messages.parsed.size();
    outcome.write_key = key;
    map_messages(messages, body, text, input, *key, context, registry, outcome);
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
