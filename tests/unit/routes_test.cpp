#include "funnelhouse/http/routes.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "funnelhouse/dashboard/query.hpp"
#include "funnelhouse/http/error.hpp"
#include "funnelhouse/http/handlers.hpp"
#include "funnelhouse/ingest/write_keys.hpp"
#include "funnelhouse/spool/error.hpp"

using namespace funnelhouse;
using http::Access;
using http::Cors;
using http::Method;
using http::Served;

namespace {

// The value of a header an answer sets, or "" when it sets none.
std::string header(const http::Outgoing& outgoing, std::string_view field) {
    for (const auto& [name, value] : outgoing.headers)
        if (name == field) return value;
    return {};
}

}  // namespace

TEST(RouteTable, EachPathFindsItsRouteWithItsPolicies) {
    const auto* track = http::match_route("/v1/track");
    ASSERT_NE(track, nullptr);
    EXPECT_EQ(track->served, Served::main);
    EXPECT_EQ(track->method, Method::post);
    EXPECT_EQ(track->cors, Cors::shop);
    EXPECT_EQ(track->access, Access::open);
    EXPECT_TRUE(track->ingest);
    EXPECT_NE(track->preflight, nullptr);
    EXPECT_STREQ(track->allow, "POST, OPTIONS");
    EXPECT_EQ(http::match_route("/v1/batch"), track);

    const auto* tracker = http::match_route("/funnelhouse.js");
    ASSERT_NE(tracker, nullptr);
    EXPECT_EQ(tracker->served, Served::everywhere);
    EXPECT_EQ(tracker->cors, Cors::anyone);
    EXPECT_EQ(tracker->preflight, nullptr);

    const auto* metrics = http::match_route("/metrics");
    ASSERT_NE(metrics, nullptr);
    EXPECT_EQ(metrics->served, Served::admin);
    EXPECT_EQ(metrics->access, Access::admin_token);
    EXPECT_EQ(metrics->cors, Cors::nobody);

    const auto* panel = http::match_route("/api/dashboard/anything");
    ASSERT_NE(panel, nullptr);
    EXPECT_EQ(panel->access, Access::admin_token_or_loopback);

    EXPECT_EQ(http::match_route("/healthz"), http::match_route("/readyz"));
    EXPECT_EQ(http::match_route("/dashboard"), http::match_route("/dashboard/app.js"));
    EXPECT_EQ(http::match_route("/v1/nothing"), nullptr);
    EXPECT_EQ(http::match_route("/"), nullptr);
    EXPECT_EQ(http::match_route("/dashboardx"), nullptr);
}

// Labels stay few whatever clients ask for: the page's files are one
// series, unknown panels are "other".
TEST(RouteTable, MetricsLabelsAreBounded) {
    const auto* page = http::match_route("/dashboard/some/file.js");
    ASSERT_NE(page, nullptr);
    EXPECT_EQ(page->label("/dashboard/some/file.js"), "/dashboard");
    const std::string known = "/api/dashboard/" + std::string{dashboard::panels().front().name};
    const auto* panel = http::match_route(known);
    ASSERT_NE(panel, nullptr);
    EXPECT_EQ(panel->label(known), known);
    EXPECT_EQ(panel->label("/api/dashboard/x1"), "other");
    EXPECT_EQ(http::match_route("/v1/identify")->label("/v1/identify"), "/v1/identify");
}

TEST(RouteTable, PathDropsTheQuery) {
    EXPECT_EQ(http::path_of("/api/dashboard/ltv?from=2026-01-01"), "/api/dashboard/ltv");
    EXPECT_EQ(http::path_of("/v1/track"), "/v1/track");
    EXPECT_EQ(http::path_of("/?"), "/");
}

TEST(RouteTable, EachRouteIsServedWhereItsPolicySays) {
    const auto& ingest = *http::match_route("/v1/track");
    const auto& admin = *http::match_route("/metrics");
    const auto& everywhere = *http::match_route("/healthz");
    // Without an admin listener, the main one serves everything.
    EXPECT_TRUE(http::served_on(ingest, false, false));
    EXPECT_TRUE(http::served_on(admin, false, false));
    // With one, admin routes move there and ingest stays on the main one.
    EXPECT_TRUE(http::served_on(ingest, false, true));
    EXPECT_FALSE(http::served_on(ingest, true, true));
    EXPECT_FALSE(http::served_on(admin, false, true));
    EXPECT_TRUE(http::served_on(admin, true, true));
    EXPECT_TRUE(http::served_on(everywhere, false, true));
    EXPECT_TRUE(http::served_on(everywhere, true, true));
}

TEST(RouteAccess, AdminRoutesNeedTheTokenWhenOneIsSet) {
    const auto& metrics = *http::match_route("/metrics");
    EXPECT_FALSE(http::refuse_access(metrics, "s3cret", "Bearer s3cret", false));
    for (const std::string_view wrong : {"", "Bearer s3cre", "Bearer s3cret!", "Basic s3cret",
                                         "bearer s3cret", "Bearer S3CRET"}) {
        const auto refused = http::refuse_access(metrics, "s3cret", wrong, true);
        ASSERT_TRUE(refused) << wrong;
        EXPECT_EQ(refused->status, 401u);
        EXPECT_EQ(header(*refused, "WWW-Authenticate"), "Bearer realm=\"funnelhouse\"");
        EXPECT_NE(refused->body.find("FUNNELHOUSE_ADMIN_TOKEN"), std::string::npos);
    }
    // Without a token, /metrics is open, as Prometheus expects.
    EXPECT_FALSE(http::refuse_access(metrics, "", "", false));
    EXPECT_FALSE(http::refuse_access(*http::match_route("/v1/track"), "s3cret", "", false));
}

