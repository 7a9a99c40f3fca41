// The order of refresh, from what each file reads: checked against the
// headers, then sorted so that every file comes after the files it uses.
#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "funnelhouse/models/catalog.hpp"

namespace funnelhouse::models {
namespace {

using Graph = std::map<std::string, std::set<std::string>>;  // name -> names it uses

bool is_model(const ModelFile& file) { return file.kind != Kind::function; }

std::string folders_of(const std::vector<ModelFile>& files) {
    std::set<std::string> folders;
    for (const auto& file : files) folders.insert(file.path.parent_path().string());
    std::string text;
    for (const auto& folder : folders) text += (text.empty() ? "" : ", ") + folder;
    return text.empty() ? "(no folder)" : text;
}

// What a `reads:` line names: a model, or a function that reads models
// (a model's inputs, through it).
bool is_read(const ModelFile& file) { return is_model(file) || file.reads_models; }

// The header's `reads:` must be what the statement reads: a reader of the
// file, and the order, rely on it.
void check_reads(const ModelFile& file, const std::map<std::string, const ModelFile*>& by_name,
                 const std::string& folders) {
    std::set<std::string> read;
    for (const auto& reference : file.references) {
        const auto found = by_name.find(reference.name);
        if (reference.name == file.name || found == by_name.end() || !is_read(*found->second))
            continue;
        read.insert(reference.name);
        if (std::find(file.reads.begin(), file.reads.end(), reference.name) == file.reads.end())
            throw CatalogError(file.path.string() + ":" + std::to_string(reference.line) +
                               ": reads models." + reference.name +
                               ", which its header's 'reads:' line does not list");
    }
    for (const auto& name : file.reads) {
        const auto found = by_name.find(name);
        if (found == by_name.end() || !is_read(*found->second))
            throw CatalogError(file.path.string() + ": reads '" + name +
                               "', which is no model file (nor a function reading one) in " +
                               folders);
        if (!read.count(name))
            throw CatalogError(file.path.string() + ": its header lists '" + name +
                               "' in 'reads:', but the statement never reads models." + name);
    }
}

Graph uses_of(const std::vector<ModelFile>& files,
              const std::map<std::string, const ModelFile*>& by_name) {
    Graph uses;
    for (const auto& file : files) {
        auto& mine = uses[file.name];
        for (const auto& reference : file.references)
            if (by_name.count(reference.name) && reference.name != file.name)
                mine.insert(reference.name);
    }
    return uses;
}

// A function reads models when it, or a function it calls, does: it is
// made after the views are switched.
void mark_model_readers(std::vector<ModelFile>& files, const Graph& uses,
                        const std::map<std::string, const ModelFile*>& by_name) {
    std::set<std::string> readers;
    for (bool grew = true; grew;) {
        grew = false;
        for (const auto& file : files) {
            if (is_model(file) || readers.count(file.name)) continue;
            for (const auto& used : uses.at(file.name))
                if (is_model(*by_name.at(used)) || readers.count(used)) {
                    readers.insert(file.name);
                    grew = true;
                    break;
                }
        }
    }
    for (auto& file : files) file.reads_models = readers.count(file.name) > 0;
}

// A function that reads models and that a model uses (itself or through
// other such functions) is made in the buffer too, before the models that
// use it, reading the buffer's models: one definition serves the model and
// the dashboard's filtered panels.
void mark_buffered(std::vector<ModelFile>& files, const Graph& uses) {
    std::set<std::string> readers, buffered;
    for (const auto& file : files)
        if (file.reads_models) readers.insert(file.name);
    for (bool grew = true; grew;) {
        grew = false;
        for (const auto& file : files) {
            if (!is_model(file) && !buffered.count(file.name)) continue;
            for (const auto& used : uses.at(file.name))
                if (readers.count(used) && buffered.insert(used).second) grew = true;
        }
    }
    for (auto& file : files) file.buffered = buffered.count(file.name) > 0;
}

int phase(const ModelFile& file) {
    return is_model(file) || file.buffered ? 1 : file.reads_models ? 2 : 0;
}

[[noreturn]] void report_cycle(const Graph& uses, const std::set<std::string>& left,
                               const std::map<std::string, const ModelFile*>& by_name) {
    // Every file left waits for another one left: walking those waits
    // must come back to a file already seen.
    std::vector<std::string> path{*left.begin()};
    while (true) {
        std::string next;
        for (const auto& used : uses.at(path.back()))
            if (left.count(used)) next = used;
        const auto seen = std::find(path.begin(), path.end(), next);
        if (seen != path.end()) {
            std::string text;
            for (auto it = seen; it != path.end(); ++it)
                text += by_name.at(*it)->path.string() + " -> ";
            throw CatalogError("the model files read each other in a cycle: " + text +
                               by_name.at(next)->path.string());
        }
        path.push_back(next);
    }
}

// Names in `models` that the migrations own: no model file may take one.
constexpr std::array<const char*, 9> kStorage = {
    "settings", "value_class_thresholds", "funnel_steps", "experiment_controls", "contracts",
    "contract_latest", "state", "alert_thresholds", "experiment_candidates"};

}  // namespace

Catalog order_files(std::vector<ModelFile> files) {
    std::map<std::string, const ModelFile*> by_name;
    for (const auto& file : files) {
        if (std::find(kStorage.begin(), kStorage.end(), file.name) != kStorage.end())
            throw CatalogError(file.path.string() + ": models." + file.name +
                               " is a table of the migrations; choose another name");
        const auto [existing, added] = by_name.emplace(file.name, &file);
        if (!added)
            throw CatalogError("two files define models." + file.name + ": " +
                               existing->second->path.string() + " and " + file.path.string());
    }
    const auto uses = uses_of(files, by_name);
    mark_model_readers(files, uses, by_name);
    mark_buffered(files, uses);
    const auto folders = folders_of(files);
    for (const auto& file : files) check_reads(file, by_name, folders);

    // Kahn's algorithm; among the files ready, the earlier phase first,
    // then by name, so the order is the same on every machine.
    std::set<std::string> left;
    for (const auto& file : files) left.insert(file.name);
    Catalog catalog;
    while (!left.empty()) {
        const ModelFile* next = nullptr;
        for (const auto& name : left) {
            const auto* file = by_name.at(name);
            const auto& needs = uses.at(name);
            if (std::any_of(needs.begin(), needs.end(),
                            [&](const auto& n) { return left.count(n); }))
                continue;
            if (!next || phase(*file) < phase(*next)) next = file;
        }
        if (!next) report_cycle(uses, left, by_name);
        left.erase(next->name);
        catalog.files.push_back(*next);
    }
    return catalog;
}

}  // namespace funnelhouse::models
