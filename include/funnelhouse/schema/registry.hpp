#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/common/source.hpp"
#include "funnelhouse/schema/schemaver.hpp"

namespace simdjson::dom {
class element;
}

namespace funnelhouse::schema {

// What a contract says about its event besides the shape of its properties.
struct ContractMeta {
    std::string description;
    std::string owner;
    std::string value_class;  // P0..P3, a declared hint; the models observe the real one
    std::string frequency;    // every_time | once_per_session | once_per_user
    // awareness | consideration | intent | purchase | retention; `schemas
    // lint` requires it of track events (empty: not declared)
    std::string funnel_stage;
    std::vector<common::Source> sources;
    std::vector<std::string> personal_data;
};

struct CompiledSchema;  // valijson's compiled form, kept out of this header

// The funnel stages a contract may declare, in the order of the funnel.
inline constexpr std::string_view kFunnelStages[] = {"awareness", "consideration", "intent",
                                                     "purchase", "retention"};

// Whether `event_name` names a track event, not one of the calls that have
// contracts of their own (page_view, screen_view, identify, group, alias).
bool is_track_event(std::string_view event_name);

struct Contract {
    std::string name;
    SchemaVer version;
    ContractMeta meta;
    nlohmann::json schema;  // the draft-07 schema as written
    std::filesystem::path file;
    std::shared_ptr<const CompiledSchema> compiled;
    // Whether the schema uses "format" anywhere; validation walks the value
    // for the format checks only when it does.
    bool has_formats = true;
};

// One validation failure: a JSON pointer into the event and what is wrong.
struct ValidationError {
    std::string path;
    std::string message;
};

// Reads one contract file. On failure returns the problems found, each a
// sentence that names what is wrong; the path must be
// `<dir>/<event_name>/<MODEL>-<REVISION>-<ADDITION>.json`.
struct ContractLoad {
    std::optional<Contract> contract;
    std::vector<std::string> problems;
};
ContractLoad load_contract_file(const std::filesystem::path& file);

// How a value is validated: valijson decides every rejection and writes
// its errors; a payload the contract's compiled rules show valid (the
// common case) skips it. `valijson_only` is for comparing the two.
enum class Validation { quick_when_valid, valijson_only };

// Validates `value` (parsed with simdjson; objects read as nlohmann::json
// reads them: of equal keys the last counts) against the contract.
// `base_pointer` is prepended to every error path (for example
// "/properties"). Never throws.
std::vector<ValidationError> validate(const Contract& contract, const simdjson::dom::element& value,
                                      std::string_view base_pointer,
                                      Validation how = Validation::quick_when_valid);

// Whether the contract's schema compiled into quick rules (it uses only
// what they cover: types, properties, required, lengths, bounds, string
// enums, items).
bool has_quick_rules(const Contract& contract);

// All contracts of a schema folder, immutable once loaded, shared by the io
// threads without locking.
class SchemaRegistry {
  public:
    // Throws std::runtime_error naming every offending file.
    static SchemaRegistry load(const std::filesystem::path& dir);

    const Contract* find(std::string_view name, const SchemaVer& version) const;
    const Contract* newest(std::string_view name) const;
    std::size_t size() const { return count_; }
    // Every contract, by name and then version.
    std::vector<const Contract*> all() const;

  private:
    // name -> versions in ascending order
    std::map<std::string, std::vector<Contract>, std::less<>> contracts_;
    std::size_t count_ = 0;
};

}  // namespace funnelhouse::schema
