// The outbox in PostgreSQL: destinations written from the file, events
// enqueued in the loader's transaction, claims, leases, results, erasure.
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <thread>

#include "funnelhouse/activation/outbox.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "model_files.hpp"
#include "sample_events.hpp"
#include "test_database.hpp"

using namespace funnelhouse;
using namespace std::chrono_literals;

namespace {

activation::Destination order_destination(const std::string& name, const std::string& starts) {
    activation::Destination d;
    d.name = name;
    d.kind = activation::Kind::webhook;
    d.starts_at = *common::parse_timestamp(starts);
    d.consent = "marketing";
    d.order_events = {"order_completed"};
    return d;
}

common::Event order(const std::string& id, const std::string& order_id, const std::string& user) {
    auto e = test::sample_event(id, R"({"order_id":")" + order_id + R"(","revenue":10})");
    e.event_name = "order_completed";
    e.anonymous_id.reset();
    e.user_id = user;
    e.source = common::Source::server;
    return e;
}

class ActivationTest : public ::testing::Test {
  protected:
    void SetUp() override {
        schema_.migrate();
        connection_ = schema_.connect();
        loader::prepare_staging(*connection_);
    }

    void store(const std::vector<activation::Destination>& destinations) {
        activation::store_destinations(*connection_, destinations);
    }

    void load(const std::vector<common::Event>& events) {
        loader::write_batch(*connection_, test::pointers(events), {});
    }

    std::string outbox() const {
        return schema_.scalar(
            "SELECT coalesce(string_agg(destination || ':' || event_id || ':' || what || ':' || "
            "state, ' ' ORDER BY destination, event_id), '') FROM activation_outbox");
    }

    test::TestSchema schema_;
    std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace

TEST_F(ActivationTest, TheBatchThatStoresAnEventEnqueuesItOncePerDestinationAndOrder) {
    store({order_destination("crm", "2024-01-01T00:00:00Z"),
           order_destination("later", "2030-01-01T00:00:00Z")});
    load({order("ev-1", "o-1", "u-1"), test::sample_event("ev-2")});
    // The browser's copy of the same order merges into the row: no second
    // enqueue; another event id for the same order is not sent twice.
    auto copy = order("ev-1", "o-1", "u-1");
    copy.source = common::Source::browser;
    load({copy, order("ev-3", "o-1", "u-1"), order("ev-4", "o-2", "u-1")});
    EXPECT_EQ(outbox(), "crm:ev-1:order:pending crm:ev-4:order:pending");
    EXPECT_EQ(schema_.scalar("SELECT order_id FROM activation_outbox WHERE event_id = 'ev-1'"),
              "o-1");
}

TEST_F(ActivationTest, ADestinationGoneFromTheFileIsSentNothingNew) {
    store({order_destination("crm", "2024-01-01T00:00:00Z")});
    load({order("ev-1", "o-1", "u-1")});
    store({});
    load({order("ev-2", "o-2", "u-1")});
    EXPECT_EQ(outbox(), "crm:ev-1:order:pending");
    EXPECT_EQ(schema_.scalar("SELECT removed_at IS NOT NULL FROM activation_destinations"), "t");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM activation_rules"), "0");
}

TEST_F(ActivationTest, MicroConversionsFollowTheClassesTheModelsObserve) {
    auto d = order_destination("ads", "2024-01-01T00:00:00Z");
    d.classes = {"P1"};
    // Classes as a refresh would leave them.
    schema_.scalar(
        "ALTER VIEW models.event_value RENAME TO event_value_built;"
        "CREATE VIEW models.event_value AS SELECT * FROM (VALUES "
        "('add_to_cart', 'P1', 2.5::numeric), ('page_view', 'P3', 0.1)) "
        "AS v(event_name, value_class, expected_revenue_per_occurrence)");
    store({d});
    EXPECT_EQ(
        schema_.scalar("SELECT string_agg(event_name || ':' || what, ' ' ORDER BY event_name) "
                       "FROM activation_rules"),
        "add_to_cart:micro order_completed:order");
    auto page = test::sample_event("ev-3");
    page.event_name = "page_view";
    load({test::sample_event("ev-2"), page});
    EXPECT_EQ(outbox(), "ads:ev-2:micro:pending");
    const auto claimed = activation::claim(*connection_, "ads", 10, 0ms, 60s);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].event.expected_revenue, 2.5);
    EXPECT_EQ(claimed[0].event.what, activation::What::micro);
    EXPECT_EQ(claimed[0].event.person_id, "anonymous:anon");
}

