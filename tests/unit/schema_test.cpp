#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "funnelhouse/schema/lint.hpp"
#include "funnelhouse/schema/registry.hpp"
#include "funnelhouse/schema/schemaver.hpp"
#include "temp_dir.hpp"

using namespace funnelhouse::schema;
using funnelhouse::test::contract_text;
using funnelhouse::test::TempDir;

namespace {

// Validates `value` as ingest does: parsed with simdjson.
std::vector<ValidationError> validate_json(const Contract& contract, const nlohmann::json& value,
                                           std::string_view base) {
    simdjson::dom::parser parser;
    const simdjson::padded_string text{value.dump()};
    return validate(contract, parser.parse(text).value(), base);
}

}  // namespace

namespace {

const std::string kCartV1 =
    R"({"type":"object","properties":{"product_id":{"type":"string"},"price":{"type":"number","minimum":0}},"required":["product_id"]})";

bool has_finding(const std::vector<LintFinding>& findings, const std::string& file_part,
                 const std::string& message_part) {
    return std::any_of(findings.begin(), findings.end(), [&](const LintFinding& f) {
        return f.file.string().find(file_part) != std::string::npos &&
               f.message.find(message_part) != std::string::npos;
    });
}

}  // namespace

TEST(SchemaVer, ParsesAndOrders) {
    const auto v = parse_schemaver("2-1-10");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->model, 2);
    EXPECT_EQ(v->revision, 1);
    EXPECT_EQ(v->addition, 10);
    EXPECT_EQ(v->to_string(), "2-1-10");
    EXPECT_LT(*parse_schemaver("1-0-9"), *parse_schemaver("1-0-10"));
    EXPECT_LT(*parse_schemaver("1-9-9"), *parse_schemaver("2-0-0"));
}

TEST(SchemaVer, RejectsMalformedVersions) {
    for (const char* bad : {"0-0-0", "1-0", "1.0.0", "01-0-0", "1-0-0-0", "a-b-c", "1--0", ""})
        EXPECT_FALSE(parse_schemaver(bad).has_value()) << bad;
}

TEST(SchemaVer, ParsesPinnedReferences) {
    const auto ref = parse_schema_ref("add_to_cart/1-0-2");
    ASSERT_TRUE(ref.has_value());
    EXPECT_EQ(ref->name, "add_to_cart");
    EXPECT_EQ(ref->version.to_string(), "1-0-2");
    EXPECT_FALSE(parse_schema_ref("Add To Cart/1-0-0").has_value());
    EXPECT_FALSE(parse_schema_ref("add_to_cart").has_value());
}

TEST(Registry, PicksNewestAndFindsPinnedVersions) {
    TempDir dir;
    dir.write("add_to_cart/1-0-0.json", contract_text("add_to_cart", "1-0-0", kCartV1));
    dir.write(
        "add_to_cart/1-0-1.json",
        contract_text(
            "add_to_cart", "1-0-1",
            R"({"type":"object","properties":{"product_id":{"type":"string"},"price":{"type":"number","minimum":0},"coupon":{"type":"string"}},"required":["product_id"]})"));
    dir.write(
        "add_to_cart/1-0-10.json",
        contract_text(
            "add_to_cart", "1-0-10",
            R"({"type":"object","properties":{"product_id":{"type":"string"},"price":{"type":"number","minimum":0},"coupon":{"type":"string"}},"required":["product_id"]})"));
    const auto registry = SchemaRegistry::load(dir.path());
    EXPECT_EQ(registry.size(), 3u);
    ASSERT_NE(registry.newest("add_to_cart"), nullptr);
    EXPECT_EQ(registry.newest("add_to_cart")->version.to_string(), "1-0-10");
    ASSERT_NE(registry.find("add_to_cart", *parse_schemaver("1-0-1")), nullptr);
    EXPECT_EQ(registry.find("add_to_cart", *parse_schemaver("1-0-2")), nullptr);
    EXPECT_EQ(registry.newest("order_completed"), nullptr);
}

