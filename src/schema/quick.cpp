#include "quick.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>

namespace funnelhouse::schema {
namespace {

using simdjson::dom::element;
using type = simdjson::dom::element_type;

enum QuickType : unsigned {
    kObject = 1,
    kArray = 2,
    kString = 4,
    kInteger = 8,
    kNumber = 16,
    kBoolean = 32,
    kNull = 64,
};

std::optional<unsigned> type_bit(const nlohmann::json& name) {
    if (!name.is_string()) return std::nullopt;
    static const std::pair<std::string_view, unsigned> kNames[] = {
        {"object", kObject}, {"array", kArray},     {"string", kString}, {"integer", kInteger},
        {"number", kNumber}, {"boolean", kBoolean}, {"null", kNull}};
    for (const auto& [text, bit] : kNames)
        if (name.get_ref<const std::string&>() == text) return bit;
    return std::nullopt;
}

std::optional<unsigned> read_types(const nlohmann::json& types) {
    if (!types.is_array()) return type_bit(types);
    unsigned bits = 0;
    for (const auto& name : types) {
        const auto bit = type_bit(name);
        if (!bit) return std::nullopt;
        bits |= *bit;
    }
    return bits ? std::optional<unsigned>{bits} : std::nullopt;
}

std::optional<std::size_t> read_count(const nlohmann::json& value) {
    if (!value.is_number_unsigned()) return std::nullopt;
    return value.get<std::size_t>();
}

// A list of strings into `out`; false when it is anything else.
bool read_strings(const nlohmann::json& list, std::vector<std::string>& out) {
    if (!list.is_array()) return false;
    for (const auto& item : list) {
        if (!item.is_string()) return false;
        out.push_back(item.get<std::string>());
    }
    return true;
}

// One keyword into `rule`; false when it is outside the compiled part.
bool read_keyword(const std::string& key, const nlohmann::json& value, QuickRule& rule) {
    if (key == "description" || key == "title" || key == "$schema" || key == "$comment" ||
        key == "examples" || key == "default" || key == "format")
        return true;  // annotations; formats are checked apart
    if (key == "type") {
        const auto types = read_types(value);
        rule.types = types.value_or(0);
        return types.has_value();
    }
    if (key == "minLength" || key == "maxLength" || key == "minItems" || key == "maxItems") {
        const auto count = read_count(value);
        auto& target = key == "minLength"   ? rule.min_length
                       : key == "maxLength" ? rule.max_length
                       : key == "minItems"  ? rule.min_items
                                            : rule.max_items;
        target = count;
        return count.has_value();
    }
    if (key == "minimum" || key == "maximum") {
        if (!value.is_number()) return false;
        (key == "minimum" ? rule.minimum : rule.maximum) = value.get<double>();
        return true;
    }
    if (key == "enum") {
        rule.has_enum = true;
        return read_strings(value, rule.enum_strings);
    }
    if (key == "required") return read_strings(value, rule.required);
    if (key == "additionalProperties") {
        if (!value.is_boolean()) return false;
        rule.additional_allowed = value.get<bool>();
        return true;
    }
    if (key == "properties") {
        if (!value.is_object()) return false;
        for (const auto& [name, child] : value.items()) {
            auto compiled = compile_quick(child);
            if (!compiled) return false;
            rule.properties.push_back(
                {name, std::make_shared<const QuickRule>(std::move(*compiled))});
        }
        return true;  // nlohmann's items() are in key order already
    }
    if (key == "items") {
        if (!value.is_object()) return false;
        auto compiled = compile_quick(value);
        if (!compiled) return false;
        rule.items = std::make_shared<const QuickRule>(std::move(*compiled));
        return true;
    }
    return false;
}

// Code points, as valijson counts them; nullopt for a string holding U+0000,
// where valijson's count stops.
std::optional<std::size_t> code_points(std::string_view text) {
    std::size_t count = 0;
    for (const unsigned char c : text) {
        if (c == 0) return std::nullopt;
        if ((c & 0xC0) != 0x80) ++count;
    }
    return count;
}

bool has_type(unsigned types, element value) {
    if (types == 0) return true;
    switch (value.type()) {
        case type::OBJECT:
            return types & kObject;
        case type::ARRAY:
            return types & kArray;
        case type::STRING:
            return types & kString;
        case type::INT64:
        case type::UINT64:
            return types & (kInteger | kNumber);
        case type::DOUBLE:
            return types & kNumber;
        case type::BOOL:
            return types & kBoolean;
        case type::NULL_VALUE:
            return types & kNull;
    }
    return false;
}

bool string_passes(const QuickRule& rule, std::string_view text) {
    if (rule.has_enum && std::find(rule.enum_strings.begin(), rule.enum_strings.end(), text) ==
                             rule.enum_strings.end())
        return false;
    if (!rule.min_length && !rule.max_length) return true;
    const auto length = code_points(text);
    return length && (!rule.min_length || *length >= *rule.min_length) &&
           (!rule.max_length || *length <= *rule.max_length);
}

bool number_passes(const QuickRule& rule, element value) {
    double number = 0;
    if (value.type() == type::DOUBLE)
        number = value.get_double().value_unsafe();
    else if (value.type() == type::INT64)
        number = static_cast<double>(value.get_int64().value_unsafe());
    else if (value.get_uint64().value_unsafe() <=
             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        number = static_cast<double>(value.get_uint64().value_unsafe());
    else
        return false;  // valijson reads it wrapped: let it decide
    return (!rule.minimum || number >= *rule.minimum) && (!rule.maximum || number <= *rule.maximum);
}

bool object_passes(const QuickRule& rule, simdjson::dom::object object) {
    // Repeated keys: valijson reads the last; let it decide.
    std::size_t i = 0;
    for (const auto field : object) {
        std::size_t j = 0;
        for (const auto other : object) {
            if (j++ >= i) break;
            if (other.key == field.key) return false;
        }
        ++i;
        const auto named = std::lower_bound(
            rule.properties.begin(), rule.properties.end(), field.key,
            [](const auto& property, std::string_view key) { return property.name < key; });
        if (named != rule.properties.end() && named->name == field.key) {
            if (!quickly_valid(*named->rule, field.value)) return false;
        } else if (!rule.additional_allowed) {
            return false;
        }
    }
    for (const auto& name : rule.required) {
        bool present = false;
        for (const auto field : object) present = present || field.key == name;
        if (!present) return false;
    }
    return true;
}

bool array_passes(const QuickRule& rule, simdjson::dom::array array) {
    const auto size = array.size();
    if ((rule.min_items && size < *rule.min_items) || (rule.max_items && size > *rule.max_items))
        return false;
    if (!rule.items) return true;
    for (const auto item : array)
        if (!quickly_valid(*rule.items, item)) return false;
    return true;
}

}  // namespace

std::optional<QuickRule> compile_quick(const nlohmann::json& schema) {
    if (!schema.is_object()) return std::nullopt;
    QuickRule rule;
    for (const auto& [key, value] : schema.items())
        if (!read_keyword(key, value, rule)) return std::nullopt;
    return rule;
}

bool quickly_valid(const QuickRule& rule, element value) {
    if (!has_type(rule.types, value)) return false;
    // An enum is met only by one of its strings (values of other types: ask).
    if (rule.has_enum && value.type() != type::STRING) return false;
    switch (value.type()) {
        case type::STRING:
            return string_passes(rule, value.get_string().value_unsafe());
        case type::INT64:
        case type::UINT64:
        case type::DOUBLE:
            return number_passes(rule, value);
        case type::OBJECT: {
            simdjson::dom::object object;
            return value.get(object) == simdjson::SUCCESS && object_passes(rule, object);
        }
        case type::ARRAY: {
            simdjson::dom::array array;
            return value.get(array) == simdjson::SUCCESS && array_passes(rule, array);
        }
        default:
            return true;
    }
}

}  // namespace funnelhouse::schema