TEST_F(ActivationTest, AClaimLeasesRowsUntilFinishedAndALapsedLeaseMakesThemDueAgain) {
    store({order_destination("crm", "2024-01-01T00:00:00Z")});
    load({order("ev-1", "o-1", "u-1")});
    EXPECT_TRUE(activation::claim(*connection_, "crm", 10, 60s, 60s).empty());  // settling
    const auto settling = activation::backlog(*connection_, "crm", 60s);
    EXPECT_EQ(settling.pending, 1u);
    ASSERT_TRUE(settling.next_due);
    EXPECT_GT(*settling.next_due, 50s);

    auto first = activation::claim(*connection_, "crm", 10, 0ms, 60s);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].attempts, 1);
    EXPECT_EQ(first[0].event.person_id, "user:u-1");
    EXPECT_EQ(first[0].event.event_name, "order_completed");
    EXPECT_TRUE(activation::claim(*connection_, "crm", 10, 0ms, 60s).empty());  // leased

    activation::Outcome retry;
    retry.event_id = "ev-1";
    retry.state = activation::State::retry;
    retry.status = 503;
    retry.error = "HTTP 503: busy";
    activation::finish(*connection_, "crm", first[0].claim_id, {retry});
    EXPECT_EQ(outbox(), "crm:ev-1:order:pending");
    const auto again = activation::claim(*connection_, "crm", 10, 0ms, 1ms);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].attempts, 2);
    std::this_thread::sleep_for(20ms);  // the sender holding it died: its lease lapses
    const auto lapsed = activation::claim(*connection_, "crm", 10, 0ms, 60s);
    ASSERT_EQ(lapsed.size(), 1u);
    EXPECT_EQ(lapsed[0].attempts, 3);
    EXPECT_NE(lapsed[0].claim_id, again[0].claim_id);
    // The sender whose lease lapsed answers late: its outcome is not the
    // row's any more, and changes nothing.
    activation::Outcome late;
    late.event_id = "ev-1";
    late.state = activation::State::failed;
    late.error = "late";
    activation::finish(*connection_, "crm", again[0].claim_id, {late});
    EXPECT_EQ(outbox(), "crm:ev-1:order:sending");

    activation::Outcome sent;
    sent.event_id = "ev-1";
    sent.status = 200;
    sent.value = 10;
    sent.currency = "EUR";
    activation::finish(*connection_, "crm", lapsed[0].claim_id, {sent});
    EXPECT_EQ(schema_.scalar("SELECT state || ' ' || attempts || ' ' || value || ' ' || currency "
                             "|| ' ' || last_status || ' ' || (sent_at IS NOT NULL) "
                             "FROM deliveries"),
              "sent 3 10.0 EUR 200 true");
    EXPECT_TRUE(activation::claim(*connection_, "crm", 10, 0ms, 60s).empty());
    EXPECT_EQ(activation::backlog(*connection_, "crm", 0ms).pending, 0u);
}

TEST_F(ActivationTest, ErasureTakesAPersonsRowsNotSentYetAndKeepsTheRecordOfThoseSent) {
    store({order_destination("crm", "2024-01-01T00:00:00Z")});
    load({order("ev-1", "o-1", "u-1"), order("ev-2", "o-2", "u-1"), order("ev-3", "o-3", "u-2")});
    activation::Outcome sent;
    sent.event_id = "ev-1";
    const auto first = activation::claim(*connection_, "crm", 1, 0ms, 60s);  // ev-1
    ASSERT_EQ(first.size(), 1u);
    activation::finish(*connection_, "crm", first[0].claim_id, {sent});
    schema_.scalar("SELECT events_deleted FROM funnelhouse_forget('u-1', 'user')");
    EXPECT_EQ(outbox(), "crm:ev-1:order:sent crm:ev-3:order:pending");
    // And what a suppressed person sends later is never stored, so never
    // enqueued.
    load({order("ev-4", "o-4", "u-1")});
    EXPECT_EQ(outbox(), "crm:ev-1:order:sent crm:ev-3:order:pending");
}

