// End-to-end: the real binary's commands.
#include <gtest/gtest.h>

#include "funnelhouse/ingest/request.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "process.hpp"
#include "sample_events.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

using namespace funnelhouse;

namespace {

test::Env with_repo(const test::Env& extra = {}) {
    test::Env env{{"FUNNELHOUSE_SCHEMAS_DIR", (test::source_dir() / "schemas").string()},
                  {"FUNNELHOUSE_MIGRATIONS_DIR", (test::source_dir() / "migrations").string()},
                  {"FUNNELHOUSE_MODELS_DIR", (test::source_dir() / "models").string()}};
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST(Cli, MigrateTwiceIsANoOp) {
    test::TestSchema schema;
    const auto env = with_repo({{"FUNNELHOUSE_DATABASE_URL", schema.url()}});
    const auto first = test::run_funnelhouse({"migrate"}, env);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_TRUE(contains(first.out, "applied 0001_events.sql")) << first.out;
    const auto second = test::run_funnelhouse({"migrate"}, env);
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_TRUE(contains(second.out, "0 applied, 12 already applied")) << second.out;
}

TEST(Cli, MigrateRefusesAChangedMigration) {
    test::TestSchema schema;
    test::TempDir dir;
    dir.write("0001_first.sql", "CREATE TABLE a (id int);");
    const auto env = with_repo({{"FUNNELHOUSE_DATABASE_URL", schema.url()},
                                {"FUNNELHOUSE_MIGRATIONS_DIR", dir.path().string()}});
    ASSERT_EQ(test::run_funnelhouse({"migrate"}, env).exit_code, 0);
    dir.write("0001_first.sql", "CREATE TABLE a (id bigint);");
    const auto changed = test::run_funnelhouse({"migrate"}, env);
    EXPECT_EQ(changed.exit_code, 1);
    EXPECT_TRUE(contains(changed.err, "0001_first.sql was changed after it was applied"))
        << changed.err;
}

TEST(Cli, ValidatePrintsEveryErrorAndFailsOnInvalidEvents) {
    test::TempDir dir;
    const auto file = dir.write("events.json", R"({"batch":[
        {"type":"track","messageId":"ok-1","event":"add_to_cart","anonymousId":"a","properties":{"product_id":"p"}},
        {"type":"track","messageId":"bad-1","event":"order_completed","userId":"u","properties":{"order_id":"A","revenue":-1}},
        {"type":"track","messageId":"bad-2","event":"mystery","anonymousId":"a"}]})");
    const auto result = test::run_funnelhouse({"validate", file.string()}, with_repo());
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_TRUE(contains(result.out, "message 1 (bad-1) order_completed: schema_violation"))
        << result.out;
    EXPECT_TRUE(contains(result.out, "  /properties/revenue: ")) << result.out;
    EXPECT_TRUE(contains(result.out, "  /properties: ")) << result.out;  // currency is missing
    EXPECT_TRUE(contains(result.out, "message 2 (bad-2) mystery: unknown_event")) << result.out;
    EXPECT_TRUE(contains(result.out, "1 valid, 2 invalid")) << result.out;
}

TEST(Cli, ValidateReadsStdinAndNdjson) {
    const auto ok = test::run_funnelhouse({"validate", "-"}, with_repo(),
                                          "{\"type\":\"page\",\"anonymousId\":\"a\",\"properties\":"
                                          "{\"path\":\"/\"}}\n{\"type\":\"track\",\"event\":"
                                          "\"wishlist_added\",\"userId\":\"u\","
                                          "\"properties\":{\"product_id\":\"p\"}}\n");
    EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
    EXPECT_TRUE(contains(ok.out, "2 valid, 0 invalid")) << ok.out;

    const auto unreadable = test::run_funnelhouse({"validate", "/no/such/file.json"}, with_repo());
    EXPECT_EQ(unreadable.exit_code, 2);
    EXPECT_TRUE(contains(unreadable.err, "cannot read '/no/such/file.json'")) << unreadable.err;
}

