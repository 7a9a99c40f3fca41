// The dashboard's pure parts: the query string, the statements, the answer's
// envelope and the page's files. No sockets, no database.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "funnelhouse/common/sha256.hpp"
#include "funnelhouse/dashboard/assets.hpp"
#include "funnelhouse/dashboard/error.hpp"
#include "funnelhouse/dashboard/query.hpp"
#include "funnelhouse/http/status.hpp"
#include "temp_dir.hpp"

using namespace funnelhouse;
using dashboard::parse_filter;

TEST(DashboardFilterTest, EmptyMeansEverything) {
    const auto parsed = parse_filter("");
    EXPECT_EQ(parsed.error, "");
    EXPECT_EQ(parsed.filter.from, "");
    EXPECT_EQ(parsed.filter.to, "");
    EXPECT_EQ(parsed.filter.dimension, "all");
    EXPECT_EQ(parsed.filter.segment, "");
    EXPECT_EQ(parsed.filter.limit, 25);
}

TEST(DashboardFilterTest, ReadsEveryParameterDecoded) {
    const auto parsed =
        parse_filter("from=2026-02-01&to=2026-02-28&segment=channel%3Ae-mail+news&limit=7");
    ASSERT_EQ(parsed.error, "");
    EXPECT_EQ(parsed.filter.from, "2026-02-01");
    EXPECT_EQ(parsed.filter.to, "2026-02-28");
    EXPECT_EQ(parsed.filter.dimension, "channel");
    EXPECT_EQ(parsed.filter.segment, "e-mail news");
    EXPECT_EQ(parsed.filter.limit, 7);
    EXPECT_EQ(parse_filter("segment=device_type:mobile").filter.dimension, "device_type");
    EXPECT_EQ(parse_filter("segment=all").filter.dimension, "all");
    EXPECT_EQ(parse_filter("from=&to=").error, "");        // empty values: no bound
    EXPECT_EQ(parse_filter("from=2024-02-29").error, "");  // a leap day
}

TEST(DashboardFilterTest, RefusesBadInputNamingTheParameter) {
    const std::pair<const char*, const char*> cases[] = {
        {"from=2026-13-01", "'from' must be a day written YYYY-MM-DD, got '2026-13-01'"},
        {"to=2026-02-30", "'to' must be a day written YYYY-MM-DD, got '2026-02-30'"},
        {"from=2025-02-29", "'from' must be a day written YYYY-MM-DD, got '2025-02-29'"},
        {"from=26-1-1", "'from' must be a day written YYYY-MM-DD, got '26-1-1'"},
        {"from=2026-03-01&to=2026-02-01", "'from' (2026-03-01) is after 'to' (2026-02-01)"},
        {"segment=country:de", "'segment' must be all, channel:<name> or device_type:<name>"},
        {"segment=channel", "'segment' must be all, channel:<name> or device_type:<name>"},
        {"segment=channel:", "'segment' names a channel of 1 to 200 printable characters"},
        {"segment=channel:%0A", "'segment' names a channel of 1 to 200 printable characters"},
        {"segment=channel:%FF", "'segment' names a channel of 1 to 200 printable characters"},
        {"limit=0", "'limit' must be a whole number from 1 to 1000"},
        {"limit=1001", "'limit' must be a whole number from 1 to 1000"},
        {"limit=2x", "'limit' must be a whole number from 1 to 1000"},
        {"form=2026-01-01",
         "unknown parameter 'form': use from, to (YYYY-MM-DD), segment and limit"},
        {"from=2026-01-01&from=2026-01-02", "parameter 'from' is given twice"},
        {"from=%2", "malformed percent-encoding in the query string"},
        {"from=%zz", "malformed percent-encoding in the query string"},
    };
    for (const auto& [query, message] : cases)
        EXPECT_EQ(parse_filter(query).error, message) << query;
    EXPECT_EQ(parse_filter("segment=channel:" + std::string(201, 'a')).error,
              "'segment' names a channel of 1 to 200 printable characters");
    EXPECT_EQ(parse_filter("segment=channel:" + std::string(200, 'a')).error, "");
}

TEST(DashboardFilterTest, PercentDecoding) {
    EXPECT_EQ(dashboard::percent_decode("a%20b+c%2B"), "a b c+");
    EXPECT_EQ(dashboard::percent_decode("%41%42"), "AB");
    EXPECT_FALSE(dashboard::percent_decode("%4"));
    EXPECT_FALSE(dashboard::percent_decode("%"));
    EXPECT_FALSE(dashboard::percent_decode("%g1"));
}

