// A payload the compiled rules show valid skips valijson: the rules must
// never call valid what valijson refuses. Checked on a simulated shop's
// payloads and on variants of each that break one thing at a time.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "funnelhouse/schema/registry.hpp"
#include "funnelhouse/simulate/shop.hpp"
#include "test_contracts.hpp"

using namespace funnelhouse;
using nlohmann::json;

namespace {

// The contract and payload of a shop message, if its contract is known.
const schema::Contract* contract_of(const json& message, json& payload) {
    const auto type = message.value("type", "");
    const std::string name = type == "track"      ? message.value("event", "")
                             : type == "page"     ? "page_view"
                             : type == "screen"   ? "screen_view"
                             : type == "identify" ? "identify"
                                                  : type;
    payload = message.value(type == "identify" || type == "group" ? "traits" : "properties",
                            json::object());
    return test::repository_contracts().newest(name);
}

// The payload's text, and variants of it that each change one thing.
std::vector<std::string> variants(const json& payload) {
    static const json kValues[] = {
        "",    std::string(400, 'x'), -1, 0, 2.5, 7, true, nullptr, json::array(), json::object(),
        "EUR", "a@b.example"};
    std::vector<std::string> out{payload.dump()};
    for (const auto& [key, value] : payload.items()) {
        for (const auto& replacement : kValues) {
            auto changed = payload;
            changed[key] = replacement;
            out.push_back(changed.dump());
        }
        auto without = payload;
        without.erase(key);
        out.push_back(without.dump());
        // The key again, last, with another value (and the other way round).
        auto text = payload.dump();
        text.pop_back();
        out.push_back(text + (payload.size() ? "," : "") + json(key).dump() + ":\"again\"}");
        out.push_back("{" + json(key).dump() + ":\"again\"," + payload.dump().substr(1));
    }
    auto extra = payload;
    extra["zz_not_in_the_contract"] = 1;
    out.push_back(extra.dump());
    return out;
}

std::string describe(const std::vector<schema::ValidationError>& errors) {
    std::string text;
    for (const auto& error : errors) text += error.path + ": " + error.message + "\n";
    return text;
}

}  // namespace

TEST(QuickRules, EveryRepositoryContractCompilesIntoThem) {
    for (const auto* contract : test::repository_contracts().all())
        EXPECT_TRUE(schema::has_quick_rules(*contract)) << contract->file;
}

TEST(QuickRules, NeverCallValidWhatValijsonRefuses) {
    simulate::ShopSettings shop;
    shop.persons = 60;
    shop.days = 20;
    shop.seed = 11;
    shop.end = *common::parse_timestamp("2026-03-01T12:00:00Z");
    simdjson::dom::parser parser;
    std::size_t valid = 0, refused = 0;
    for (const auto& message : simulate::generate_shop(shop)) {
        json payload;
        const auto* contract = contract_of(json::parse(message.json), payload);
        if (!contract) continue;
        for (const auto& text : variants(payload)) {
            const simdjson::padded_string padded{text};
            const auto value = parser.parse(padded).value();
            const auto thorough = schema::validate(*contract, value, "/properties",
                                                   schema::Validation::valijson_only);
            const auto quick = schema::validate(*contract, value, "/properties");
            ASSERT_EQ(describe(quick), describe(thorough)) << contract->name << " " << text;
            (thorough.empty() ? valid : refused)++;
        }
    }
    // Both answers were exercised many times.
    EXPECT_GT(valid, 1000u);
    EXPECT_GT(refused, 1000u);
}