TEST(Registry, LoadFailsNamingTheBadFile) {
    TempDir dir;
    dir.write("add_to_cart/1-0-0.json", contract_text("add_to_cart", "1-0-0", kCartV1));
    dir.write("wishlist_added/1-0-0.json", "{not json");
    try {
        SchemaRegistry::load(dir.path());
        FAIL() << "expected an error";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("wishlist_added/1-0-0.json: is not a JSON object"),
                  std::string::npos)
            << error.what();
    }
}

TEST(Validate, ReportsPathsAsJsonPointers) {
    TempDir dir;
    dir.write("add_to_cart/1-0-0.json", contract_text("add_to_cart", "1-0-0", kCartV1));
    const auto registry = SchemaRegistry::load(dir.path());
    const auto& contract = *registry.newest("add_to_cart");

    EXPECT_TRUE(
        validate_json(contract, {{"product_id", "p1"}, {"price", 3.5}}, "/properties").empty());

    const auto wrong_price =
        validate_json(contract, {{"product_id", "p1"}, {"price", -1}}, "/properties");
    ASSERT_EQ(wrong_price.size(), 1u);
    EXPECT_EQ(wrong_price[0].path, "/properties/price");

    const auto missing = validate_json(contract, {{"price", "free"}}, "/properties");
    ASSERT_EQ(missing.size(), 2u);
    const bool names_required = std::any_of(missing.begin(), missing.end(), [](const auto& e) {
        return e.path == "/properties" && e.message.find("product_id") != std::string::npos;
    });
    const bool names_type = std::any_of(missing.begin(), missing.end(), [](const auto& e) {
        return e.path == "/properties/price";
    });
    EXPECT_TRUE(names_required);
    EXPECT_TRUE(names_type);
}

TEST(Lint, StarterContractsAreClean) {
    const auto findings = lint_schemas(funnelhouse::test::source_dir() / "schemas");
    for (const auto& finding : findings) ADD_FAILURE() << finding.file << ": " << finding.message;
    const auto registry = SchemaRegistry::load(funnelhouse::test::source_dir() / "schemas");
    EXPECT_EQ(registry.size(), 24u);
    const auto* order = registry.newest("order_completed");
    ASSERT_NE(order, nullptr);
    EXPECT_EQ(order->meta.sources,
              std::vector<funnelhouse::common::Source>{funnelhouse::common::Source::server});
}

TEST(Lint, RefusesPathThatDisagreesWithMetadata) {
    TempDir dir;
    dir.write("add_to_cart/1-0-0.json", contract_text("wishlist_added", "1-0-0", kCartV1));
    dir.write("add_to_cart/1-0-1.json", contract_text("add_to_cart", "1-0-2", kCartV1));
    const auto findings = lint_schemas(dir.path());
    EXPECT_TRUE(has_finding(findings, "add_to_cart/1-0-0.json", "'self.name' is 'wishlist_added'"));
    EXPECT_TRUE(has_finding(findings, "add_to_cart/1-0-1.json", "'self.version' is '1-0-2'"));
}

TEST(Lint, RefusesSchemaThatDoesNotCompile) {
    TempDir dir;
    dir.write(
        "add_to_cart/1-0-0.json",
        contract_text("add_to_cart", "1-0-0", R"({"type":"object","minProperties":"three"})"));
    const auto findings = lint_schemas(dir.path());
    EXPECT_TRUE(has_finding(findings, "add_to_cart/1-0-0.json", "does not compile"));
}