TEST(DashboardPanelTest, EveryPanelHasItsStatementAndEnvelope) {
    ASSERT_EQ(dashboard::panels().size(), 18u);
    EXPECT_EQ(dashboard::find_panel("nope"), nullptr);
    const auto& value = *dashboard::find_panel("value");
    EXPECT_EQ(dashboard::panel_sql(value),
              "SELECT coalesce(json_agg(r), '[]')::text FROM models.dashboard_value("
              "nullif($1, '')::date, nullif($2, '')::date, $3, nullif($4, '')) r");
    const auto& segments = *dashboard::find_panel("segments");
    EXPECT_NE(dashboard::panel_sql(segments).find(", $5::integer) r"), std::string::npos);
    auto filter = parse_filter("from=2026-01-01&segment=device_type:tablet&limit=3").filter;
    EXPECT_EQ(dashboard::panel_parameters(value, filter),
              (std::vector<std::string>{"2026-01-01", "", "device_type", "tablet"}));
    EXPECT_EQ(dashboard::panel_parameters(segments, filter),
              (std::vector<std::string>{"2026-01-01", "", "device_type", "tablet", "3"}));
    const auto body =
        nlohmann::json::parse(dashboard::panel_body(segments, filter, R"([{"a":1}])"));
    EXPECT_EQ(body, nlohmann::json::parse(R"({"panel":"segments","model":"models.cohort_ltv",
        "docs":"docs/dashboard.md#value-by-segment",
        "filter":{"from":"2026-01-01","to":null,"segment":"device_type:tablet","limit":3},
        "rows":[{"a":1}]})"));
    for (const auto& panel : dashboard::panels()) {
        // A model, the deliveries view (activation's outbox) or the alerts.
        EXPECT_TRUE(panel.model.substr(0, 7) == "models." || panel.model == "deliveries" ||
                    panel.model == "alerts")
            << panel.name;
        EXPECT_EQ(panel.docs.substr(0, 13), "dashboard.md#") << panel.name;
    }
}

TEST(DashboardPanelTest, ErrorsMapToStatuses) {
    EXPECT_EQ(http::http_status(dashboard::errc::invalid_filter), 400u);
    EXPECT_EQ(http::http_status(dashboard::errc::busy), 503u);
    EXPECT_EQ(http::http_status(dashboard::errc::database_unavailable), 503u);
    EXPECT_EQ(http::http_status(dashboard::errc::timed_out), 503u);
    EXPECT_EQ(http::http_status(dashboard::errc::query_failed), 500u);
    EXPECT_EQ(http::http_status(dashboard::errc::page_missing), 404u);
    EXPECT_EQ(http::http_status(dashboard::errc::token_needed), 403u);
    EXPECT_TRUE(http::worth_retrying(dashboard::errc::busy));
    EXPECT_FALSE(http::worth_retrying(dashboard::errc::invalid_filter));
}

TEST(DashboardAssetsTest, LoadsTheFolderAndServesOnlyItsFiles) {
    test::TempDir dir;
    dir.write("index.html", "<!doctype html>");
    dir.write("app.js", "'use strict';");
    dir.write("docs/analytics.html", "<h1>x</h1>");
    const auto assets = dashboard::Assets::load(dir.path());
    ASSERT_FALSE(assets.empty()) << assets.problem();
    const auto* index = assets.find("index.html");
    ASSERT_NE(index, nullptr);
    EXPECT_EQ(index->body, "<!doctype html>");
    EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(index->etag, "\"" + common::sha256_hex("<!doctype html>").substr(0, 32) + "\"");
    EXPECT_EQ(assets.find("app.js")->content_type, "text/javascript; charset=utf-8");
    EXPECT_NE(assets.find("docs/analytics.html"), nullptr);
    EXPECT_EQ(assets.find("../index.html"), nullptr);
    EXPECT_EQ(assets.find("docs/../index.html"), nullptr);
    EXPECT_EQ(assets.find("missing.js"), nullptr);
    EXPECT_EQ(dashboard::content_type_for("a.css"), "text/css; charset=utf-8");
    EXPECT_EQ(dashboard::content_type_for("a.bin"), "application/octet-stream");
}

TEST(DashboardAssetsTest, AFolderWithoutThePageSaysSo) {
    test::TempDir dir;
    dir.write("app.js", "x");
    const auto assets = dashboard::Assets::load(dir.path());
    EXPECT_TRUE(assets.empty());
    EXPECT_NE(assets.problem().find("no index.html in '" + dir.path().string() + "'"),
              std::string::npos)
        << assets.problem();
    EXPECT_TRUE(dashboard::Assets::load(dir.path() / "missing").empty());
}
