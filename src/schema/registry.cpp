#include "funnelhouse/schema/registry.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace funnelhouse::schema {

struct CompiledSchema {
    valijson::Schema schema;
};

namespace {

const std::vector<std::string_view> kValueClasses = {"P0", "P1", "P2", "P3"};
const std::vector<std::string_view> kFrequencies = {"every_time", "once_per_session",
                                                    "once_per_user"};

bool contains(const std::vector<std::string_view>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

// valijson names each step of its context "[name]" or "[index]" under a
// "<root>" step; a JSON pointer is what users and tools expect.
std::string to_json_pointer(const std::vector<std::string>& context, std::string_view base) {
    std::string pointer{base};
    for (const auto& step : context) {
        if (step == "<root>") continue;
        std::string_view token = step;
        if (token.size() >= 2 && token.front() == '[' && token.back() == ']')
            token = token.substr(1, token.size() - 2);
        pointer.push_back('/');
        for (char c : token) {
            if (c == '~')
                pointer += "~0";
            else if (c == '/')
                pointer += "~1";
            else
                pointer.push_back(c);
        }
    }
    return pointer;
}

// valijson writes numbers with std::to_string ("0.000000"); people expect "0".
std::string tidy_numbers(const std::string& message) {
    std::string out;
    out.reserve(message.size());
    for (std::size_t i = 0; i < message.size(); ++i) {
        out.push_back(message[i]);
        if (message[i] != '.' || i == 0 ||
            !std::isdigit(static_cast<unsigned char>(message[i - 1])))
            continue;
        std::size_t end = i + 1;
        while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end])))
            ++end;
        if (end == i + 1) continue;
        std::string fraction = message.substr(i + 1, end - i - 1);
        while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
        if (fraction.empty())
            out.pop_back();
        else
            out += fraction;
        i = end - 1;
    }
    return out;
}

// valijson adds a summary at each enclosing level ("Failed to validate
// against schema associated with property name 'x'"); the deeper error is the
// one that says what to fix.
bool is_summary(const std::string& description) {
    return description.rfind("Failed to validate against schema associated with property name",
                             0) == 0 ||
           description.rfind("Failed to validate item #", 0) == 0;
}

bool is_prefix(const std::vector<std::string>& shorter, const std::vector<std::string>& longer) {
    return shorter.size() < longer.size() &&
           std::equal(shorter.begin(), shorter.end(), longer.begin());
}

std::optional<std::string> read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

}  // namespace

ContractLoad load_contract_file(const std::filesystem::path& file) {
    ContractLoad result;
    auto problem = [&](std::string text) { result.problems.push_back(std::move(text)); };

    const auto folder_name = file.parent_path().filename().string();
    const auto stem = file.stem().string();
    if (file.extension() != ".json") problem("file name must end in .json");
    if (!is_valid_event_name(folder_name))
        problem("folder '" + folder_name + "' is not a valid event name (snake_case)");
    const auto path_version = parse_schemaver(stem);
    if (!path_version)
        problem("file name '" + stem + "' is not a SchemaVer version (MODEL-REVISION-ADDITION)");

    const auto text = read_file(file);
    if (!text) {
        problem("cannot be read");
        return result;
    }
    const auto document = nlohmann::json::parse(*text, nullptr, false);
    if (document.is_discarded() || !document.is_object()) {
        problem("is not a JSON object");
        return result;
    }

    Contract contract;
    contract.file = file;
    const auto self = document.find("self");
    if (self == document.end() || !self->is_object()) {
        problem("missing object 'self' with 'name' and 'version'");
    } else {
        const auto name = self->value("name", nlohmann::json{});
        const auto version = self->value("version", nlohmann::json{});
        if (!name.is_string())
            problem("'self.name' must be a string");
        else if (name.get<std::string>() != folder_name)
            problem("'self.name' is '" + name.get<std::string>() + "' but the folder is '" +
                    folder_name + "'");
        else
            contract.name = name.get<std::string>();
        if (!version.is_string()) {
            problem("'self.version' must be a string");
        } else {
            const auto parsed = parse_schemaver(version.get<std::string>());
            if (!parsed)
                problem("'self.version' '" + version.get<std::string>() +
                        "' is not MODEL-REVISION-ADDITION");
            else if (path_version && *parsed != *path_version)
                problem("'self.version' is '" + version.get<std::string>() +
                        "' but the file name says '" + stem + "'");
            else
                contract.version = *parsed;
        }
    }

    const auto meta = document.find("meta");
    if (meta == document.end() || !meta->is_object()) {
        problem("missing object 'meta'");
    } else {
        auto text_field = [&](const char* key, std::string& out, bool required) {
            const auto it = meta->find(key);
            if (it == meta->end()) {
                if (required) problem(std::string("'meta.") + key + "' is missing");
            } else if (!it->is_string()) {
                problem(std::string("'meta.") + key + "' must be a string");
            } else {
                out = it->get<std::string>();
            }
        };
        text_field("description", contract.meta.description, true);
        text_field("owner", contract.meta.owner, true);
        text_field("value_class", contract.meta.value_class, true);
        text_field("frequency", contract.meta.frequency, true);
        if (!contract.meta.value_class.empty() &&
            !contains(kValueClasses, contract.meta.value_class))
            problem("'meta.value_class' must be one of P0, P1, P2, P3");
        if (!contract.meta.frequency.empty() && !contains(kFrequencies, contract.meta.frequency))
            problem("'meta.frequency' must be one of every_time, once_per_session, once_per_user");

        const auto sources = meta->find("sources");
        if (sources == meta->end() || !sources->is_array() || sources->empty()) {
            problem("'meta.sources' must be a non-empty list of \"browser\" and \"server\"");
        } else {
            for (const auto& entry : *sources) {
                const auto parsed = entry.is_string()
                                        ? common::parse_source(entry.get<std::string>())
                                        : std::nullopt;
                if (!parsed)
                    problem("'meta.sources' has " + entry.dump() +
                            "; allowed are \"browser\" and \"server\"");
                else
                    contract.meta.sources.push_back(*parsed);
            }
        }
        const auto personal = meta->find("personal_data");
        if (personal != meta->end()) {
            if (!personal->is_array()) {
                problem("'meta.personal_data' must be a list of property names");
            } else {
                for (const auto& entry : *personal) {
                    if (!entry.is_string())
                        problem("'meta.personal_data' entries must be strings");
                    else
                        contract.meta.personal_data.push_back(entry.get<std::string>());
                }
            }
        }
    }

    const auto schema = document.find("schema");
    if (schema == document.end() || !schema->is_object()) {
        problem("missing object 'schema' (JSON Schema draft-07 of the event's properties)");
    } else {
        contract.schema = *schema;
        try {
            auto compiled = std::make_shared<CompiledSchema>();
            valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
            valijson::adapters::NlohmannJsonAdapter adapter(contract.schema);
            parser.populateSchema(adapter, compiled->schema);
            contract.compiled = std::move(compiled);
        } catch (const std::exception& error) {
            problem(std::string("'schema' does not compile: ") + error.what());
        }
    }

    if (result.problems.empty()) result.contract = std::move(contract);
    return result;
}

