// The dictionary's entries: what the contracts define, in words, with an
// example each contract accepts.
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "funnelhouse/common/source.hpp"
#include "funnelhouse/dictionary/dictionary.hpp"

namespace funnelhouse::dictionary {
namespace {

using nlohmann::json;

const json* member(const json& schema, const char* name) {
    if (!schema.is_object()) return nullptr;
    const auto it = schema.find(name);
    return it == schema.end() ? nullptr : &*it;
}

std::string type_of(const json& schema) {
    std::string type = "any";
    if (const auto* t = member(schema, "type")) {
        if (t->is_string()) type = t->get<std::string>();
        if (t->is_array()) {
            type.clear();
            for (const auto& each : *t)
                if (each.is_string())
                    type += (type.empty() ? "" : " or ") + each.get<std::string>();
        }
    }
    const auto* items = member(schema, "items");
    if (type == "array" && items && items->is_object()) type += " of " + type_of(*items);
    return type;
}

// "1 to 100", "at least 1", "at most 100", or "" from two optional bounds.
std::string range(const json* low, const json* high, const std::string& unit) {
    const auto text = [](const json* bound) { return bound->dump(); };
    if (low && high && *low == *high) return "exactly " + text(low) + unit;
    if (low && high) return text(low) + " to " + text(high) + unit;
    if (low) return "at least " + text(low) + unit;
    if (high) return "at most " + text(high) + unit;
    return "";
}

std::string limits_of(const json& schema) {
    std::vector<std::string> parts;
    const auto add = [&](std::string part) {
        if (!part.empty()) parts.push_back(std::move(part));
    };
    add(range(member(schema, "minLength"), member(schema, "maxLength"), " characters"));
    add(range(member(schema, "minimum"), member(schema, "maximum"), ""));
    if (const auto* v = member(schema, "exclusiveMinimum")) add("more than " + v->dump());
    if (const auto* v = member(schema, "exclusiveMaximum")) add("less than " + v->dump());
    add(range(member(schema, "minItems"), member(schema, "maxItems"), " items"));
    if (const auto* v = member(schema, "format"); v && v->is_string())
        add("format " + v->get<std::string>());
    if (const auto* v = member(schema, "pattern"); v && v->is_string())
        add("matching " + v->get<std::string>());
    std::string out;
    for (const auto& part : parts) out += (out.empty() ? "" : "; ") + part;
    return out;
}

std::string kind_of(const std::string& name) {
    static const std::map<std::string, std::string, std::less<>> kCalls = {
        {"page_view", "page"},
        {"screen_view", "screen"},
        {"identify", "identify"},
        {"group", "group"},
        {"alias", "alias"}};
    const auto it = kCalls.find(name);
    return it == kCalls.end() ? "track" : it->second;
}

std::size_t stage_rank(const std::string& stage) {
    const auto* begin = std::begin(schema::kFunnelStages);
    return static_cast<std::size_t>(std::find(begin, std::end(schema::kFunnelStages), stage) -
                                    begin);
}

}  // namespace

std::vector<Property> properties_of(const json& schema) {
    std::vector<Property> out;
    const auto* properties = member(schema, "properties");
    if (!properties || !properties->is_object()) return out;
    std::set<std::string> required;
    if (const auto* list = member(schema, "required"); list && list->is_array())
        for (const auto& name : *list)
            if (name.is_string()) required.insert(name.get<std::string>());
    for (const auto& [name, sub] : properties->items()) {
        Property p{name, type_of(sub), required.count(name) > 0, {}, limits_of(sub), {}};
        if (const auto* values = member(sub, "enum"); values && values->is_array())
            for (const auto& value : *values) p.allowed.push_back(value.dump());
        if (const auto* text = member(sub, "description"); text && text->is_string())
            p.description = text->get<std::string>();
        out.push_back(std::move(p));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Property& a, const Property& b) { return a.required > b.required; });
    return out;
}

