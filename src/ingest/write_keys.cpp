#include "funnelhouse/ingest/write_keys.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/common/file.hpp"

namespace funnelhouse::ingest {

WriteKeyRing WriteKeyRing::load(const std::filesystem::path& file) {
    const auto text = common::read_file(file);
    if (!text) throw std::runtime_error("keys file '" + file.string() + "' cannot be read");
    return from_json_text(*text, file.string());
}

namespace {

constexpr double kMaxRate = 1e9;

// "rate_limit": {"per_second": 1000, "burst": 2000}; burst defaults to twice
// the rate (at least 1).
std::optional<KeyRateLimit> parse_rate_limit(const nlohmann::json& entry, const char* field,
                                             const std::string& at) {
    const auto it = entry.find(field);
    if (it == entry.end()) return std::nullopt;
    const std::string what = at + ": '" + field + "'";
    if (!it->is_object())
        throw std::runtime_error(
            what + " must be an object such as {\"per_second\": 1000, \"burst\": 2000}");
    for (const auto& [name, value] : it->items())
        if (name != "per_second" && name != "burst")
            throw std::runtime_error(what + " has an unknown field '" + name +
                                     "': use per_second and burst");
    const auto number = [&](const char* name) -> std::optional<double> {
        const auto value = it->find(name);
        if (value == it->end()) return std::nullopt;
        if (!value->is_number() || value->get<double>() < 0 || value->get<double>() > kMaxRate)
            throw std::runtime_error(what + "." + name + " must be a number from 0 to 1e9, got " +
                                     value->dump().substr(0, 40));
        return value->get<double>();
    };
    const auto per_second = number("per_second");
    if (!per_second)
        throw std::runtime_error(what + " needs per_second (requests per second; 0 turns it off)");
    KeyRateLimit limit{*per_second, number("burst").value_or(std::max(1.0, 2 * *per_second))};
    if (limit.per_second > 0 && limit.burst < 1)
        throw std::runtime_error(what + ".burst must be at least 1");
    return limit;
}

}  // namespace

WriteKeyRing WriteKeyRing::from_json_text(std::string_view text, std::string_view origin) {
    const std::string where = "keys file '" + std::string{origin} + "'";
    const auto document = nlohmann::json::parse(text, nullptr, false);
    if (document.is_discarded() || !document.is_array())
        throw std::runtime_error(where + " must be a JSON list of {\"name\",\"key\",\"source\"}");
    WriteKeyRing ring;
    for (std::size_t i = 0; i < document.size(); ++i) {
        const auto& entry = document[i];
        const std::string at = where + " entry " + std::to_string(i);
        if (!entry.is_object()) throw std::runtime_error(at + " is not an object");
        for (const char* field : {"name", "key", "source"}) {
            const auto it = entry.find(field);
            if (it == entry.end() || !it->is_string() || it->get<std::string>().empty())
                throw std::runtime_error(at + ": '" + field + "' must be a non-empty string");
        }
        WriteKey key;
        key.name = entry["name"].get<std::string>();
        key.key = entry["key"].get<std::string>();
        const auto source = common::parse_source(entry["source"].get<std::string>());
        if (!source) throw std::runtime_error(at + ": 'source' must be \"browser\" or \"server\"");
        key.source = *source;
        if (const auto origins = entry.find("origins"); origins != entry.end()) {
            if (!origins->is_array())
                throw std::runtime_error(
                    at + ": 'origins' must be a list such as [\"https://shop.example\"]");
            if (key.source == common::Source::server)
                throw std::runtime_error(at + ": 'origins' only applies to browser keys");
            for (const auto& origin : *origins) {
                const std::string text = origin.is_string() ? origin.get<std::string>() : "";
                const bool well_formed =
                    text == "*" ||
                    ((text.rfind("https://", 0) == 0 || text.rfind("http://", 0) == 0) &&
                     text.find('/', text.find("//") + 2) == std::string::npos);
                if (!well_formed)
                    throw std::runtime_error(
                        at + ": origin " + origin.dump() +
                        " must be \"*\" or scheme://host[:port] without a path");
                key.origins.push_back(text);
            }
        }
        key.rate_limit = parse_rate_limit(entry, "rate_limit", at);
        key.address_rate_limit = parse_rate_limit(entry, "address_rate_limit", at);
        if (key.address_rate_limit && key.source == common::Source::server)
            throw std::runtime_error(at +
                                     ": 'address_rate_limit' only applies to browser keys (a "
                                     "backend speaks for many people from one address)");
        for (const auto& existing : ring.keys_) {
            if (existing.name == key.name)
                throw std::runtime_error(at + ": name '" + key.name + "' is used twice");
            if (existing.key == key.key)
                throw std::runtime_error(at + ": key of '" + key.name + "' repeats the key of '" +
                                         existing.name + "'");
        }
        ring.by_key_.emplace(key.key, ring.keys_.size());
        ring.keys_.push_back(std::move(key));
    }
    return ring;
}

bool WriteKey::allows_origin(std::string_view origin) const {
    if (source != common::Source::browser) return false;
    if (origins.empty()) return true;
    for (const auto& allowed : origins)
        if (allowed == "*" || allowed == origin) return true;
    return false;
}

bool WriteKeyRing::any_browser_key_allows(std::string_view origin) const {
    for (const auto& key : keys_)
        if (key.allows_origin(origin)) return true;
    return false;
}

const WriteKey* WriteKeyRing::find(std::string_view key) const {
    const auto it = by_key_.find(std::string{key});
    return it == by_key_.end() ? nullptr : &keys_[it->second];
}

std::optional<std::string> write_key_from_authorization(std::string_view header) {
    constexpr std::string_view kScheme = "basic ";
    if (header.size() <= kScheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < kScheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
    auto credentials = header.substr(kScheme.size());
    while (!credentials.empty() && credentials.front() == ' ') credentials.remove_prefix(1);
    while (!credentials.empty() && credentials.back() == ' ') credentials.remove_suffix(1);
    const auto decoded = common::base64_decode(credentials);
    if (!decoded) return std::nullopt;
    const auto colon = decoded->find(':');
    return colon == std::string::npos ? *decoded : decoded->substr(0, colon);
}

}  // namespace funnelhouse::ingest
