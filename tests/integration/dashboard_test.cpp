// The dashboard's endpoints (models/dashboard/, read through
// dashboard::Reader as the read-only analyst role) on a small hand-made
// shop in the real PostgreSQL. Every expected number is worked out by hand
// in the comments; without a filter, each panel must equal its model.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>
#include <nlohmann/json.hpp>

#include "funnelhouse/dashboard/error.hpp"
#include "funnelhouse/dashboard/reader.hpp"
#include "login_role.hpp"
#include "model_shop.hpp"
#include "test_database.hpp"

using namespace funnelhouse;
using nlohmann::json;
using test::at;
using test::kDesktop;
using test::kPhone;

namespace {

class DashboardTest : public ::testing::Test {
  protected:
    void SetUp() override {
        schema_.migrate();
        // Two persons a side are enough to classify, so that every branch
        // of the value class shows on a shop this small.
        q("UPDATE models.settings SET min_persons_per_side = 2");
        test::Shop shop;
        // u1: newsletter, phone; sees the control; size guide; orders on day
        // 2 (gross profit 100 - 60 = 40).
        shop.track("page_view", "u1", at(0), R"({"path":"/shoes"})",
                   std::string(R"({"page":{"url":"https://shop.test/shoes?utm_source=newsletter"},)") +
                       kPhone + "}");
        shop.track("experiment_viewed", "u1", at(0, 2),
                   R"({"experiment_id":"checkout_v2","variant":"control"})");
        shop.track("size_guide_opened", "u1", at(0, 60), R"({"product_id":"p"})");
        shop.order("u1", at(2), "o1", 100, 60);
        // u2: google, desktop; sees B; adds to cart, never orders.
        shop.track("page_view", "u2", at(1), R"({"path":"/"})",
                   std::string(R"({"page":{"url":"https://shop.test/","referrer":"https://www.google.com/"},)") +
                       kDesktop + "}");
        shop.track("experiment_viewed", "u2", at(1, 2),
                   R"({"experiment_id":"checkout_v2","variant":"B"})");
        shop.track("add_to_cart", "u2", at(1, 5), R"({"product_id":"p"})");
        // u3: ads; sees B; size guide; orders on day 10 (50 - 20 = 30).
        shop.track("page_view", "u3", at(3), R"({"path":"/sale"})",
                   R"({"campaign":{"source":"ads"},"page":{"path":"/sale"}})");
        shop.track("experiment_viewed", "u3", at(3, 2),
                   R"({"experiment_id":"checkout_v2","variant":"B"})");
        shop.track("size_guide_opened", "u3", at(3, 10), R"({"product_id":"p"})");
        shop.order("u3", at(10), "o3", 50, 20);
        // u5: google, desktop; sees the control; nothing else.
        shop.track("page_view", "u5", at(5), R"({"path":"/"})",
                   std::string(R"({"page":{"url":"https://shop.test/","referrer":"https://www.google.com/"},)") +
                       kDesktop + "}");
        shop.track("experiment_viewed", "u5", at(5, 2),
                   R"({"experiment_id":"checkout_v2","variant":"control"})");
        // u4: newsletter, phone, first seen on day 150: no complete 90 days.
        shop.track("page_view", "u4", at(150), R"({"path":"/shoes"})",
                   std::string(R"({"page":{"url":"https://shop.test/shoes?utm_source=newsletter"},)") +
                       kPhone + "}");
        // The horizon, day 200.
        shop.track("page_view", "late", at(200), R"({"path":"/"})");
        // One rejected search_used on day 3 (2026-01-04).
        common::BadEvent bad;
        bad.bad_event_id = "00000000-0000-4000-8000-000000000001";
        bad.event_id = "bad-1";
        bad.event_name = "search_used";
        bad.raw_event = R"({"event":"search_used"})";
        bad.errors = "[]";
        bad.reason = "schema_violation";
        bad.route = "/v1/track";
        bad.write_key_name = "web";
        bad.received_at = at(3, 20);
        shop.load_and_refresh(schema_, {bad});
    }

    std::string q(const std::string& sql) { return schema_.scalar(sql); }

    // GET /api/dashboard/<panel>?<query>, as the server runs it.
    json ask(dashboard::Reader& reader, std::string_view panel, std::string_view query = "") {
        const auto parsed = dashboard::parse_filter(query);
        EXPECT_EQ(parsed.error, "");
        std::promise<dashboard::Answer> answered;
        EXPECT_TRUE(reader.submit(*dashboard::find_panel(panel), parsed.filter,
                                  [&](dashboard::Answer answer) { answered.set_value(answer); }));
        const auto answer = answered.get_future().get();
        EXPECT_FALSE(answer.error) << answer.body;
        return answer.error ? json::object() : json::parse(answer.body);
    }
    json ask(std::string_view panel, std::string_view query = "") { return ask(reader_, panel, query); }

    // The row of `rows` whose `key` is `value`.
    static json find(const json& rows, const std::string& key, const std::string& value) {
        for (const auto& row : rows)
            if (row.at(key) == value) return row;
        ADD_FAILURE() << "no row with " << key << " = " << value << " in " << rows.dump();
        return json::object();
    }

    test::TestSchema schema_;
    dashboard::Reader reader_{dashboard::ReaderSettings{schema_.url(), "funnelhouse_analyst", 2, 8,
                                                        std::chrono::milliseconds{30'000}}};
};

}  // namespace

TEST_F(DashboardTest, ValueFollowsTheFilter) {
    // Everyone: complete 90 days for u1 (40), u2 (0), u3 (30), u5 (0); mean
    // 17.5. The size guide: u1 and u3 (mean 35) against u2 and u5 (0):
    // uplift 35, relative 35 / 17.5 = 2; an interval on two persons a side
    // is far wider than 35, so its low end is below 0: P3.
    const auto all = ask("value");
    EXPECT_EQ(all["panel"], "value");
    EXPECT_EQ(all["model"], "models.event_value");
    EXPECT_EQ(all["docs"], "docs/dashboard.md#value");
    EXPECT_EQ(all["filter"], json::parse(R"({"from":null,"to":null,"segment":"all"})"));
    auto guide = find(all["rows"], "event_name", "size_guide_opened");
    EXPECT_EQ(guide["persons_with"], 2);
    EXPECT_EQ(guide["persons_without"], 2);
    EXPECT_DOUBLE_EQ(guide["gross_profit_90d_with"].get<double>(), 35);
    EXPECT_DOUBLE_EQ(guide["gross_profit_90d_without"].get<double>(), 0);
    EXPECT_DOUBLE_EQ(guide["uplift"].get<double>(), 35);
    EXPECT_DOUBLE_EQ(guide["relative_uplift"].get<double>(), 2);
    EXPECT_LT(guide["uplift_low"].get<double>(), 0);
    EXPECT_EQ(guide["value_class"], "P3");
    EXPECT_EQ(guide["declared_class"], "P2");  // its contract's
    EXPECT_EQ(guide["class_disagrees"], true);
    // Mean order revenue (100 + 50) / 2 = 75. Of the size guide's two
    // occurrences (30 days complete), both are followed by an order within
    // 30 days (u1 on day 2, u3 on day 10): 1 * 75.
    EXPECT_EQ(guide["occurrences_complete_30d"], 2);
    EXPECT_DOUBLE_EQ(guide["expected_revenue_per_occurrence"].get<double>(), 75);

    // Newsletter: u1 and u4; only u1 has 90 complete days: nobody without.
    guide = find(ask("value", "segment=channel:newsletter")["rows"], "event_name", "size_guide_opened");
    EXPECT_EQ(guide["persons_with"], 1);
    EXPECT_EQ(guide["persons_without"], 0);
    EXPECT_TRUE(guide["uplift"].is_null());
    EXPECT_EQ(guide["value_class"], "unclassified");

    // First seen 2026-01-02 to 2026-01-31: u2 (0), u3 (30), u5 (0); mean 10.
    // The size guide: u3 (30) against 0: uplift 30, relative 3.
    const auto range = ask("value", "from=2026-01-02&to=2026-01-31");
    EXPECT_EQ(range["filter"]["from"], "2026-01-02");
    guide = find(range["rows"], "event_name", "size_guide_opened");
    EXPECT_EQ(guide["persons_with"], 1);
    EXPECT_EQ(guide["persons_without"], 2);
    EXPECT_DOUBLE_EQ(guide["uplift"].get<double>(), 30);
    EXPECT_DOUBLE_EQ(guide["relative_uplift"].get<double>(), 3);
    // Only u3's order is theirs: mean order revenue 50.
    EXPECT_DOUBLE_EQ(guide["mean_order_revenue"].get<double>(), 50);
}

TEST_F(DashboardTest, SegmentsOverviewAndFilters) {
    const auto segments = ask("segments");
    EXPECT_EQ(segments["filter"]["limit"], 25);
    const auto& rows = segments["rows"];
    // Everyone: 6 persons; 90 complete days for u1, u2, u3, u5: 70 / 4.
    const auto all = find(rows, "dimension", "all");
    EXPECT_EQ(all["persons"], 6);
    EXPECT_EQ(all["persons_complete_90d"], 4);
    EXPECT_DOUBLE_EQ(all["gross_profit_per_person_90d"].get<double>(), 17.5);
    // Of the two buyers, none ordered twice; no refunds.
    EXPECT_DOUBLE_EQ(all["repeat_rate_90d"].get<double>(), 0);
    EXPECT_DOUBLE_EQ(all["refund_rate_90d"].get<double>(), 0);
    // Newsletter: u1 (40 in 30 days) and u4 (first seen day 150, so its 30
    // days end on day 180, complete, with 0): 20. Its 90 days: u1 only, 40.
    json newsletter, landing;
    for (const auto& row : rows) {
        if (row["dimension"] == "channel" && row["segment"] == "newsletter") newsletter = row;
        if (row["dimension"] == "landing_page" && row["segment"] == "/sale") landing = row;
    }
    EXPECT_EQ(newsletter["persons"], 2);
    EXPECT_EQ(newsletter["persons_complete_30d"], 2);
    EXPECT_DOUBLE_EQ(newsletter["gross_profit_per_person_30d"].get<double>(), 20);
    EXPECT_DOUBLE_EQ(newsletter["gross_profit_per_person_90d"].get<double>(), 40);
    EXPECT_EQ(landing["persons"], 1);  // u3 landed on /sale
    EXPECT_DOUBLE_EQ(landing["gross_profit_per_person_90d"].get<double>(), 30);
    // limit=1: the largest segment of each dimension.
    std::map<std::string, int> per_dimension;
    const auto largest = ask("segments", "limit=1");
    for (const auto& row : largest["rows"]) ++per_dimension[row["dimension"]];
    EXPECT_EQ(per_dimension, (std::map<std::string, int>{{"all", 1}, {"channel", 1},
                                                          {"landing_page", 1},
                                                          {"micro_conversion", 1}}));

    const auto overview = ask("overview", "segment=device_type:desktop")["rows"][0];
    EXPECT_EQ(overview["persons"], 2);  // u2, u5
    EXPECT_EQ(overview["orders"], 0);
    // Their events: two page views, two exposures, one add to cart.
    EXPECT_EQ(overview["events"], 5);
    EXPECT_EQ(overview["first_day"], "2026-01-01");
    EXPECT_EQ(overview["last_day"], "2026-07-20");

    std::vector<std::string> options;
    const auto filters = ask("filters");
    for (const auto& row : filters["rows"])
        options.push_back(row["dimension"].get<std::string>() + ":" +
                          row["segment"].get<std::string>() + "=" +
                          std::to_string(row["persons"].get<int>()));
    // Largest first: u2 and u5 (google), u1 and u4 (newsletter), u3 (ads),
    // late (direct); devices from the user agents, none for u3 and late.
    EXPECT_EQ(options, (std::vector<std::string>{"channel:google.com=2", "channel:newsletter=2",
                                                 "channel:ads=1", "channel:direct=1",
                                                 "device_type:desktop=2", "device_type:mobile=2",
                                                 "device_type:unknown=2"}));
}

TEST_F(DashboardTest, TrackingAlertsAndRejectionsFollowTheFilter) {
    // 2026-01-01 to 2026-01-04 (days 0 to 3): page views of u1, u2, u3.
    const auto tracking = ask("tracking", "from=2026-01-01&to=2026-01-04")["rows"];
    const auto views = find(tracking, "event_name", "page_view");
    EXPECT_EQ(views["events"], 3);
    EXPECT_EQ(views["browser_only"], 3);
    EXPECT_EQ(views["rejected"], 0);
    EXPECT_EQ(views["schema_versions"], json::parse(R"(["1-0-0"])"));
    const auto search = find(tracking, "event_name", "search_used");
    EXPECT_EQ(search["events"], 0);
    EXPECT_EQ(search["rejected"], 1);
    EXPECT_DOUBLE_EQ(search["rejection_rate"].get<double>(), 1);
    // Under a segment: ads is u3 alone; rejections have no person.
    const auto ads = find(ask("tracking", "from=2026-01-01&to=2026-01-04&segment=channel:ads")["rows"],
                          "event_name", "page_view");
    EXPECT_EQ(ads["events"], 1);
    EXPECT_TRUE(ads["rejected"].is_null());

    EXPECT_EQ(ask("rejections")["rows"],
              json::parse(R"([{"reason":"schema_violation","event_name":"search_used","rejected":1}])"));
    EXPECT_EQ(ask("rejections", "segment=channel:ads")["rows"], json::array());

    // The rejection alert on 2026-01-04, in range or not.
    const auto alerts = ask("alerts")["rows"];
    const auto rejection = find(alerts, "kind", "rejection_rate");
    EXPECT_EQ(rejection["day"], "2026-01-04");
    EXPECT_EQ(rejection["event_name"], "search_used");
    EXPECT_EQ(rejection["rejected"], 1);
    EXPECT_EQ(rejection["all_traffic"], true);
    EXPECT_EQ(ask("alerts", "from=2026-01-05")["rows"].size(),
              std::stoul(q("SELECT count(*) FROM models.tracking_health WHERE alert AND day >= '2026-01-05'")));

    // Volume per day: day 0 has u1's page view, exposure and size guide.
    std::map<std::string, int> day_zero;
    const auto volume = ask("volume", "to=2026-01-01");
    for (const auto& row : volume["rows"]) day_zero[row["event_name"]] = row["events"];
    EXPECT_EQ(day_zero, (std::map<std::string, int>{
                            {"experiment_viewed", 1}, {"page_view", 1}, {"size_guide_opened", 1}}));
}

TEST_F(DashboardTest, ExperimentsSayTheVerdictInWords) {
    // Control u1, u5; B u2, u3. New customers all; first orders within 30
    // days: u1 and u3: 1/2 each side, no lift.
    const auto rows = ask("experiments")["rows"];
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0]["variant"], "control");
    EXPECT_EQ(rows[0]["verdict_text"], "the control the other variants are compared with");
    EXPECT_DOUBLE_EQ(rows[0]["gross_profit_per_person_60d"].get<double>(), 20);  // (40 + 0) / 2
    EXPECT_EQ(rows[1]["variant"], "B");
    EXPECT_DOUBLE_EQ(rows[1]["conversion_30d"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(rows[1]["conversion_lift"].get<double>(), 0);
    EXPECT_DOUBLE_EQ(rows[1]["gross_profit_per_person_60d"].get<double>(), 15);  // (0 + 30) / 2
    EXPECT_EQ(rows[1]["verdict"], "no_regression");
    EXPECT_EQ(rows[1]["verdict_text"],
              "does not win on conversion (+0.0 points): no regression to guard against");
    // Exposed from 2026-01-02: control u5 alone, below two persons a side.
    const auto late = ask("experiments", "from=2026-01-02")["rows"];
    EXPECT_EQ(late[1]["verdict"], "insufficient_data");
    EXPECT_EQ(late[1]["verdict_text"],
              "too few persons to judge: fewer than 2 with 60 complete days on a side");
    // Desktop: u2 (B) and u5 (control): one a side.
    EXPECT_EQ(ask("experiments", "segment=device_type:desktop")["rows"][0]["persons"], 1);
}

TEST_F(DashboardTest, JourneysFollowTheFilter) {
    // Newsletter readers: u1 (the size guide, then an order on day 2) and u4
    // (no step; first seen on day 150, its 30 days complete by day 200).
    const auto paths = ask("paths", "segment=channel:newsletter")["rows"];
    ASSERT_EQ(paths.size(), 2u) << paths.dump();
    EXPECT_EQ(paths[0]["path"], "(none)");
    EXPECT_EQ(paths[0]["non_converters"], 1);
    EXPECT_EQ(paths[1]["path"], "size_guide_opened");
    EXPECT_EQ(paths[1]["converters"], 1);
    EXPECT_EQ(paths[1]["mean_gross_profit_90d"], 40);
    // u1 opened the size guide an hour after landing: the hour-to-day bucket.
    const auto times = ask("time_to_convert", "segment=channel:newsletter")["rows"];
    const auto guide = find(times, "event_name", "size_guide_opened");
    EXPECT_EQ(guide["persons"], 1);
    EXPECT_EQ(guide["median_seconds_from_first_touch"], 3600);
    EXPECT_EQ(guide["under_1_day"], 1);
    EXPECT_EQ(guide["under_1_hour"], 0);
    // Everyone: u3 also opened it, 10 minutes in.
    EXPECT_EQ(find(ask("time_to_convert")["rows"], "event_name", "size_guide_opened")["persons"],
              2);
    // Converters against non-converters: the size guide is on every
    // converter's path (u1, u3) and on none of the others' (u2, u4, u5).
    const auto guide_share =
        find(ask("path_comparison")["rows"], "first_event", "size_guide_opened");
    EXPECT_EQ(guide_share["share_of_converters"], 1);
    EXPECT_EQ(guide_share["share_of_non_converters"], 0);
    // No candidate experiments yet: an empty queue, whatever the filter.
    EXPECT_EQ(ask("experiment_priorities", "segment=channel:newsletter")["rows"], json::array());
}

// Without a filter a panel reads its model; a filter that selects everyone
// (from 1970-01-01) computes it from the per-person models instead, and must
// come to the same rows.
TEST_F(DashboardTest, AFilterSelectingEveryoneComputesEachModelExactly) {
    const auto same = [this](const std::string& a, const std::string& b) {
        EXPECT_EQ(q("SELECT count(*) FROM ((" + a + ") EXCEPT ALL (" + b + ")) d"), "0") << a;
        EXPECT_EQ(q("SELECT count(*) FROM ((" + b + ") EXCEPT ALL (" + a + ")) d"), "0") << b;
    };
    same("SELECT * FROM models.dashboard_value('1970-01-01', NULL, 'all', NULL)",
         "SELECT * FROM models.event_value");
    same("SELECT * FROM models.dashboard_funnel('1970-01-01', NULL, 'all', NULL)",
         "SELECT funnel, step, event_name, dimension, segment, persons, rate_from_previous, "
         "rate_from_first, median_seconds_to_next FROM models.funnel");
    same("SELECT experiment_id, variant, is_control, control_variant, persons, new_customers, "
         "conversion_30d, buyers_60d, repeat_rate_60d, gross_profit_per_person_60d, refund_rate_60d, "
         "conversion_lift, repeat_rate_change, repeat_rate_z, profit_change, profit_change_low, "
         "profit_change_high, verdict FROM models.dashboard_experiments('1970-01-01', NULL, 'all', NULL)",
         "SELECT * FROM models.experiment_guardrails");
    same("SELECT dimension, segment, persons, persons_complete_30d, "
         "gross_profit_per_person_30d, persons_complete_90d, gross_profit_per_person_90d, "
         "persons_complete_180d, gross_profit_per_person_180d, repeat_rate_90d, refund_rate_90d "
         "FROM models.dashboard_segments('1970-01-01', NULL, 'all', NULL, 1000)",
         "SELECT cohort_kind, cohort, persons, persons_complete_30d, gross_profit_per_person_30d, "
         "persons_complete_90d, gross_profit_per_person_90d, persons_complete_180d, "
         "gross_profit_per_person_180d, repeat_rate_90d, refund_rate_90d FROM models.cohort_ltv "
         "WHERE cohort_kind <> 'first_seen_month'");
    same("SELECT DISTINCT day, event_name FROM models.dashboard_alerts('1970-01-01', NULL, 'all', NULL)",
         "SELECT day, event_name FROM models.tracking_health WHERE alert");
    same("SELECT day, event_name, events, rejected FROM models.dashboard_volume('1970-01-01', NULL, 'all', NULL)",
         "SELECT day, event_name, events, rejected FROM models.tracking_health");
    same("SELECT * FROM models.dashboard_paths('1970-01-01', NULL, 'all', NULL)",
         "SELECT * FROM models.paths");
    same("SELECT * FROM models.dashboard_path_comparison('1970-01-01', NULL, 'all', NULL)",
         "SELECT * FROM models.path_comparison");
    same("SELECT * FROM models.dashboard_time_to_convert('1970-01-01', NULL, 'all', NULL)",
         "SELECT * FROM models.time_to_convert");
    same("SELECT * FROM models.dashboard_drop_off('1970-01-01', NULL, 'all', NULL)",
         "SELECT * FROM models.drop_off WHERE dimension = 'all' OR worst_rank <= 10");
    // Without a filter, the model's rows as they are.
    same("SELECT * FROM models.dashboard_value(NULL, NULL, 'all', NULL)",
         "SELECT * FROM models.event_value");
    same("SELECT persons, persons_complete_90d, orders FROM models.dashboard_overview(NULL, NULL, 'all', NULL)",
         "SELECT persons, persons_complete_90d, orders FROM models.dashboard_overview('1970-01-01', NULL, 'all', NULL)");
    // Summed over every segment, the segmented counts are those of
    // everyone with a person (here: every event).
    same("SELECT event_name, day, sum(events)::bigint FROM models.tracking_by_segment GROUP BY 1, 2",
         "SELECT event_name, day, events FROM models.tracking_health WHERE events > 0");
}

TEST_F(DashboardTest, QueriesRunReadOnlyAsTheAnalystRole) {
    // The reader's session is the analyst's: it may read the models...
    EXPECT_EQ(ask("overview")["rows"][0]["persons"], 6);
    // ...and a role that does not exist is an error, not a query as the
    // login.
    dashboard::Reader wrong{dashboard::ReaderSettings{schema_.url(), "no_such_role", 1, 1,
                                                      std::chrono::milliseconds{5'000}}};
    std::promise<dashboard::Answer> answered;
    ASSERT_TRUE(wrong.submit(*dashboard::find_panel("overview"), {},
                             [&](dashboard::Answer answer) { answered.set_value(answer); }));
    const auto answer = answered.get_future().get();
    EXPECT_EQ(answer.error, dashboard::errc::query_failed);
    // The database's words go to the log, not to the answer.
    EXPECT_EQ(answer.body, "the overview query failed; the server log says why");
    // serve logs in as a member of funnelhouse_server, which may become the
    // analyst: the dashboard works there too.
    test::LoginRole server(schema_, "funnelhouse_server");
    dashboard::Reader as_server{dashboard::ReaderSettings{server.url(), "funnelhouse_analyst", 1, 1,
                                                          std::chrono::milliseconds{5'000}}};
    EXPECT_EQ(ask(as_server, "overview")["rows"][0]["persons"], 6);
    // The session settings the reader sets: read-only transactions as
    // funnelhouse_analyst, which cannot write.
    auto connection = schema_.connect();
    pqxx::nontransaction txn(*connection);
    txn.exec("SET ROLE funnelhouse_analyst");
    txn.exec("SET default_transaction_read_only = on");
    EXPECT_THROW(txn.exec("UPDATE models.settings SET min_persons_per_side = 3"), pqxx::sql_error);
}

// A TCP port that takes connections but never answers: a database that hangs.
class SilentPort {
  public:
    SilentPort() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
            ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
            throw std::runtime_error("cannot listen on loopback");
        port_ = ntohs(address.sin_port);
    }
    ~SilentPort() { ::close(fd_); }
    int port() const { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

TEST(DashboardReaderTest, AHangingDatabaseIsA503AndAFullQueueRefuses) {
    SilentPort silent;
    dashboard::Reader reader{dashboard::ReaderSettings{
        "postgresql://postgres@127.0.0.1:" + std::to_string(silent.port()) + "/none?connect_timeout=2",
        "", 1, 1, std::chrono::milliseconds{2'000}}};
    std::promise<dashboard::Answer> answered;
    ASSERT_TRUE(reader.submit(*dashboard::find_panel("overview"), {},
                              [&](dashboard::Answer answer) { answered.set_value(answer); }));
    // The one connection takes the query and waits for the silent database
    // for 2 s: meanwhile a second query fills the queue (1), and a third is
    // refused at once.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_TRUE(reader.submit(*dashboard::find_panel("overview"), {}, [](dashboard::Answer) {}));
    EXPECT_FALSE(reader.submit(*dashboard::find_panel("overview"), {}, [](dashboard::Answer) {}));
    const auto answer = answered.get_future().get();
    EXPECT_EQ(answer.error, dashboard::errc::database_unavailable);
    EXPECT_NE(answer.body.find("unavailable"), std::string::npos);
}