std::vector<std::string> changes(const schema::Contract& before, const schema::Contract& after) {
    std::vector<std::string> out;
    std::map<std::string, Property> old_ones;
    for (auto& p : properties_of(before.schema)) old_ones.emplace(p.name, std::move(p));
    for (const auto& p : properties_of(after.schema)) {
        const auto it = old_ones.find(p.name);
        if (it == old_ones.end()) {
            out.push_back("added " + p.name + " (" + p.type + (p.required ? ", required)" : ")"));
            continue;
        }
        const auto& o = it->second;
        if (o.type != p.type) out.push_back(p.name + ": " + o.type + " became " + p.type);
        if (o.required != p.required)
            out.push_back(p.name + (p.required ? ": now required" : ": no longer required"));
        if (o.allowed != p.allowed)
            out.push_back(p.name + (p.allowed.empty() ? ": any value allowed again"
                                                      : ": allowed values now listed"));
        if (o.limits != p.limits)
            out.push_back(p.name + ": limits now " + (p.limits.empty() ? "none" : p.limits));
        old_ones.erase(it);
    }
    for (const auto& [name, p] : old_ones) out.push_back("removed " + name);
    const auto& a = before.meta;
    const auto& b = after.meta;
    if (a.value_class != b.value_class)
        out.push_back("declared value class " + a.value_class + " became " + b.value_class);
    if (a.frequency != b.frequency)
        out.push_back("frequency " + a.frequency + " became " + b.frequency);
    if (a.funnel_stage != b.funnel_stage)
        out.push_back("funnel stage " + (a.funnel_stage.empty() ? "(none)" : a.funnel_stage) +
                      " became " + b.funnel_stage);
    if (a.sources != b.sources) out.push_back("allowed sources changed");
    if (out.empty()) out.push_back("no change to its properties or metadata");
    return out;
}

json example_value(const json& schema, bool all_properties) {
    for (const char* given : {"examples", "enum"})
        if (const auto* v = member(schema, given); v && v->is_array() && !v->empty())
            return v->front();
    for (const char* given : {"default", "const"})
        if (const auto* v = member(schema, given)) return *v;
    auto type = type_of(schema);
    type = type.substr(0, type.find(' '));
    if (type == "string") {
        const auto* format = member(schema, "format");
        const std::string f = format && format->is_string() ? format->get<std::string>() : "";
        if (f == "email") return "person@example.com";
        if (f == "date-time") return "2026-01-01T12:00:00Z";
        if (f == "date") return "2026-01-01";
        if (f == "uri") return "https://shop.example/";
        std::string text = "example";
        if (const auto* n = member(schema, "minLength"); n && n->is_number_unsigned())
            text.resize(std::max<std::size_t>(text.size(), n->get<std::size_t>()), 'x');
        if (const auto* n = member(schema, "maxLength"); n && n->is_number_unsigned())
            text.resize(std::min<std::size_t>(text.size(), n->get<std::size_t>()));
        return text;
    }
    if (type == "integer" || type == "number") {
        double value = 1;
        if (const auto* v = member(schema, "minimum"); v && v->is_number())
            value = std::max(value, std::ceil(v->get<double>()));
        if (const auto* v = member(schema, "exclusiveMinimum"); v && v->is_number())
            value = std::max(value, std::floor(v->get<double>()) + 1);
        if (const auto* v = member(schema, "maximum"); v && v->is_number())
            value = std::min(value, std::floor(v->get<double>()));
        if (const auto* v = member(schema, "exclusiveMaximum"); v && v->is_number())
            value = std::min(value, std::ceil(v->get<double>()) - 1);
        return static_cast<long long>(value);
    }
    if (type == "boolean") return true;
    if (type == "null") return nullptr;
    if (type == "array") {
        std::size_t n = 1;
        if (const auto* v = member(schema, "minItems"); v && v->is_number_unsigned())
            n = std::max<std::size_t>(n, v->get<std::size_t>());
        const auto* items = member(schema, "items");
        json out = json::array();
        for (std::size_t i = 0; i < n; ++i)
            out.push_back(items ? example_value(*items, all_properties) : json("example"));
        return out;
    }
    if (type == "object" || member(schema, "properties")) {
        json out = json::object();
        for (const auto& p : properties_of(schema))
            if (p.required || all_properties)
                out[p.name] =
                    example_value((*member(schema, "properties"))[p.name], all_properties);
        return out;
    }
    return "example";
}