TEST_F(ActivationTest, AnEventWithoutAdIdsIsClaimedWithThoseOfThePersonsLatestEventWithThem) {
    store({order_destination("crm", "2024-01-01T00:00:00Z")});
    const auto at = [](const char* text) { return *common::parse_timestamp(text); };
    auto visit = [&](const std::string& id, const char* when, const std::string& gclid) {
        auto e = test::sample_event(id);
        e.anonymous_id = "a-9";
        e.occurred_at = at(when);
        e.context = R"({"adIds": {"gclid": ")" + gclid + R"("}})";
        return e;
    };
    auto login = test::sample_event("ev-login");
    login.anonymous_id = "a-9";
    login.user_id = "u-9";
    login.occurred_at = at("2024-04-30T10:00:00Z");
    // The backend's order names the user alone, and comes with no ad ids.
    auto backend = order("ev-order", "o-9", "u-9");
    backend.occurred_at = at("2024-05-01T12:00:00Z");
    load({visit("ev-old", "2024-04-20T10:00:00Z", "older"),
          visit("ev-new", "2024-04-29T10:00:00Z", "newer"),
          visit("ev-after", "2024-05-02T10:00:00Z", "after the order"), login, backend});
    const auto claimed = activation::claim(*connection_, "crm", 10, 0ms, 60s);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].event.person_id, "user:u-9");
    EXPECT_EQ(claimed[0].event.person_ad_ids, R"({"gclid": "newer"})");
}

TEST_F(ActivationTest, TheDeliveriesPanelCountsPerDestinationInTheRangeAndWhatWaitsNow) {
    store({order_destination("crm", "2024-01-01T00:00:00Z"),
           order_destination("quiet", "2024-01-01T00:00:00Z")});
    auto later = order("ev-3", "o-3", "u-3");
    later.occurred_at = *common::parse_timestamp("2024-06-01T12:00:00Z");
    load({order("ev-1", "o-1", "u-1"), order("ev-2", "o-2", "u-2"), later,
          order("ev-4", "o-4", "u-4")});
    // ev-1 sent after a retry, ev-2 refused, ev-3 sent (a month later), ev-4
    // waiting after a retry; nothing sent to "quiet".
    const auto outcome = [](const char* id, activation::State state, const char* error) {
        activation::Outcome o;
        o.event_id = id;
        o.state = state;
        o.error = error;
        o.value = 10;
        return o;
    };
    const auto all = activation::claim(*connection_, "crm", 4, 0ms, 60s);
    ASSERT_EQ(all.size(), 4u);
    auto wait = outcome("ev-4", activation::State::retry, "HTTP 503");
    wait.retry_in = 60s;
    activation::finish(*connection_, "crm", all[0].claim_id,
                       {outcome("ev-1", activation::State::retry, "HTTP 503"), wait,
                        outcome("ev-2", activation::State::failed, "HTTP 400: bad order"),
                        outcome("ev-3", activation::State::sent, "")});
    const auto again = activation::claim(*connection_, "crm", 1, 0ms, 60s);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].event.event_id, "ev-1");
    activation::finish(*connection_, "crm", again[0].claim_id,
                       {outcome("ev-1", activation::State::sent, "")});
    test::refresh_models(schema_);
    const auto panel = [&](const std::string& from, const std::string& to) {
        return schema_.scalar(
            "SET ROLE funnelhouse_analyst; SELECT string_agg(concat_ws(' ', destination, kind, "
            "removed, sent, failed, skipped, retried, value_sent, pending, "
            "oldest_pending_seconds IS NOT NULL, coalesce(last_failure, '-')), ' | ') "
            "FROM models.dashboard_deliveries(" +
            from + ", " + to + ", 'all', NULL)");
    };
    EXPECT_EQ(panel("NULL", "NULL"),
              "crm webhook f 2 1 0 1 20.0 1 t HTTP 400: bad order | "
              "quiet webhook f 0 0 0 0 0 4 t -");
    EXPECT_EQ(panel("'2024-05-01'", "'2024-05-31'"),
              "crm webhook f 1 1 0 1 10.0 1 t HTTP 400: bad order | "
              "quiet webhook f 0 0 0 0 0 4 t -");
}
