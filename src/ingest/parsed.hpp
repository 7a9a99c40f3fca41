// JSON as ingest reads it: parsed once with simdjson, read as nlohmann::json
// reads it (of equal keys the last; integers past 64 bits as doubles), and
// each message's bytes kept, so that what needs no change is stored as sent.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "funnelhouse/ingest/json_spans.hpp"
#include "funnelhouse/ingest/message.hpp"

namespace funnelhouse::ingest {

using simdjson::dom::element;

// An empty object, valid for the life of the process.
element empty_object();

// `value` as an object: empty when it is not one.
simdjson::dom::object object_of(element value);

// The member `key` of `value` (an object) as nlohmann::json reads it: the
// last member of that name. nullopt when absent or null, or when `value` is
// not an object.
std::optional<element> member_of(element value, std::string_view key);

// Parses JSON texts, one after another: a result is valid until the next
// read. One per thread.
class JsonReader {
  public:
    // `max_depth`: the nesting read (a deeper text is refused: nullopt).
    explicit JsonReader(std::size_t max_depth);

    struct Result {
        element root;
        // The text the DOM was read from: the text itself or, when simdjson
        // refused numbers nlohmann::json reads (integers past 64 bits), that
        // text as nlohmann::json prints it.
        std::string_view parsed;
        bool normalised = false;
    };
    // nullopt when the text is not JSON nlohmann::json would read.
    std::optional<Result> read(std::string_view text);

    std::size_t max_depth() const { return max_depth_; }

  private:
    simdjson::error_code parse(std::string_view text, element& root);

    std::size_t max_depth_;
    bool deeper_ = false;  // the parser allows one level more than max_depth_
    simdjson::dom::parser parser_;
    std::string padded_;
    std::string normalised_;
};

// The reader in `slot` (a thread's own), made for `max_depth` if it is not.
JsonReader& reader_in(std::optional<JsonReader>& slot, std::size_t max_depth);

// One message as read: its DOM, its bytes as parsed and, when known, its
// members' bytes (else map_parsed finds them).
struct ParsedMessage {
    element value;
    std::string_view text;
    std::optional<std::vector<MemberSpan>> members{};
};

// map_message on a message already read.
MappedMessage map_parsed(ParsedMessage message, const MessageContext& context,
                         const schema::SchemaRegistry& registry);

// The analytics consent a message's context states (see analytics_consent).
Consent consent_of(element context, const std::vector<std::string>& categories);

}  // namespace funnelhouse::ingest