namespace {

// The message a site or backend sends, around the payload its contract
// validates.
nlohmann::ordered_json message_of(const std::string& kind, const std::string& name,
                                  const json& payload) {
    using ordered = nlohmann::ordered_json;
    const auto body = ordered::parse(payload.dump());
    if (kind == "page" || kind == "screen")
        return {{"type", kind}, {"name", "Pricing"}, {"properties", body}};
    if (kind == "identify") return {{"type", kind}, {"userId", "user-123"}, {"traits", body}};
    if (kind == "group")
        return {{"type", kind}, {"userId", "user-123"}, {"groupId", "company-1"}, {"traits", body}};
    if (kind == "alias")
        return {{"type", kind}, {"previousId", "anonymous-1"}, {"userId", "user-123"}};
    return {{"type", "track"}, {"event", name}, {"userId", "user-123"}, {"properties", body}};
}

// The contract's verdict on a payload: "" when it accepts it.
std::string problem_with(const schema::Contract& contract, const json& payload) {
    simdjson::dom::parser parser;
    const simdjson::padded_string text{payload.dump()};
    const auto errors = schema::validate(contract, parser.parse(text).value(), "");
    if (errors.empty()) return "";
    return (errors.front().path.empty() ? "/" : errors.front().path) + ": " +
           errors.front().message;
}

// An example with every property when the contract accepts it, else with
// the required ones; the problem when it accepts neither.
void set_example(Entry& entry, const schema::Contract& contract) {
    auto payload = example_value(contract.schema, true);
    auto problem = problem_with(contract, payload);
    if (!problem.empty()) {
        payload = example_value(contract.schema, false);
        problem = problem_with(contract, payload);
    }
    if (entry.kind == "alias") payload = json::object();
    entry.example = message_of(entry.kind, entry.name, payload).dump(2);
    entry.example_problem = std::move(problem);
}

}  // namespace

std::vector<Entry> entries(const schema::SchemaRegistry& registry) {
    std::vector<Entry> out;
    const schema::Contract* previous = nullptr;
    for (const auto* contract : registry.all()) {  // by name, then version
        if (!previous || previous->name != contract->name) {
            out.push_back({});
            out.back().name = contract->name;
            out.back().kind = kind_of(contract->name);
            out.back().versions.push_back({contract->version.to_string(), {"first version"}});
        } else {
            out.back().versions.push_back(
                {contract->version.to_string(), changes(*previous, *contract)});
        }
        auto& entry = out.back();
        entry.version = contract->version.to_string();
        entry.meta = contract->meta;
        entry.properties = properties_of(contract->schema);
        set_example(entry, *contract);
        previous = contract;
    }
    std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
        return stage_rank(a.meta.funnel_stage) < stage_rank(b.meta.funnel_stage);
    });
    return out;
}

void add_facts(std::vector<Entry>& entries, std::string_view rows_json) {
    const auto rows = json::parse(rows_json, nullptr, false);
    if (!rows.is_array()) throw std::invalid_argument("dictionary: the facts are not a JSON list");
    std::map<std::string, const json*, std::less<>> by_name;
    for (const auto& row : rows)
        if (row.is_object() && row.contains("event_name") && row["event_name"].is_string())
            by_name[row["event_name"].get<std::string>()] = &row;
    const auto number = [](const json& row, const char* field) -> std::optional<double> {
        const auto it = row.find(field);
        if (it == row.end() || !it->is_number()) return std::nullopt;
        return it->get<double>();
    };
    for (auto& entry : entries) {
        const auto found = by_name.find(entry.name);
        if (found == by_name.end()) continue;
        const auto& row = *found->second;
        Facts f;
        if (const auto it = row.find("up_to"); it != row.end() && it->is_string())
            f.up_to = it->get<std::string>();
        f.events = static_cast<long long>(number(row, "events").value_or(0));
        f.rejected = static_cast<long long>(number(row, "rejected").value_or(0));
        if (const auto it = row.find("reasons"); it != row.end() && it->is_object())
            for (const auto& [reason, n] : it->items())
                if (n.is_number_integer()) f.reasons.emplace_back(reason, n.get<long long>());
        std::stable_sort(f.reasons.begin(), f.reasons.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        if (const auto it = row.find("observed_class"); it != row.end() && it->is_string())
            f.observed_class = it->get<std::string>();
        f.uplift = number(row, "uplift");
        f.uplift_low = number(row, "uplift_low");
        f.uplift_high = number(row, "uplift_high");
        entry.facts = std::move(f);
    }
}

}  // namespace funnelhouse::dictionary