TEST(Cli, SchemasLintNamesEachOffendingFile) {
    const auto clean = test::run_funnelhouse({"schemas", "lint"}, with_repo());
    EXPECT_EQ(clean.exit_code, 0) << clean.out;

    test::TempDir dir;
    dir.write("add_to_cart/1-0-0.json",
              test::contract_text("add_to_cart", "1-0-0",
                                  R"({"type":"object","properties":{"sku":{"type":"string"}}})"));
    dir.write(
        "add_to_cart/1-0-1.json",
        test::contract_text(
            "add_to_cart", "1-0-1",
            R"({"type":"object","properties":{"sku":{"type":"string"}},"required":["sku"]})"));
    dir.write("coupon_applied/1-0-0.json",
              test::contract_text("coupon_used", "1-0-0", R"({"type":"object"})"));
    const auto broken = test::run_funnelhouse(
        {"schemas", "lint", "--schemas-dir", dir.path().string()}, with_repo());
    EXPECT_EQ(broken.exit_code, 1);
    EXPECT_TRUE(contains(broken.out,
                         "add_to_cart/1-0-1.json: ADDITION bump from 1-0-0 is not backward "
                         "compatible: it adds required property 'sku'"))
        << broken.out;
    EXPECT_TRUE(contains(broken.out, "coupon_applied/1-0-0.json: 'self.name' is 'coupon_used'"))
        << broken.out;
    EXPECT_TRUE(contains(broken.out, "2 problem(s)")) << broken.out;
}

TEST(Cli, ReprocessLoadsWhatTodaysSchemasAccept) {
    test::TestSchema schema;
    schema.migrate();
    // Stored while the contract was stricter than the repository's current one.
    test::TempDir strict;
    strict.write("add_to_cart/1-0-0.json",
                 test::contract_text("add_to_cart", "1-0-0",
                                     R"({"type":"object","required":["product_id","gift_wrap"]})"));
    const auto keys = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"web","key":"k","source":"browser"}])", "t");
    const std::string body =
        R"({"type":"track","messageId":"r-1","event":"add_to_cart","anonymousId":"a","properties":{"product_id":"p"}})";
    const auto outcome =
        ingest::process_request({"/v1/track", body, "Basic aw==", common::now()}, keys,
                                schema::SchemaRegistry::load(strict.path()), {});
    ASSERT_EQ(outcome.bad_events.size(), 1u);
    {
        auto connection = schema.connect();
        loader::prepare_staging(*connection);
        loader::write_batch(*connection, {}, {&outcome.bad_events[0]});
    }
    const auto env = with_repo({{"FUNNELHOUSE_DATABASE_URL", schema.url()}});
    const auto first = test::run_funnelhouse({"reprocess"}, env);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_TRUE(contains(first.out, "examined 1, loaded 1, still rejected 0")) << first.out;
    const auto second = test::run_funnelhouse({"reprocess"}, env);
    EXPECT_TRUE(contains(second.out, "examined 0, loaded 0, still rejected 0")) << second.out;
    EXPECT_EQ(schema.scalar("SELECT event_id || ' ' || event_type || ' ' || source FROM events"),
              "r-1 track browser");
}

TEST(Cli, BadConfigurationStopsStartupNamingTheSetting) {
    const auto listen =
        test::run_funnelhouse({"serve"}, with_repo({{"FUNNELHOUSE_LISTEN", "everywhere"}}));
    EXPECT_EQ(listen.exit_code, 2);
    EXPECT_TRUE(contains(listen.err, "FUNNELHOUSE_LISTEN 'everywhere'")) << listen.err;

    const auto keys = test::run_funnelhouse(
        {"serve"}, with_repo({{"FUNNELHOUSE_DATABASE_URL", "postgresql://127.0.0.1:1/x"},
                              {"FUNNELHOUSE_KEYS_FILE", "/no/keys.json"}}));
    EXPECT_NE(keys.exit_code, 0);
    EXPECT_TRUE(contains(keys.err, "keys file '/no/keys.json' cannot be read")) << keys.err;

    const auto unknown = test::run_funnelhouse({"serve", "--turbo"}, with_repo());
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_TRUE(contains(unknown.err, "unknown option --turbo")) << unknown.err;
}

