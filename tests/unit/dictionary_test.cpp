// The data dictionary (dictionary/): entries from the contracts, examples
// the contracts accept, what changed between versions, the facts, and the
// three renderings with their escaping.
#include "funnelhouse/dictionary/dictionary.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "funnelhouse/http/handlers.hpp"
#include "test_contracts.hpp"

using namespace funnelhouse;
using nlohmann::json;

namespace {

schema::Contract contract(const std::string& name, const std::string& version, json schema) {
    schema::Contract c;
    c.name = name;
    c.version = *schema::parse_schemaver(version);
    c.meta.value_class = "P2";
    c.meta.frequency = "every_time";
    c.meta.funnel_stage = "consideration";
    c.schema = std::move(schema);
    return c;
}

const dictionary::Entry& find(const std::vector<dictionary::Entry>& entries,
                              const std::string& name) {
    const auto it =
        std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.name == name; });
    if (it == entries.end()) throw std::runtime_error(name + " is not in the dictionary");
    return *it;
}

}  // namespace

TEST(Dictionary, EveryStarterContractHasAnEntryWhoseExampleItAccepts) {
    const auto entries = dictionary::entries(test::repository_contracts());
    std::set<std::string> names;
    for (const auto* c : test::repository_contracts().all()) names.insert(c->name);
    ASSERT_EQ(entries.size(), names.size());
    for (const auto& e : entries) {
        EXPECT_EQ(e.example_problem, "") << e.name << "\n" << e.example;
        EXPECT_FALSE(e.meta.description.empty()) << e.name;
    }
    // By funnel stage in the funnel's order, those without one last.
    std::vector<std::string> stages;
    for (const auto& e : entries)
        if (stages.empty() || stages.back() != e.meta.funnel_stage)
            stages.push_back(e.meta.funnel_stage);
    EXPECT_EQ(stages, (std::vector<std::string>{"awareness", "consideration", "intent", "purchase",
                                                "retention", ""}));
    const auto& order = find(entries, "order_completed");
    EXPECT_EQ(order.kind, "track");
    const auto example = json::parse(order.example);
    EXPECT_EQ(example["type"], "track");
    EXPECT_EQ(example["properties"]["currency"], "EUR");  // the contract's own example
    EXPECT_EQ(order.example.substr(0, 20), "{\n  \"type\": \"track\",");
    EXPECT_EQ(json::parse(find(entries, "identify").example)["type"], "identify");
    EXPECT_TRUE(json::parse(find(entries, "identify").example).contains("traits"));
}

TEST(Dictionary, PropertiesSayTypeRequiredValuesAndLimits) {
    const auto properties = dictionary::properties_of(json::parse(R"({
        "type": "object", "required": ["z_id"],
        "properties": {
            "a_kind": {"type": "string", "enum": ["a", "b"], "description": "Which."},
            "items": {"type": "array", "items": {"type": "object"}, "minItems": 1, "maxItems": 5},
            "price": {"type": "number", "minimum": 0},
            "code": {"type": "string", "minLength": 3, "maxLength": 3},
            "mail": {"type": ["string", "null"], "format": "email"},
            "z_id": {"type": "string", "minLength": 1, "maxLength": 100}}})"));
    ASSERT_EQ(properties.size(), 6u);
    EXPECT_EQ(properties[0].name, "z_id");  // required first
    EXPECT_TRUE(properties[0].required);
    EXPECT_EQ(properties[0].limits, "1 to 100 characters");
    const auto get = [&](const std::string& name) {
        return *std::find_if(properties.begin(), properties.end(),
                             [&](const auto& p) { return p.name == name; });
    };
    EXPECT_EQ(get("a_kind").allowed, (std::vector<std::string>{"\"a\"", "\"b\""}));
    EXPECT_EQ(get("a_kind").description, "Which.");
    EXPECT_EQ(get("items").type, "array of object");
    EXPECT_EQ(get("items").limits, "1 to 5 items");
    EXPECT_EQ(get("price").limits, "at least 0");
    EXPECT_EQ(get("code").limits, "exactly 3 characters");
    EXPECT_EQ(get("mail").type, "string or null");
    EXPECT_EQ(get("mail").limits, "format email");
}

TEST(Dictionary, ChangesBetweenVersionsAreSaidInWords) {
    const auto before = contract("e", "1-0-0", json::parse(R"({"type": "object",
        "required": ["id"], "properties": {"id": {"type": "string"}, "n": {"type": "integer"},
        "old": {"type": "string"}, "size": {"type": "string"}}})"));
    auto after = contract("e", "1-1-0", json::parse(R"({"type": "object",
        "required": ["id", "n"], "properties": {"id": {"type": "string", "maxLength": 9},
        "n": {"type": "number"}, "size": {"type": "string", "enum": ["EU"]},
        "added": {"type": "boolean"}}})"));
    after.meta.value_class = "P1";
    EXPECT_EQ(dictionary::changes(before, after),
              (std::vector<std::string>{"id: limits now at most 9 characters",
                                        "n: integer became number", "n: now required",
                                        "added added (boolean)", "size: allowed values now listed",
                                        "removed old", "declared value class P2 became P1"}));
    EXPECT_EQ(dictionary::changes(before, before),
              std::vector<std::string>{"no change to its properties or metadata"});
}

