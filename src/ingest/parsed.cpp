#include "parsed.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace funnelhouse::ingest {
namespace {

using type = simdjson::dom::element_type;

// Room for any request body without growing: simdjson grows on demand.
constexpr std::size_t kInitialCapacity = 64 * 1024;

}  // namespace

element empty_object() {
    static const auto* parser = [] {
        auto* p = new simdjson::dom::parser;
        (void)p->parse(std::string_view{"{}"});
        return p;
    }();
    return parser->doc.root();
}

simdjson::dom::object object_of(element value) {
    simdjson::dom::object object;
    if (value.get(object) != simdjson::SUCCESS) return object_of(empty_object());
    return object;
}

std::optional<element> member_of(element value, std::string_view key) {
    if (value.type() != type::OBJECT) return std::nullopt;
    std::optional<element> found;
    for (const auto field : object_of(value))
        if (field.key == key) found = field.value;
    if (found && found->is_null()) return std::nullopt;
    return found;
}

JsonReader::JsonReader(std::size_t max_depth) : max_depth_(max_depth) {
    // On failure to allocate, parse() allocates again (and reports it).
    if (parser_.allocate(kInitialCapacity, max_depth) != simdjson::SUCCESS) return;
}

simdjson::error_code JsonReader::parse(std::string_view text, element& root) {
    padded_.resize(text.size() + simdjson::SIMDJSON_PADDING);
    std::copy(text.begin(), text.end(), padded_.begin());
    return parser_.parse(padded_.data(), text.size(), false).get(root);
}

std::optional<JsonReader::Result> JsonReader::read(std::string_view text) {
    if (deeper_) {  // back to the depth the last read needed one more level than
        deeper_ = parser_.allocate(parser_.capacity(), max_depth_) != simdjson::SUCCESS;
    }
    element root;
    const auto error = parse(text, root);
    if (error == simdjson::SUCCESS) return Result{root, text, false};
    // Deeper than allowed, or not JSON (printing below recurses: never past
    // the depth).
    if (nests_deeper_than(text, max_depth_)) return std::nullopt;
    // simdjson counts a filled array or object one level deeper than an
    // empty one: text filled to exactly the depth needs one level more.
    if (error == simdjson::DEPTH_ERROR &&
        parser_.allocate(parser_.capacity(), max_depth_ + 1) == simdjson::SUCCESS) {
        deeper_ = true;
        if (parse(text, root) == simdjson::SUCCESS) return Result{root, text, false};
    }
    // simdjson refuses integers past 64 bits, which nlohmann::json reads as
    // doubles: read those texts as nlohmann::json prints them.
    const auto value = nlohmann::json::parse(text, nullptr, false);
    if (value.is_discarded()) return std::nullopt;
    normalised_ = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (parse(normalised_, root) == simdjson::SUCCESS) return Result{root, normalised_, true};
    return std::nullopt;
}

JsonReader& reader_in(std::optional<JsonReader>& slot, std::size_t max_depth) {
    if (!slot || slot->max_depth() != max_depth) slot.emplace(max_depth);
    return *slot;
}

}  // namespace funnelhouse::ingest
