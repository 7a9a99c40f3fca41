// What people are told about an alert (alerts/notice), and the request
// that carries it to each kind of destination (activation/requests).
#include "funnelhouse/alerts/notice.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "funnelhouse/activation/requests.hpp"
#include "funnelhouse/activation/signature.hpp"

using namespace funnelhouse;
using nlohmann::json;

namespace {

// An alert's row as to_jsonb() writes it.
std::string row(const std::string& cause = "segment") {
    return json{
        {"alert_id", 7},
        {"subject_type", "event"},
        {"subject", "add_to_cart"},
        {"state", "open"},
        {"rules", {"rate_drop", "volume_drop"}},
        {"since", "2026-02-27"},
        {"last_day", "2026-02-28"},
        {"cause", cause},
        {"likely_cause", "only device type mobile: 0.5% of its sessions against 31.3%"},
        {"summary", "add_to_cart on 2026-02-28 (since 2026-02-27): share -73.4%"},
        {"context", {{"segment", {{"dimension", "device_type"}, {"segment", "mobile & more"}}}}},
        {"raised_at", "2026-03-01T06:10:00+00:00"},
        {"resolved_at", nullptr}}
        .dump();
}

const common::timestamp kNow = *common::parse_timestamp("2026-03-01T06:11:00Z");

}  // namespace

TEST(Notice, TheAlertsRowIsReadAndItsMistakesNamed) {
    const auto alert = alerts::parse_alert(row());
    EXPECT_EQ(alert.id, 7);
    EXPECT_EQ(alert.subject, "add_to_cart");
    EXPECT_EQ(alert.rules, (std::vector<std::string>{"rate_drop", "volume_drop"}));
    EXPECT_EQ(alert.since, "2026-02-27");
    auto broken = json::parse(row());
    broken.erase("summary");
    EXPECT_THROW(
        {
            try {
                alerts::parse_alert(broken.dump());
            } catch (const std::invalid_argument& error) {
                EXPECT_STREQ(error.what(), "alert: 'summary' is missing");
                throw;
            }
        },
        std::invalid_argument);
    EXPECT_THROW(alerts::parse_alert("[1]"), std::invalid_argument);
}

TEST(Notice, TheLinkOpensTheDashboardOnTheWeekBeforeAndTheSegment) {
    const auto alert = alerts::parse_alert(row());
    EXPECT_EQ(alerts::dashboard_link(alert, "https://dash.example/dashboard"),
              "https://dash.example/dashboard?from=2026-02-20&to=2026-02-28"
              "&segment=device_type:mobile%20%26%20more#alerts");
    // Another cause names no segment.
    EXPECT_EQ(alerts::dashboard_link(alerts::parse_alert(row("upstream")),
                                     "http://127.0.0.1:8080/dashboard"),
              "http://127.0.0.1:8080/dashboard?from=2026-02-20&to=2026-02-28#alerts");
}

TEST(Notice, ChatTextSaysWhatWhenAndWhyWithItsMarkupEscaped) {
    const auto alert = alerts::parse_alert(row());
    const auto raised = json::parse(alerts::chat_body(alert, false, "https://d.example/dashboard"));
    const auto text = raised["text"].get<std::string>();
    EXPECT_EQ(text.substr(0, text.find('\n')), "Alert: add_to_cart (event)");
    EXPECT_NE(text.find("\nadd_to_cart on 2026-02-28 (since 2026-02-27): share -73.4%\n"),
              std::string::npos);
    EXPECT_NE(text.find("\nLikely cause: only device type mobile"), std::string::npos);
    EXPECT_NE(text.find("\nDashboard: https://d.example/dashboard?from=2026-02-20"),
              std::string::npos);
    const auto resolved =
        json::parse(alerts::chat_body(alert, true, "https://d.example/dashboard"));
    EXPECT_EQ(resolved["text"].get<std::string>().rfind(
                  "Resolved: add_to_cart (event), a problem from 2026-02-27 to 2026-02-28.\n", 0),
              0u);
    auto tricky = json::parse(row());
    tricky["subject"] = "<b>&";
    EXPECT_EQ(json::parse(alerts::chat_body(alerts::parse_alert(tricky.dump()), false, "x"))["text"]
                  .get<std::string>()
                  .substr(0, 30),
              "Alert: &lt;b&gt;&amp; (event)\n");
}

TEST(Notice, WebhooksGetTheWholeAlertSignedUnderItsNoticeKey) {
    activation::Destination hook;
    hook.name = "ops-hook";
    hook.kind = activation::Kind::webhook;
    hook.url = "https://ops.example/hooks";
    hook.signing_key = "key";
    const activation::Notice notice{true, row()};
    const auto post =
        activation::notice_request(hook, "alert:7:resolved", notice, "https://d.example/d", kNow);
    EXPECT_EQ(post.url, "https://ops.example/hooks");
    const auto body = json::parse(post.body);
    EXPECT_EQ(body["type"], "alert.resolved");
    EXPECT_EQ(body["timestamp"], "2026-03-01T06:11:00.000000Z");
    EXPECT_EQ(body["data"]["alert_id"], 7);
    EXPECT_EQ(body["data"]["likely_cause"],
              "only device type mobile: 0.5% of its sessions against 31.3%");
    EXPECT_EQ(body["data"]["context"]["segment"]["dimension"], "device_type");
    EXPECT_EQ(body["data"]["dashboard_url"],
              "https://d.example/d?from=2026-02-20&to=2026-02-28"
              "&segment=device_type:mobile%20%26%20more#alerts");
    std::map<std::string, std::string> headers(post.headers.begin(), post.headers.end());
    EXPECT_EQ(headers["webhook-id"], activation::webhook_id("ops-hook", "alert:7:resolved"));
    EXPECT_EQ(headers["webhook-timestamp"], "1772345460");
    EXPECT_EQ(headers["webhook-signature"],
              activation::webhook_signature("key", headers["webhook-id"], 1772345460, post.body));

    activation::Destination chat;
    chat.name = "ops-chat";
    chat.kind = activation::Kind::slack;
    chat.url = "https://hooks.chat.example/services/T/B/x";
    const auto chat_post = activation::notice_request(
        chat, "alert:7:raised", activation::Notice{false, row()}, "https://d.example/d", kNow);
    EXPECT_EQ(chat_post.url, chat.url);
    EXPECT_TRUE(chat_post.headers.empty());
    EXPECT_EQ(json::parse(chat_post.body)["text"].get<std::string>().substr(0, 26),
              "Alert: add_to_cart (event)");
    EXPECT_THROW(activation::notice_request(chat, "alert:7:raised", activation::Notice{false, "{}"},
                                            "x", kNow),
                 std::invalid_argument);
}