TEST(Cli, HelpListsEverySetting) {
    const auto help = test::run_funnelhouse({"serve", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    for (const char* name :
         {"FUNNELHOUSE_DATABASE_URL", "FUNNELHOUSE_LISTEN", "FUNNELHOUSE_SCHEMAS_DIR",
          "FUNNELHOUSE_KEYS_FILE", "FUNNELHOUSE_MAX_EVENT_BYTES", "--batch-max-delay-ms"})
        EXPECT_TRUE(contains(help.out, name)) << name;
}

TEST(Cli, ServeRefusesADatabaseThatIsNotMigrated) {
    test::TestSchema schema;  // reachable, but no tables
    test::TempDir dir;
    const auto keys = dir.write("keys.json", R"([{"name":"web","key":"k","source":"browser"}])");
    const auto result =
        test::run_funnelhouse({"serve"}, with_repo({{"FUNNELHOUSE_DATABASE_URL", schema.url()},
                                                    {"FUNNELHOUSE_KEYS_FILE", keys.string()},
                                                    {"FUNNELHOUSE_LISTEN", "127.0.0.1:0"}}));
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_TRUE(contains(result.err, "0 of 12 migrations applied: run `funnelhouse migrate` first"))
        << result.err;
}

TEST(Cli, DictionaryWritesTheContractsAndWithADatabaseTheirFacts) {
    // The contracts alone.
    const auto alone = with_repo({{"FUNNELHOUSE_DATABASE_URL", ""}});
    const auto csv = test::run_funnelhouse({"dictionary", "--format", "csv"}, alone);
    ASSERT_EQ(csv.exit_code, 0) << csv.err;
    EXPECT_EQ(csv.out.substr(0, csv.out.find("\r\n")),
              "event,kind,funnel_stage,version,description,owner,frequency,sources,"
              "personal_data,declared_class,observed_class,events_7d,rejected_7d,property,type,"
              "required,allowed_values,limits,property_description");
    EXPECT_TRUE(contains(csv.out, "\r\nadd_to_cart,track,intent,1-0-0,")) << csv.out;
    const auto html = test::run_funnelhouse({"dictionary"}, alone);
    ASSERT_EQ(html.exit_code, 0) << html.err;
    EXPECT_EQ(html.out.rfind("<!doctype html>", 0), 0u);
    EXPECT_TRUE(contains(html.out, "<section class=\"stage\" id=\"stage-intent\">"));
    const auto wrong = test::run_funnelhouse({"dictionary", "--format", "xml"}, alone);
    EXPECT_EQ(wrong.exit_code, 2);
    EXPECT_TRUE(contains(wrong.err, "--format 'xml': must be html, md or csv")) << wrong.err;

    // With a database: its models must be built, and their facts come in.
    test::TestSchema schema;
    schema.migrate();
    const auto env = with_repo({{"FUNNELHOUSE_DATABASE_URL", schema.url()}});
    const auto early = test::run_funnelhouse({"dictionary", "--format", "md"}, env);
    EXPECT_NE(early.exit_code, 0);
    EXPECT_TRUE(contains(early.err, "run `funnelhouse refresh` first")) << early.err;
    {
        auto connection = schema.connect();
        loader::prepare_staging(*connection);
        auto event = test::sample_event("cart-1", R"({"product_id":"p1"})");
        event.event_name = "add_to_cart";
        loader::write_batch(*connection, {&event}, {});
    }
    ASSERT_EQ(test::run_funnelhouse({"refresh"}, env).exit_code, 0);
    const auto md = test::run_funnelhouse({"dictionary", "--format", "md"}, env);
    ASSERT_EQ(md.exit_code, 0) << md.err;
    const auto day = schema.scalar("SELECT max(day) FROM models.tracking_health");
    EXPECT_TRUE(contains(md.out, "### add_to_cart (track, version 1-0-0)")) << md.out;
    EXPECT_TRUE(contains(
        md.out, "| Last 7 days | 1 events in the 7 days up to " + day + "; 0 rejected (0.0%) |"))
        << md.out;
}