std::vector<ValidationError> validate(const Contract& contract, const nlohmann::json& value,
                                      std::string_view base_pointer) {
    std::vector<ValidationError> errors;
    valijson::ValidationResults results;
    try {
        valijson::Validator validator;
        valijson::adapters::NlohmannJsonAdapter target(value);
        if (validator.validate(contract.compiled->schema, target, &results)) return errors;
    } catch (const std::exception& error) {
        errors.push_back(
            {std::string{base_pointer}, std::string("validation failed: ") + error.what()});
        return errors;
    }
    std::vector<valijson::ValidationResults::Error> raw;
    valijson::ValidationResults::Error error;
    while (results.popError(error)) raw.push_back(error);
    for (const auto& candidate : raw) {
        const bool summarised_deeper = is_summary(candidate.description) &&
                                       std::any_of(raw.begin(), raw.end(), [&](const auto& other) {
                                           return is_prefix(candidate.context, other.context);
                                       });
        if (summarised_deeper) continue;
        ValidationError out{to_json_pointer(candidate.context, base_pointer),
                            tidy_numbers(candidate.description)};
        const bool seen = std::any_of(errors.begin(), errors.end(), [&](const auto& e) {
            return e.path == out.path && e.message == out.message;
        });
        if (!seen) errors.push_back(std::move(out));
    }
    return errors;
}

SchemaRegistry SchemaRegistry::load(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw std::runtime_error("schemas directory '" + dir.string() + "' does not exist");
    SchemaRegistry registry;
    std::vector<std::string> failures;
    std::vector<std::filesystem::path> files;
    for (const auto& folder : std::filesystem::directory_iterator(dir)) {
        if (!folder.is_directory()) continue;
        for (const auto& entry : std::filesystem::directory_iterator(folder.path()))
            if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        auto loaded = load_contract_file(file);
        if (!loaded.contract) {
            for (const auto& p : loaded.problems) failures.push_back(file.string() + ": " + p);
            continue;
        }
        auto& versions = registry.contracts_[loaded.contract->name];
        versions.push_back(std::move(*loaded.contract));
        ++registry.count_;
    }
    if (!failures.empty()) {
        std::string message = "invalid contracts in '" + dir.string() + "':";
        for (const auto& f : failures) message += "\n  " + f;
        throw std::runtime_error(message);
    }
    for (auto& [name, versions] : registry.contracts_)
        std::sort(versions.begin(), versions.end(),
                  [](const Contract& a, const Contract& b) { return a.version < b.version; });
    return registry;
}

const Contract* SchemaRegistry::find(std::string_view name, const SchemaVer& version) const {
    const auto it = contracts_.find(name);
    if (it == contracts_.end()) return nullptr;
    for (const auto& contract : it->second)
        if (contract.version == version) return &contract;
    return nullptr;
}

const Contract* SchemaRegistry::newest(std::string_view name) const {
    const auto it = contracts_.find(name);
    if (it == contracts_.end() || it->second.empty()) return nullptr;
    return &it->second.back();
}

}  // namespace funnelhouse::schema
