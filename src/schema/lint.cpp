#include "funnelhouse/schema/lint.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "funnelhouse/schema/registry.hpp"

namespace funnelhouse::schema {
namespace {

std::set<std::string> type_set(const nlohmann::json& property) {
    std::set<std::string> types;
    const auto it = property.find("type");
    if (it == property.end()) return types;
    if (it->is_string()) types.insert(it->get<std::string>());
    if (it->is_array())
        for (const auto& t : *it)
            if (t.is_string()) types.insert(t.get<std::string>());
    // "integer" values are also "number" values: widening integer to number is fine.
    return types;
}

std::set<std::string> required_set(const nlohmann::json& schema) {
    std::set<std::string> names;
    const auto it = schema.find("required");
    if (it != schema.end() && it->is_array())
        for (const auto& name : *it)
            if (name.is_string()) names.insert(name.get<std::string>());
    return names;
}

bool allows_additional(const nlohmann::json& schema) {
    const auto it = schema.find("additionalProperties");
    return it == schema.end() || !(it->is_boolean() && !it->get<bool>());
}

void compare_objects(const nlohmann::json& older, const nlohmann::json& newer,
                     const std::string& prefix, std::vector<std::string>& out) {
    const auto old_required = required_set(older);
    for (const auto& name : required_set(newer))
        if (!old_required.count(name))
            out.push_back("adds required property '" + prefix + name + "'");

    if (allows_additional(older) && !allows_additional(newer))
        out.push_back("sets additionalProperties to false" +
                      (prefix.empty() ? std::string{} : " in '" + prefix + "'"));

    const auto empty = nlohmann::json::object();
    const auto old_props_it = older.find("properties");
    const auto new_props_it = newer.find("properties");
    const auto& old_props =
        old_props_it != older.end() && old_props_it->is_object() ? *old_props_it : empty;
    const auto& new_props =
        new_props_it != newer.end() && new_props_it->is_object() ? *new_props_it : empty;

    for (const auto& [name, old_property] : old_props.items()) {
        const auto found = new_props.find(name);
        if (found == new_props.end()) {
            out.push_back("removes property '" + prefix + name + "'");
            continue;
        }
        const auto old_types = type_set(old_property);
        auto new_types = type_set(*found);
        if (new_types.count("number")) new_types.insert("integer");
        const bool widened_or_same =
            new_types.empty() || std::all_of(old_types.begin(), old_types.end(),
                                             [&](const auto& t) { return new_types.count(t); });
        if (!widened_or_same) {
            out.push_back("changes the type of '" + prefix + name + "' from " +
                          old_property.value("type", nlohmann::json{}).dump() + " to " +
                          found->value("type", nlohmann::json{}).dump());
            continue;
        }
        if (old_types.count("object") && found->is_object() && old_property.is_object())
            compare_objects(old_property, *found, prefix + name + ".", out);
    }
}

}  // namespace

std::vector<std::string> addition_incompatibilities(const nlohmann::json& older,
                                                    const nlohmann::json& newer) {
    std::vector<std::string> out;
    compare_objects(older, newer, "", out);
    return out;
}

std::vector<LintFinding> lint_schemas(const std::filesystem::path& dir) {
    std::vector<LintFinding> findings;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        findings.push_back({dir, "is not a directory"});
        return findings;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.is_directory()) {
            for (const auto& inner : std::filesystem::directory_iterator(entry.path())) {
                if (inner.is_regular_file())
                    files.push_back(inner.path());
                else
                    findings.push_back({inner.path(),
                                        "unexpected entry: contract folders hold only "
                                        "<MODEL>-<REVISION>-<ADDITION>.json files"});
            }
        } else if (entry.path().extension() == ".json") {
            findings.push_back({entry.path(),
                                "contract files belong in a folder named after their "
                                "event: <event_name>/<MODEL>-<REVISION>-<ADDITION>.json"});
        }
    }
    std::sort(files.begin(), files.end());

    std::map<std::string, std::vector<Contract>> by_name;
    for (const auto& file : files) {
        auto loaded = load_contract_file(file);
        for (const auto& problem : loaded.problems) findings.push_back({file, problem});
        if (loaded.contract && is_track_event(loaded.contract->name) &&
            loaded.contract->meta.funnel_stage.empty())
            findings.push_back({file,
                                "'meta.funnel_stage' is required of track events: one of "
                                "awareness, consideration, intent, purchase, retention"});
        if (loaded.contract) by_name[loaded.contract->name].push_back(std::move(*loaded.contract));
    }

    for (auto& [name, versions] : by_name) {
        std::sort(versions.begin(), versions.end(),
                  [](const Contract& a, const Contract& b) { return a.version < b.version; });
        for (std::size_t i = 0; i < versions.size(); ++i) {
            const auto& current = versions[i];
            if (current.version.addition == 0) continue;
            // The version this one adds to: the highest earlier version in the
            // same MODEL-REVISION line.
            const Contract* previous = nullptr;
            for (std::size_t j = 0; j < i; ++j)
                if (versions[j].version.model == current.version.model &&
                    versions[j].version.revision == current.version.revision)
                    previous = &versions[j];
            if (!previous) continue;
            for (const auto& reason : addition_incompatibilities(previous->schema, current.schema))
                findings.push_back({current.file, "ADDITION bump from " +
                                                      previous->version.to_string() +
                                                      " is not backward compatible: it " + reason});
        }
    }
    return findings;
}

}  // namespace funnelhouse::schema