TEST(Lint, RefusesIncompatibleAdditionBumps) {
    TempDir dir;
    dir.write("add_to_cart/1-0-0.json", contract_text("add_to_cart", "1-0-0", kCartV1));
    // New required property.
    dir.write(
        "add_to_cart/1-0-1.json",
        contract_text(
            "add_to_cart", "1-0-1",
            R"({"type":"object","properties":{"product_id":{"type":"string"},"price":{"type":"number"},"currency":{"type":"string"}},"required":["product_id","currency"]})"));
    const auto added_required = lint_schemas(dir.path());
    EXPECT_TRUE(has_finding(added_required, "1-0-1.json", "adds required property 'currency'"));

    // Removed property and changed type.
    dir.write(
        "add_to_cart/1-0-1.json",
        contract_text(
            "add_to_cart", "1-0-1",
            R"({"type":"object","properties":{"product_id":{"type":"integer"}},"required":["product_id"]})"));
    const auto changed = lint_schemas(dir.path());
    EXPECT_TRUE(has_finding(changed, "1-0-1.json", "removes property 'price'"));
    EXPECT_TRUE(has_finding(changed, "1-0-1.json", "changes the type of 'product_id'"));

    // The same change as a MODEL bump is allowed.
    std::filesystem::remove(dir.path() / "add_to_cart/1-0-1.json");
    dir.write(
        "add_to_cart/2-0-0.json",
        contract_text(
            "add_to_cart", "2-0-0",
            R"({"type":"object","properties":{"product_id":{"type":"integer"}},"required":["product_id"]})"));
    EXPECT_TRUE(lint_schemas(dir.path()).empty());
}

TEST(Lint, TrackEventsDeclareTheirFunnelStage) {
    TempDir dir;
    auto staged = contract_text("add_to_cart", "1-0-0", kCartV1);
    const auto stage = std::string(R"("funnel_stage":"consideration",)");
    auto unstaged = staged;
    unstaged.erase(unstaged.find(stage), stage.size());
    dir.write("add_to_cart/1-0-0.json", unstaged);
    // The calls with contracts of their own need none.
    auto page = contract_text("page_view", "1-0-0", R"({"type":"object"})");
    page.erase(page.find(stage), stage.size());
    dir.write("page_view/1-0-0.json", page);
    const auto findings = lint_schemas(dir.path());
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_TRUE(has_finding(findings, "add_to_cart/1-0-0.json",
                            "'meta.funnel_stage' is required of track events: one of awareness, "
                            "consideration, intent, purchase, retention"));
    // A stage outside the five is refused when the contract loads.
    auto wrong = staged;
    wrong.replace(wrong.find("consideration"), 13, "browsing");
    dir.write("add_to_cart/1-0-0.json", wrong);
    EXPECT_TRUE(has_finding(lint_schemas(dir.path()), "add_to_cart/1-0-0.json",
                            "'meta.funnel_stage' must be one of awareness, consideration, intent, "
                            "purchase, retention"));
    dir.write("add_to_cart/1-0-0.json", staged);
    EXPECT_TRUE(lint_schemas(dir.path()).empty());
    EXPECT_TRUE(is_track_event("add_to_cart"));
    EXPECT_FALSE(is_track_event("identify"));
}

TEST(Lint, AllowsCompatibleAdditionBumps) {
    const auto older = nlohmann::json::parse(kCartV1);
    const auto newer = nlohmann::json::parse(
        R"({"type":"object","properties":{"product_id":{"type":"string"},"price":{"type":["number","null"]},"coupon":{"type":"string"}},"required":["product_id"]})");
    EXPECT_TRUE(addition_incompatibilities(older, newer).empty());
}

TEST(Validate, KeepsParentLevelErrorsAndTidiesNumbers) {
    TempDir dir;
    dir.write(
        "order_completed/1-0-0.json",
        contract_text(
            "order_completed", "1-0-0",
            R"({"type":"object","properties":{"revenue":{"type":"number","minimum":0.5},"items":{"type":"array","items":{"type":"object","required":["sku"]}}},"required":["currency"]})"));
    const auto registry = SchemaRegistry::load(dir.path());
    const auto errors = validate_json(
        *registry.newest("order_completed"),
        nlohmann::json::parse(R"({"revenue":0.25,"items":[{"sku":"a"},{}]})"), "/properties");
    ASSERT_EQ(errors.size(), 3u);
    std::map<std::string, std::string> by_path;
    for (const auto& e : errors) by_path[e.path] = e.message;
    EXPECT_EQ(by_path["/properties"], "Missing required property 'currency'.");
    EXPECT_EQ(by_path["/properties/revenue"], "Expected number greater than or equal to 0.5");
    EXPECT_EQ(by_path["/properties/items/1"], "Missing required property 'sku'.");
}