TEST(RouteAccess, BusinessNumbersWithoutATokenStayOnLoopback) {
    const auto& panel = *http::match_route("/api/dashboard/ltv");
    EXPECT_FALSE(http::refuse_access(panel, "", "", true));
    const auto refused = http::refuse_access(panel, "", "", false);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403u);
    EXPECT_NE(refused->body.find("FUNNELHOUSE_ADMIN_TOKEN"), std::string::npos);
    EXPECT_FALSE(http::refuse_access(panel, "t", "Bearer t", false));
}

TEST(Answers, RefusalsCarryTheirStatusAndRetryAfter) {
    const auto full = http::refusal(spool::errc::spool_full, "the spool is full");
    EXPECT_EQ(full.status, 503u);
    EXPECT_EQ(header(full, "Retry-After"), "5");
    EXPECT_NE(full.body.find("the spool is full"), std::string::npos);
    EXPECT_FALSE(full.close);

    const auto missing = http::refusal(http::errc::not_found, "no such route: /x");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_EQ(header(missing, "Retry-After"), "");

    const auto limited = http::rate_refusal(http::RateLimits::Refusal{
        std::chrono::seconds{3}, "write key 'web'", "FUNNELHOUSE_RATE_LIMIT_KEY", 2.5, "rate_key"});
    EXPECT_EQ(limited.status, 429u);
    EXPECT_EQ(header(limited, "Retry-After"), "3");
    EXPECT_TRUE(limited.close);
    EXPECT_NE(limited.body.find("write key 'web' (FUNNELHOUSE_RATE_LIMIT_KEY = 2.5 per second)"),
              std::string::npos)
        << limited.body;
}

TEST(Answers, PreflightAllowsOnlyOriginsABrowserKeyAllows) {
    const auto keys = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"web","key":"wk","source":"browser","origins":["https://shop.example"]},
            {"name":"api","key":"sk","source":"server"}])",
        "keys");
    const auto allowed = http::preflight_answer(keys, "https://shop.example", "");
    EXPECT_EQ(allowed.status, 204u);
    EXPECT_EQ(header(allowed, "Access-Control-Allow-Methods"), "POST, OPTIONS");
    EXPECT_EQ(header(allowed, "Access-Control-Allow-Headers"),
              "Authorization, Content-Type, Content-Encoding");
    EXPECT_EQ(header(allowed, "Access-Control-Max-Age"), "600");
    EXPECT_EQ(header(http::preflight_answer(keys, "https://shop.example", "AnonymousId"),
                     "Access-Control-Allow-Headers"),
              "AnonymousId");

    const auto other = http::preflight_answer(keys, "https://evil.example", "");
    EXPECT_EQ(other.status, 403u);
    EXPECT_NE(other.body.find("https://evil.example"), std::string::npos);
    EXPECT_EQ(header(other, "Access-Control-Allow-Methods"), "");
    const auto none = http::preflight_answer(keys, "", "");
    EXPECT_EQ(none.status, 403u);
    EXPECT_NE(none.body.find("needs an Origin header"), std::string::npos);
}

TEST(Answers, TheTrackerIsRevalidatedByItsETag) {
    const dashboard::Asset script{"text/javascript; charset=utf-8", "track();", "\"abc\""};
    const auto fresh = http::tracker_answer(script, "", "\"abc\"");
    EXPECT_EQ(fresh.status, 304u);
    EXPECT_EQ(fresh.body, "");
    const auto full = http::tracker_answer(script, "", "\"old\"");
    EXPECT_EQ(full.status, 200u);
    EXPECT_EQ(full.body, "track();");
    EXPECT_EQ(full.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(header(full, "ETag"), "\"abc\"");
    EXPECT_EQ(header(full, "Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(header(full, "Cache-Control"), "public, max-age=3600");

    const auto missing = http::tracker_answer(std::nullopt, "the browser tracker is not built", "");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_NE(missing.body.find("the browser tracker is not built"), std::string::npos);
}

TEST(Answers, ThePageServesOnlyItsOwnFiles) {
    const auto dir = std::filesystem::temp_directory_path() / "funnelhouse_routes_test_page";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "index.html") << "<html></html>";
    std::ofstream(dir / "app.js") << "main();";
    const auto page = dashboard::Assets::load(dir);

    const auto index = http::page_answer(page, "/dashboard", "");
    EXPECT_EQ(index.status, 200u);
    EXPECT_EQ(index.body, "<html></html>");
    EXPECT_NE(header(index, "Content-Security-Policy").find("default-src 'none'"),
              std::string::npos);
    EXPECT_EQ(header(index, "X-Frame-Options"), "DENY");
    EXPECT_EQ(http::page_answer(page, "/dashboard/app.js", "").body, "main();");
    EXPECT_EQ(http::page_answer(page, "/dashboard/../keys.json", "").status, 404u);
    EXPECT_EQ(http::page_answer(page, "/dashboard/other.js", "").status, 404u);

    const auto none = dashboard::Assets::load(dir / "missing");
    const auto missing = http::page_answer(none, "/dashboard", "");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_NE(missing.body.find(none.problem()), std::string::npos);
    std::filesystem::remove_all(dir);
}
