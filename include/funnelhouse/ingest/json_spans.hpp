#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace funnelhouse::ingest {

// The object text with every top-level member named `member` removed,
// together with one separating comma; everything else is left byte for byte.
// Used to keep write keys out of stored raw events. Text that is not an
// object comes back unchanged.
std::string without_member(std::string_view text, std::string_view member);

// Whether arrays and objects in `text` nest deeper than `limit` (brackets
// inside strings do not count). A linear scan that never recurses, run before
// the parse: deep nesting would otherwise cost stack wherever a value is
// walked recursively (serialising, validating).
bool nests_deeper_than(std::string_view text, std::size_t limit);

// One member of an object as written.
struct MemberSpan {
    std::string_view key;    // with its quotes, escapes as written
    std::string_view value;  // the value's bytes
    // Whether every number in the value is written as nlohmann::json prints
    // the number it reads (see prints_as_sent).
    bool numbers_as_printed = true;
};

// The members of the object `text`, in order; nullopt when it is not an
// object. `text` must already be known to be valid JSON.
std::optional<std::vector<MemberSpan>> object_member_spans(std::string_view text);

// One message of a batch: its bytes and, when it is an object, its members.
struct MessageSpans {
    std::string_view text;
    std::optional<std::vector<MemberSpan>> members;
};

// The messages of a request body `{"batch": [...]}` (valid JSON; of
// repeated "batch" keys the last), each with its exact bytes, so that a
// rejected event is stored exactly as it was received, and its members;
// nullopt when the body is not an object or its batch no array. Iterative,
// so deep nesting cannot exhaust the stack.
std::optional<std::vector<MessageSpans>> batch_message_spans(std::string_view body);

// Whether the JSON number `number` is written exactly as nlohmann::json
// prints what it reads it as: "19.5" and "3" are, "1.50", "1e2" and "-0" are
// not. Stored properties were always that printed form; text that holds only
// such numbers can be stored as received, with the same jsonb result.
bool prints_as_sent(std::string_view number);

}  // namespace funnelhouse::ingest
