#include "funnelhouse/schema/registry.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "funnelhouse/common/file.hpp"
#include "funnelhouse/common/time.hpp"
#include "quick.hpp"
#include "simdjson_adapter.hpp"

namespace funnelhouse::schema {

struct CompiledSchema {
    valijson::Schema schema;
    // The rules that show most valid payloads valid without valijson (quick.hpp);
    // null when the schema uses more than they cover.
    std::shared_ptr<const QuickRule> quick;
};

namespace {

const std::vector<std::string_view> kValueClasses = {"P0", "P1", "P2", "P3"};
const std::vector<std::string_view> kFrequencies = {"every_time", "once_per_session",
                                                    "once_per_user"};

bool contains(const std::vector<std::string_view>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

void append_pointer_token(std::string& pointer, std::string_view token) {
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

// valijson names each step of its context "[name]" or "[index]" under a
// "<root>" step; a JSON pointer is what users and tools expect.
std::string to_json_pointer(const std::vector<std::string>& context, std::string_view base) {
    std::string pointer{base};
    for (const auto& step : context) {
        if (step == "<root>") continue;
        std::string_view token = step;
        if (token.size() >= 2 && token.front() == '[' && token.back() == ']')
            token = token.substr(1, token.size() - 2);
        append_pointer_token(pointer, token);
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

// Formats are checked here rather than by valijson: valijson 1.0 checks
// date-time with std::regex, whose recursion grows with the input (a long
// string from a public page could exhaust an io thread's stack), and it
// ignores email and uri altogether.
void strip_formats(nlohmann::json& node) {
    if (!node.is_object()) return;
    if (const auto it = node.find("format"); it != node.end() && it->is_string()) node.erase(it);
    for (const char* key : {"properties", "patternProperties", "definitions", "$defs"})
        if (const auto it = node.find(key); it != node.end() && it->is_object())
            for (auto& [name, child] : it->items()) strip_formats(child);
    for (const char* key : {"items", "allOf", "anyOf", "oneOf"})
        if (const auto it = node.find(key); it != node.end()) {
            if (it->is_array())
                for (auto& child : *it) strip_formats(child);
            else
                strip_formats(*it);
        }
    for (const char* key : {"additionalProperties", "additionalItems", "not", "if", "then", "else",
                            "contains", "propertyNames"})
        if (const auto it = node.find(key); it != node.end()) strip_formats(*it);
}

bool is_email(std::string_view text) {
    const auto at = text.find('@');
    if (at == std::string_view::npos || at == 0 || text.size() > 320) return false;
    if (text.find('@', at + 1) != std::string_view::npos) return false;
    const auto domain = text.substr(at + 1);
    const auto dot = domain.find('.');
    if (dot == std::string_view::npos || dot == 0 || domain.back() == '.') return false;
    return std::none_of(text.begin(), text.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) ||
               std::iscntrl(static_cast<unsigned char>(c));
    });
}

bool is_uri(std::string_view text) {
    // scheme ":" rest, RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
    if (!std::isalpha(static_cast<unsigned char>(text[0]))) return false;
    for (std::size_t i = 1; i < colon; ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return false;
    }
    return std::none_of(text.begin(), text.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) ||
               std::iscntrl(static_cast<unsigned char>(c));
    });
}

std::optional<std::string> format_problem(std::string_view format, std::string_view value) {
    if (format == "date-time") {
        if (value.size() < 20 || !common::parse_timestamp(value))
            return "must be a date-time such as 2024-05-01T12:00:00Z";
    } else if (format == "date") {
        if (value.size() != 10 || !common::parse_timestamp(std::string{value} + "T00:00:00Z"))
            return "must be a date such as 2024-05-01";
    } else if (format == "email") {
        if (!is_email(value)) return "must be an email address";
    } else if (format == "uri") {
        if (!is_uri(value)) return "must be an absolute URI such as https://shop.example/p/1";
    }
    return std::nullopt;
}

// Walks `value` (any valijson adapter) where `schema` says a format.
template <typename Adapter>
void check_formats(const nlohmann::json& schema, const Adapter& value, const std::string& pointer,
                   std::vector<ValidationError>& errors) {
    if (!schema.is_object()) return;
    if (const auto it = schema.find("format");
        it != schema.end() && it->is_string() && value.isString())
        if (auto problem = format_problem(it->get_ref<const std::string&>(), value.asString()))
            errors.push_back({pointer, std::move(*problem)});
    if (const auto it = schema.find("properties");
        it != schema.end() && it->is_object() && value.isObject()) {
        const auto object = value.asObject();
        for (const auto& [name, child_schema] : it->items())
            if (const auto child = object.find(name); child != object.end()) {
                std::string child_pointer = pointer;
                append_pointer_token(child_pointer, name);
                check_formats(child_schema, child->second, child_pointer, errors);
            }
    }
    if (const auto it = schema.find("items");
        it != schema.end() && it->is_object() && value.isArray()) {
        std::size_t i = 0;
        for (const auto item : value.asArray())
            check_formats(*it, item, pointer + "/" + std::to_string(i++), errors);
    }
    if (const auto it = schema.find("allOf"); it != schema.end() && it->is_array())
        for (const auto& part : *it) check_formats(part, value, pointer, errors);
}

// valijson's errors as JSON pointers, without the summaries of deeper ones
// and without repeats.
void add_validation_errors(valijson::ValidationResults& results, std::string_view base_pointer,
                           std::vector<ValidationError>& errors) {
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
}

template <typename Adapter>
std::vector<ValidationError> validate_adapter(const Contract& contract, const Adapter& target,
                                              std::string_view base_pointer) {
    std::vector<ValidationError> errors;
    valijson::ValidationResults results;
    try {
        valijson::Validator validator;
        if (validator.validate(contract.compiled->schema, target, &results)) {
            if (contract.has_formats)
                check_formats(contract.schema, target, std::string{base_pointer}, errors);
            return errors;
        }
        add_validation_errors(results, base_pointer, errors);
        check_formats(contract.schema, target, std::string{base_pointer}, errors);
    } catch (const std::exception& error) {
        errors.push_back(
            {std::string{base_pointer}, std::string("validation failed: ") + error.what()});
    }
    return errors;
}

}  // namespace

bool is_track_event(std::string_view event_name) {
    for (const std::string_view call : {"page_view", "screen_view", "identify", "group", "alias"})
        if (event_name == call) return false;
    return true;
}

namespace {

using Problems = std::vector<std::string>;

// One text member of `meta`.
void read_meta_text(const nlohmann::json& meta, const char* key, std::string& out, bool required,
                    Problems& problems) {
    const auto it = meta.find(key);
    if (it == meta.end()) {
        if (required) problems.push_back(std::string("'meta.") + key + "' is missing");
    } else if (!it->is_string()) {
        problems.push_back(std::string("'meta.") + key + "' must be a string");
    } else {
        out = it->get<std::string>();
    }
}

// `self`: the name must be the folder's, the version the file name's.
void read_self(const nlohmann::json& document, const std::string& folder_name,
               const std::string& stem, const std::optional<SchemaVer>& path_version,
               Contract& contract, Problems& problems) {
    const auto self = document.find("self");
    if (self == document.end() || !self->is_object()) {
        problems.push_back("missing object 'self' with 'name' and 'version'");
        return;
    }
    const auto name = self->value("name", nlohmann::json{});
    const auto version = self->value("version", nlohmann::json{});
    if (!name.is_string())
        problems.push_back("'self.name' must be a string");
    else if (name.get<std::string>() != folder_name)
        problems.push_back("'self.name' is '" + name.get<std::string>() + "' but the folder is '" +
                           folder_name + "'");
    else
        contract.name = name.get<std::string>();
    if (!version.is_string()) {
        problems.push_back("'self.version' must be a string");
        return;
    }
    const auto parsed = parse_schemaver(version.get<std::string>());
    if (!parsed)
        problems.push_back("'self.version' '" + version.get<std::string>() +
                           "' is not MODEL-REVISION-ADDITION");
    else if (path_version && *parsed != *path_version)
        problems.push_back("'self.version' is '" + version.get<std::string>() +
                           "' but the file name says '" + stem + "'");
    else
        contract.version = *parsed;
}

// `meta.sources` and `meta.personal_data`: lists.
void read_meta_lists(const nlohmann::json& meta, Contract& contract, Problems& problems) {
    const auto sources = meta.find("sources");
    if (sources == meta.end() || !sources->is_array() || sources->empty()) {
        problems.push_back("'meta.sources' must be a non-empty list of \"browser\" and \"server\"");
    } else {
        for (const auto& entry : *sources) {
            const auto parsed =
                entry.is_string() ? common::parse_source(entry.get<std::string>()) : std::nullopt;
            if (!parsed)
                problems.push_back("'meta.sources' has " + entry.dump() +
                                   "; allowed are \"browser\" and \"server\"");
            else
                contract.meta.sources.push_back(*parsed);
        }
    }
    const auto personal = meta.find("personal_data");
    if (personal == meta.end()) return;
    if (!personal->is_array()) {
        problems.push_back("'meta.personal_data' must be a list of property names");
        return;
    }
    for (const auto& entry : *personal) {
        if (!entry.is_string())
            problems.push_back("'meta.personal_data' entries must be strings");
        else
            contract.meta.personal_data.push_back(entry.get<std::string>());
    }
}

// `meta`: what the contract declares about the event.
void read_meta(const nlohmann::json& document, Contract& contract, Problems& problems) {
    const auto meta = document.find("meta");
    if (meta == document.end() || !meta->is_object()) {
        problems.push_back("missing object 'meta'");
        return;
    }
    read_meta_text(*meta, "description", contract.meta.description, true, problems);
    read_meta_text(*meta, "owner", contract.meta.owner, true, problems);
    read_meta_text(*meta, "value_class", contract.meta.value_class, true, problems);
    read_meta_text(*meta, "frequency", contract.meta.frequency, true, problems);
    read_meta_text(*meta, "funnel_stage", contract.meta.funnel_stage, false, problems);
    if (!contract.meta.funnel_stage.empty() &&
        std::find(std::begin(kFunnelStages), std::end(kFunnelStages), contract.meta.funnel_stage) ==
            std::end(kFunnelStages))
        problems.push_back(
            "'meta.funnel_stage' must be one of awareness, consideration, intent, purchase, "
            "retention");
    if (!contract.meta.value_class.empty() && !contains(kValueClasses, contract.meta.value_class))
        problems.push_back("'meta.value_class' must be one of P0, P1, P2, P3");
    if (!contract.meta.frequency.empty() && !contains(kFrequencies, contract.meta.frequency))
        problems.push_back(
            "'meta.frequency' must be one of every_time, once_per_session, once_per_user");
    read_meta_lists(*meta, contract, problems);
}

// `schema`, compiled by valijson (formats are checked by check_formats).
void compile_schema(const nlohmann::json& document, Contract& contract, Problems& problems) {
    const auto schema = document.find("schema");
    if (schema == document.end() || !schema->is_object()) {
        problems.push_back(
            "missing object 'schema' (JSON Schema draft-07 of the event's properties)");
        return;
    }
    contract.schema = *schema;
    try {
        auto compiled = std::make_shared<CompiledSchema>();
        valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
        auto checked_by_valijson = contract.schema;
        strip_formats(checked_by_valijson);
        contract.has_formats = checked_by_valijson != contract.schema;
        valijson::adapters::NlohmannJsonAdapter adapter(checked_by_valijson);
        parser.populateSchema(adapter, compiled->schema);
        if (auto quick = compile_quick(contract.schema))
            compiled->quick = std::make_shared<const QuickRule>(std::move(*quick));
        contract.compiled = std::move(compiled);
    } catch (const std::exception& error) {
        problems.push_back(std::string("'schema' does not compile: ") + error.what());
    }
}

}  // namespace

ContractLoad load_contract_file(const std::filesystem::path& file) {
    ContractLoad result;
    auto& problems = result.problems;
    const auto folder_name = file.parent_path().filename().string();
    const auto stem = file.stem().string();
    if (file.extension() != ".json") problems.push_back("file name must end in .json");
    if (!is_valid_event_name(folder_name))
        problems.push_back("folder '" + folder_name + "' is not a valid event name (snake_case)");
    const auto path_version = parse_schemaver(stem);
    if (!path_version)
        problems.push_back("file name '" + stem +
                           "' is not a SchemaVer version (MODEL-REVISION-ADDITION)");
    const auto text = common::read_file(file);
    if (!text) {
        problems.push_back("cannot be read");
        return result;
    }
    const auto document = nlohmann::json::parse(*text, nullptr, false);
    if (document.is_discarded() || !document.is_object()) {
        problems.push_back("is not a JSON object");
        return result;
    }
    Contract contract;
    contract.file = file;
    read_self(document, folder_name, stem, path_version, contract, problems);
    read_meta(document, contract, problems);
    compile_schema(document, contract, problems);
    if (problems.empty()) result.contract = std::move(contract);
    return result;
}

std::vector<ValidationError> validate(const Contract& contract, const simdjson::dom::element& value,
                                      std::string_view base_pointer, Validation how) {
    const auto& quick = contract.compiled->quick;
    if (how == Validation::quick_when_valid && quick && quickly_valid(*quick, value)) {
        std::vector<ValidationError> errors;
        if (contract.has_formats)
            check_formats(contract.schema, SimdjsonAdapter(value), std::string{base_pointer},
                          errors);
        return errors;
    }
    return validate_adapter(contract, SimdjsonAdapter(value), base_pointer);
}

bool has_quick_rules(const Contract& contract) { return contract.compiled->quick != nullptr; }

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

std::vector<const Contract*> SchemaRegistry::all() const {
    std::vector<const Contract*> list;
    list.reserve(count_);
    for (const auto& [name, versions] : contracts_)
        for (const auto& contract : versions) list.push_back(&contract);
    return list;
}

}  // namespace funnelhouse::schema