TEST(Dictionary, ExamplesStayWithinTheSchemasBounds) {
    const auto value = [](const char* schema) {
        return dictionary::example_value(json::parse(schema), true);
    };
    EXPECT_EQ(value(R"({"type": "integer", "minimum": 5})"), 5);
    EXPECT_EQ(value(R"({"type": "integer", "exclusiveMaximum": 0})"), -1);
    EXPECT_EQ(value(R"({"type": "string", "minLength": 10})"), "examplexxx");
    EXPECT_EQ(value(R"({"type": "string", "maxLength": 3})"), "exa");
    EXPECT_EQ(value(R"({"type": "string", "format": "email"})"), "person@example.com");
    EXPECT_EQ(value(R"({"type": "string", "enum": ["x", "y"]})"), "x");
    EXPECT_EQ(value(R"({"type": "string", "examples": ["EUR"]})"), "EUR");
    EXPECT_EQ(value(R"({"type": "array", "minItems": 2, "items": {"type": "boolean"}})"),
              json::parse("[true, true]"));
    EXPECT_EQ(dictionary::example_value(json::parse(R"({"type": "object", "required": ["a"],
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}})"),
                                        false),
              json::parse(R"({"a": "example"})"));
}

TEST(Dictionary, FactsComeFromThePanelsRows) {
    auto entries = dictionary::entries(test::repository_contracts());
    dictionary::add_facts(entries, R"([{"event_name": "search_used", "up_to": "2026-03-01",
        "events": 90, "rejected": 10, "reasons": {"unknown_schema_version": 1, "schema_violation": 9},
        "observed_class": "P2", "uplift": 4.5, "uplift_low": 1.25, "uplift_high": 7.75}])");
    const auto& search = find(entries, "search_used");
    ASSERT_TRUE(search.facts);
    EXPECT_EQ(search.facts->events, 90);
    EXPECT_EQ(search.facts->reasons.front().first, "schema_violation");  // most common first
    EXPECT_FALSE(find(entries, "add_to_cart").facts);
    const auto md = dictionary::markdown({search});
    EXPECT_NE(md.find("| Last 7 days | 90 events in the 7 days up to 2026-03-01; 10 rejected "
                      "(10.0%): schema_violation 9, unknown_schema_version 1 |"),
              std::string::npos)
        << md;
    EXPECT_NE(md.find("| Value class | declared P2, observed P2 (90-day gross profit per person "
                      "+4.50, 95% interval 1.25 to 7.75) |"),
              std::string::npos)
        << md;
    EXPECT_THROW(dictionary::add_facts(entries, "{}"), std::invalid_argument);
}

TEST(Dictionary, RenderingsEscapeWhatTheyMustAndKeepOneRowPerProperty) {
    dictionary::Entry e;
    e.name = "odd_event";
    e.kind = "track";
    e.version = "1-0-0";
    e.meta.description = "A <script>alert(1)</script> | \"quoted\", with a comma";
    e.meta.funnel_stage = "intent";
    e.properties = {{"a", "string", true, {}, "", "line\nbreak"},
                    {"b|c", "integer", false, {}, "", ""}};
    e.versions = {{"1-0-0", {"first version"}}};
    e.example = R"({"type": "track"})";
    const auto html = dictionary::html_fragment({e});
    EXPECT_EQ(html.find("<script>"), std::string::npos);
    EXPECT_NE(html.find("A &lt;script&gt;alert(1)&lt;/script&gt; | &quot;quoted&quot;"),
              std::string::npos);
    EXPECT_NE(html.find("<section class=\"stage\" id=\"stage-intent\">"), std::string::npos);
    const auto md = dictionary::markdown({e});
    EXPECT_NE(md.find("| `b\\|c` | integer | no |"), std::string::npos) << md;
    EXPECT_NE(md.find("| line break |"), std::string::npos) << md;
    const auto csv = dictionary::csv({e});
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'),
              4);  // header, two properties, one in a field
    EXPECT_NE(csv.find("\"A <script>alert(1)</script> | \"\"quoted\"\", with a comma\""),
              std::string::npos);
    // An event without properties still has its row, with every column.
    e.properties.clear();
    const auto bare = dictionary::csv({e});
    const auto last = bare.substr(bare.find("\r\n") + 2);
    EXPECT_EQ(std::count(last.begin(), last.end(), ','),
              18 + 1);  // 19 columns; 1 comma in a quoted field
}

TEST(Dictionary, ThePagesAnswerIsTheFragmentWithTheFacts) {
    const auto answer = http::dictionary_answer(
        test::repository_contracts(),
        R"({"panel": "dictionary", "rows": [{"event_name": "add_to_cart", "events": 12, "rejected": 3}]})");
    EXPECT_EQ(answer.status, 200u);
    EXPECT_EQ(answer.content_type, "text/html; charset=utf-8");
    EXPECT_NE(answer.body.find("data-event=\"add_to_cart\" data-events=\"12\" data-rejected=\"3\""),
              std::string::npos);
    EXPECT_EQ(http::dictionary_answer(test::repository_contracts(), "not json").status, 500u);
}
