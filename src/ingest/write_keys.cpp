#include "funnelhouse/ingest/write_keys.hpp"

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
