// Alerts (docs/alerts.md) in the real PostgreSQL: the simulated shop with
// three planted problems, each message validated by the ingest pipeline
// at the moment it happened (the contract change deployed part-way), then
// loaded by the loader's writer and the models refreshed; and the alerts'
// lifecycle with the notices it enqueues.
#include <gtest/gtest.h>

#include <filesystem>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/ingest/request.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "funnelhouse/simulate/shop.hpp"
#include "model_files.hpp"
#include "model_shop.hpp"
#include "test_contracts.hpp"

using namespace funnelhouse;

namespace {

namespace fs = std::filesystem;

const common::timestamp kEnd = *common::parse_timestamp("2026-03-01T06:00:00Z");
const common::timestamp kDefectsFrom = *common::parse_timestamp("2026-02-27T06:00:00Z");

// The repository's contracts with size_guide_opened 1-1-0, the version that
// lists size_system's values.
schema::SchemaRegistry changed_contracts(const test::TempDir& dir) {
    const auto folder = dir.path() / "schemas";
    fs::copy(test::source_dir() / "schemas", folder, fs::copy_options::recursive);
    fs::copy(test::source_dir() / "tests/e2e/contracts", folder,
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    return schema::SchemaRegistry::load(folder);
}

class PlantedProblems : public ::testing::Test {
  protected:
    // What goes wrong here is told by each test (SetUp): a failure in
    // SetUpTestSuite itself would have the tests reported as skipped.
    static void SetUpTestSuite() {
        try {
            schema_ = new test::TestSchema;
            schema_->migrate();
            dir_ = new test::TempDir;
            changed_ = new schema::SchemaRegistry(changed_contracts(*dir_));
            load();
            auto connection = schema_->connect();
            models::refresh(*connection, *changed_, test::model_catalog());
            loaded_ = true;
        } catch (const std::exception& error) {
            setup_error_ = error.what();
        }
    }
    static void TearDownTestSuite() {
        delete changed_;
        delete dir_;
        delete schema_;
    }

    // Every message as it arrived a second after it happened, validated by
    // the contracts deployed then.
    static void load() {
        simulate::ShopSettings shop;
        shop.persons = 20000;
        shop.days = 40;
        shop.seed = 11;
        shop.end = kEnd;
        shop.defects = simulate::all_defects(shop, 2);
        if (shop.defects.broken_from != kDefectsFrom)
            throw std::runtime_error("the shop's defects start elsewhere than planned");
        const auto& keys = test::browser_and_server_keys();
        const std::string browser = "Basic " + common::base64_encode("browser-key:");
        const std::string server = "Basic " + common::base64_encode("server-key:");
        const ingest::IngestSettings limits;
        std::vector<common::Event> events;
        std::vector<common::BadEvent> bad;
        for (const auto& message : simulate::generate_shop(shop)) {
            const std::string body = "{\"batch\":[" + message.json + "]}";
            const auto& authorization =
                message.sender == common::Source::browser ? browser : server;
            const ingest::RequestInput input{"/v1/batch", body, authorization,
                                             message.at + std::chrono::seconds(1)};
            const auto& contracts =
                message.at < kDefectsFrom ? test::repository_contracts() : *changed_;
            auto outcome = ingest::process_request(input, keys, contracts, limits);
            if (outcome.error) throw std::runtime_error(outcome.error_message);
            for (auto& e : outcome.events) events.push_back(std::move(e));
            for (auto& b : outcome.bad_events) bad.push_back(std::move(b));
        }
        auto connection = schema_->connect();
        loader::prepare_staging(*connection);
        constexpr std::size_t kBatch = 5000;
        for (std::size_t i = 0; i < std::max(events.size(), bad.size()); i += kBatch) {
            std::vector<const common::Event*> e;
            std::vector<const common::BadEvent*> b;
            for (std::size_t j = i; j < std::min(events.size(), i + kBatch); ++j)
                e.push_back(&events[j]);
            for (std::size_t j = i; j < std::min(bad.size(), i + kBatch); ++j) b.push_back(&bad[j]);
            loader::write_batch(*connection, e, b);
        }
    }
    void SetUp() override { ASSERT_TRUE(loaded_) << "the shop did not load: " << setup_error_; }

    static std::string q(const std::string& sql) { return schema_->scalar(sql); }
    static std::string candidate(const std::string& subject, const std::string& column) {
        return q("SELECT " + column + " FROM models.alert_candidates WHERE subject = '" + subject +
                 "'");
    }

    static test::TestSchema* schema_;
    static test::TempDir* dir_;
    static schema::SchemaRegistry* changed_;
    static bool loaded_;
    static std::string setup_error_;
};

test::TestSchema* PlantedProblems::schema_ = nullptr;
test::TempDir* PlantedProblems::dir_ = nullptr;
schema::SchemaRegistry* PlantedProblems::changed_ = nullptr;
bool PlantedProblems::loaded_ = false;
std::string PlantedProblems::setup_error_;

}  // namespace

TEST_F(PlantedProblems, EachProblemRaisesOneAlertWithItsLikelyCause) {
    // The latest complete day is the day before the last one anything
    // arrived on; on it, the two problems planted two days before, and the
    // shop's long-standing one (search_used's results_count sent as a
    // string on tablets); all events, no stage.
    EXPECT_EQ(q("SELECT string_agg(subject_type || ':' || subject, ',' ORDER BY subject) "
                "FROM models.alert_candidates WHERE subject_type <> 'traffic'"),
              "event:add_to_cart,event:search_used,event:size_guide_opened")
        << q("SELECT string_agg(subject || ' ' || rules::text || ': ' || summary || '. ' || "
             "likely_cause, E'\\n') FROM models.alert_candidates");
    EXPECT_EQ(q("SELECT DISTINCT day FROM models.alert_candidates"), "2026-02-28");

    SCOPED_TRACE("the button broken on mobile");
    EXPECT_EQ(candidate("add_to_cart", "cause"), "segment");
    EXPECT_EQ(candidate("add_to_cart", "context #>> '{segment,dimension}'"), "device_type");
    EXPECT_EQ(candidate("add_to_cart", "context #>> '{segment,segment}'"), "mobile");
    EXPECT_LT(std::stod(candidate("add_to_cart", "context #>> '{segment,share}'")), 0.01);
    EXPECT_GT(std::stod(candidate("add_to_cart", "context #>> '{segment,rest_change}'")), -0.1);
    EXPECT_EQ(candidate("add_to_cart", "since"), "2026-02-27");
    EXPECT_NE(candidate("add_to_cart", "likely_cause").find("only device type mobile"),
              std::string::npos);
    // What comes after the cart fell with it, and is listed under it.
    EXPECT_EQ(candidate("add_to_cart",
                        "(SELECT string_agg(d ->> 'event_name', ',' ORDER BY d ->> 'event_name') "
                        "FROM jsonb_array_elements(context -> 'downstream') d "
                        "WHERE d ->> 'event_name' IN ('checkout_started', 'payment_attempted'))"),
              "checkout_started,payment_attempted");

    SCOPED_TRACE("the contract change");
    EXPECT_EQ(candidate("size_guide_opened", "cause"), "contract_change");
    EXPECT_EQ(candidate("size_guide_opened", "rules"), "{rate_drop,rejection_rate,volume_drop}");
    EXPECT_EQ(candidate("size_guide_opened", "context #>> '{schema_versions,new}'"), "[\"1-1-0\"]");
    EXPECT_EQ(candidate("size_guide_opened", "context #>> '{rejections,paths,0,path}'"),
              "/properties/size_system");
    EXPECT_EQ(candidate("size_guide_opened", "since"), "2026-02-27");

    SCOPED_TRACE("the tablets' search_used");
    EXPECT_EQ(candidate("search_used", "rules"), "{rejection_rate}");
    EXPECT_EQ(candidate("search_used", "cause"), "rejections");
    EXPECT_EQ(candidate("search_used", "context #>> '{rejections,paths,0,path}'"),
              "/properties/results_count");
    // Since the shop's first day: the tablets have sent it so from the start,
    // so no contract version is new against the days before.
    EXPECT_EQ(candidate("search_used", "since"), "2026-01-20");
    EXPECT_EQ(candidate("search_used", "context #>> '{schema_versions,new}'"), "");

    SCOPED_TRACE("the flood of low-intent traffic");
    // The campaign's persons lowered the plain rate of what everyone does
    // first by more than the rule's 20%...
    const std::string viewed =
        " FROM models.rate_changes WHERE event_name = 'product_viewed' AND day = '2026-02-28'";
    EXPECT_LT(std::stod(q("SELECT share_change" + viewed)), -0.2);
    EXPECT_GT(std::stod(q("SELECT share FROM models.traffic_mix WHERE day = '2026-02-28' "
                          "AND dimension = 'channel' AND segment = 'megadeal'")),
              0.3);
    // ...but not the rate of the traffic seen before: no alert.
    EXPECT_GT(std::stod(q("SELECT adjusted_share_change" + viewed)), -0.1);
    EXPECT_EQ(q("SELECT alert" + viewed), "f");

    SCOPED_TRACE("the shop's history ended on 2026-03-01: by the clock, all is silent since");
    EXPECT_EQ(candidate("all events", "rules"), "{silence}");
    EXPECT_EQ(candidate("all events", "likely_cause").substr(0, 32),
              "no event stored since 2026-03-01");
    EXPECT_EQ(candidate("all events", "cause"), "no_events");

    SCOPED_TRACE("one alert per problem, raised from the day it began");
    EXPECT_EQ(q("SELECT string_agg(subject || ':' || state || ':' || since, ',' ORDER BY subject) "
                "FROM alerts"),
              "add_to_cart:open:2026-02-27,all events:open:2026-03-01,"
              "search_used:open:2026-01-20,size_guide_opened:open:2026-02-27");
}

namespace {

class AlertLifecycle : public ::testing::Test {
  protected:
    void SetUp() override {
        schema_.migrate();
        // The shops here are from the past: no silence by the clock.
        q("UPDATE models.settings SET alert_silence = '100 years'");
        q("INSERT INTO activation_destinations (name, kind, starts_at, consent, alerts) "
          "VALUES ('ops', 'slack', now(), '', true), ('ads', 'meta', now(), 'marketing', false)");
    }
    std::string q(const std::string& sql) { return schema_.scalar(sql); }
    std::string alerts() {
        return q("SELECT string_agg(subject || ':' || state, ',' ORDER BY subject) FROM alerts");
    }
    std::string notices() {
        return q(
            "SELECT string_agg(d.destination || ' ' || d.what || ' ' || a.subject, ',' "
            "ORDER BY a.subject, d.what) FROM deliveries d JOIN alerts a USING (alert_id)");
    }
    test::TestSchema schema_;
};

}  // namespace

TEST_F(AlertLifecycle, EachProblemIsRaisedOnceAndResolvedOnceWithANoticeOfEach) {
    // Only page views for a week: four stages without any event.
    test::Shop shop("a");
    for (int day = 0; day < 8; ++day) shop.track("page_view", "u1", test::at(day));
    shop.load(schema_);
    test::refresh_models(schema_);
    const std::string four = "consideration:open,intent:open,purchase:open,retention:open";
    EXPECT_EQ(alerts(), four);
    EXPECT_EQ(q("SELECT likely_cause FROM alerts WHERE subject = 'purchase'"),
              "none of its micro-conversions (order_completed, payment_attempted) was received "
              "in the 7 days up to 2026-01-08");
    // One notice per alert, to the destination that takes alerts only.
    EXPECT_EQ(notices(),
              "ops alert_raised consideration,ops alert_raised intent,ops alert_raised purchase,"
              "ops alert_raised retention");
    EXPECT_EQ(q("SELECT string_agg(DISTINCT event_id, ',') FROM activation_outbox "
                "WHERE alert_id = (SELECT alert_id FROM alerts WHERE subject = 'intent')"),
              "alert:" + q("SELECT alert_id FROM alerts WHERE subject = 'intent'") +
                  ":raised:" + q("SELECT notice_key FROM alerts WHERE subject = 'intent'"));

    // Refreshed again, nothing changed: the same alerts, no new notice.
    test::refresh_models(schema_);
    EXPECT_EQ(alerts(), four);
    EXPECT_EQ(q("SELECT count(*) FROM alerts"), "4");
    EXPECT_EQ(q("SELECT count(*) FROM activation_outbox"), "4");

    // A product is viewed: consideration is resolved, once.
    test::Shop more("b");
    more.track("product_viewed", "u1", test::at(8, 5), R"({"product_id":"p1"})");
    more.load(schema_);
    test::refresh_models(schema_);
    test::refresh_models(schema_);
    EXPECT_EQ(alerts(), "consideration:resolved,intent:open,purchase:open,retention:open");
    EXPECT_EQ(q("SELECT count(*) FROM activation_outbox WHERE what = 'alert_resolved'"), "1");
    EXPECT_EQ(q("SELECT a.subject FROM activation_outbox o JOIN alerts a USING (alert_id) "
                "WHERE o.what = 'alert_resolved'"),
              "consideration");

    // It comes back: a new alert, not the old one reopened.
    test::Shop later("c");
    for (int day = 9; day < 17; ++day) later.track("page_view", "u1", test::at(day));
    later.load(schema_);
    test::refresh_models(schema_);
    EXPECT_EQ(q("SELECT string_agg(state, ',' ORDER BY alert_id) FROM alerts "
                "WHERE subject = 'consideration'"),
              "resolved,open");
    EXPECT_EQ(q("SELECT count(*) FROM activation_outbox"), "6")
        << q("SELECT string_agg(o.event_id || ' ' || a.subject || ' ' || a.summary, E'\\n') "
             "FROM activation_outbox o JOIN alerts a USING (alert_id)");
}

TEST_F(AlertLifecycle, TheLifecycleTakesOnlyWellFormedCandidatesOncePerSubject) {
    const auto sync = [&](const std::string& candidates) {
        q("SELECT funnelhouse_alerts_sync(" + candidates + ")");
    };
    const std::string a = R"({"subject_type": "event", "subject": "add_to_cart",
        "rules": ["rate_drop"], "day": "2026-03-01", "since": "2026-02-28", "cause": "segment",
        "likely_cause": "only mobile", "summary": "add_to_cart fell", "context": {}})";
    // Twice the same subject, and rows that are not candidates: one alert.
    sync("'[" + a + "," + a +
         R"(, {"subject_type": "person", "subject": "x", "rules": [], "day": "2026-03-01"},
        {"subject": "no type"}]')");
    EXPECT_EQ(alerts(), "add_to_cart:open");
    EXPECT_EQ(q("SELECT since || ' ' || cause FROM alerts"), "2026-02-28 segment");
    // NULL changes nothing.
    sync("NULL");
    EXPECT_EQ(alerts(), "add_to_cart:open");
    // Its event now fails under another's downstream: it stays open, once.
    sync(R"('[{"subject_type": "event", "subject": "product_viewed", "rules": ["rate_drop"],
        "day": "2026-03-02", "context": {"downstream": [{"event_name": "add_to_cart"}]}}]')");
    EXPECT_EQ(alerts(), "add_to_cart:open,product_viewed:open");
    EXPECT_EQ(q("SELECT count(*) FROM activation_outbox WHERE what = 'alert_resolved'"), "0");
    // Nothing fails any more: both resolved, each with one notice.
    sync("'[]'");
    EXPECT_EQ(alerts(), "add_to_cart:resolved,product_viewed:resolved");
    EXPECT_EQ(q("SELECT count(*) FROM activation_outbox WHERE what = 'alert_resolved'"), "2");
}

TEST_F(AlertLifecycle, AFailingLifecycleLeavesTheRefreshedModelsStanding) {
    test::Shop shop("a");
    for (int day = 0; day < 8; ++day) shop.track("page_view", "u1", test::at(day));
    shop.load(schema_);
    q("ALTER FUNCTION funnelhouse_alerts_sync(jsonb) RENAME TO funnelhouse_alerts_gone");
    const auto report = test::refresh_models(schema_);
    EXPECT_EQ(report.steps.size(), 40u);
    EXPECT_EQ(q("SELECT count(*) FROM models.stage_coverage WHERE alert"), "4");
    EXPECT_EQ(q("SELECT count(*) FROM alerts"), "0");
    q("ALTER FUNCTION funnelhouse_alerts_gone(jsonb) RENAME TO funnelhouse_alerts_sync");
    test::refresh_models(schema_);
    EXPECT_EQ(q("SELECT count(*) FROM alerts"), "4");
}
