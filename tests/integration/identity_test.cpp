// Identity stitching against the real PostgreSQL: links made by the loader,
// persons as connected components, the shared-device refusal, and
// retroactive stitching through events_stitched.
#include <gtest/gtest.h>

#include "funnelhouse/loader/writer.hpp"
#include "sample_events.hpp"
#include "writer_fixture.hpp"

using namespace funnelhouse;

namespace {

struct Journey {
    std::vector<common::Event> events;
    int next = 0;

    // One event at minute `minute` of 2024-05-01 12:00.
    common::Event& add(const std::string& name, std::optional<std::string> anonymous_id,
                       std::optional<std::string> user_id, int minute) {
        auto event = test::sample_event("ev-" + std::to_string(next++));
        event.event_name = name;
        event.event_type = name == "identify" ? "identify" : name == "alias" ? "alias" : "track";
        event.anonymous_id = std::move(anonymous_id);
        event.user_id = std::move(user_id);
        event.occurred_at =
            *common::parse_timestamp("2024-05-01T12:00:00Z") + std::chrono::minutes(minute);
        events.push_back(event);
        return events.back();
    }
};

class IdentityTest : public test::WriterFixture {
  protected:
    // Each event in its own batch, as they would arrive over time.
    void load_one_by_one(const Journey& journey) {
        for (const auto& event : journey.events) loader::write_batch(*connection_, {&event}, {});
    }
    std::string person_of(const std::string& event_id) {
        return schema_.scalar("SELECT person_id FROM events_stitched WHERE event_id = '" +
                              event_id + "'");
    }
};

}  // namespace

TEST_F(IdentityTest, TwoDevicesThatLogInAsOneUserAreOnePersonRetroactively) {
    Journey journey;
    journey.add("product_viewed", "phone", std::nullopt, 0);   // ev-0
    journey.add("product_viewed", "laptop", std::nullopt, 1);  // ev-1
    load_one_by_one(journey);
    EXPECT_EQ(person_of("ev-0"), "anonymous:phone");
    EXPECT_EQ(person_of("ev-1"), "anonymous:laptop");

    Journey logins;
    logins.next = 2;
    logins.add("identify", "phone", "ann", 5);      // ev-2
    logins.add("add_to_cart", "laptop", "ann", 6);  // ev-3: any event with both ids links
    load_one_by_one(logins);

    // Events stored before the logins now belong to Ann, without rewriting events.
    EXPECT_EQ(person_of("ev-0"), "user:ann");
    EXPECT_EQ(person_of("ev-1"), "user:ann");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events WHERE user_id IS NULL"), "2");
    EXPECT_EQ(schema_.scalar("SELECT string_agg(id_type || ':' || id || '=' || person_id, ',' "
                             "ORDER BY id_type, id) FROM identity_map"),
              "anonymous:laptop=user:ann,anonymous:phone=user:ann,user:ann=user:ann");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM identity_links"), "2");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM persons"), "1");
    EXPECT_EQ(schema_.scalar("SELECT to_char(first_seen AT TIME ZONE 'UTC', 'HH24:MI') || ' ' || "
                             "to_char(last_seen AT TIME ZONE 'UTC', 'HH24:MI') || ' ' || "
                             "array_to_string(user_ids, ',') FROM persons"),
              "12:00 12:06 ann");
}

TEST_F(IdentityTest, MultiHopAliasChainsJoinOnePerson) {
    Journey journey;
    journey.add("page_view", "a1", std::nullopt, 0);
    journey.add("identify", "a1", "old-id", 1);
    auto& alias = journey.add("alias", std::nullopt, "new-id", 2);  // the user id was migrated
    alias.previous_id = "old-id";
    journey.add("identify", "a2", "new-id", 3);
    load_one_by_one(journey);
    EXPECT_EQ(schema_.scalar("SELECT count(DISTINCT person_id) FROM events_stitched"), "1");
    EXPECT_EQ(person_of("ev-0"), "user:new-id");
    EXPECT_EQ(schema_.scalar("SELECT array_to_string(user_ids, ',') FROM persons"),
              "new-id,old-id");
}

TEST_F(IdentityTest, AnAliasThatArrivesBeforeTheOldUserIdsEventsStillJoinsThem) {
    // With several servers the alias can be loaded before the events of the
    // user id it retires, which happened earlier.
    Journey journey;
    auto& alias = journey.add("alias", std::nullopt, "new-id", 5);  // ev-0
    alias.previous_id = "old-id";
    journey.add("product_viewed", std::nullopt, "old-id", 1);  // ev-1
    journey.add("identify", "a1", "old-id", 2);                // ev-2
    journey.add("page_view", "a1", std::nullopt, 3);           // ev-3
    load_one_by_one(journey);
    EXPECT_EQ(person_of("ev-1"), "user:new-id");
    EXPECT_EQ(person_of("ev-3"), "user:new-id");
    EXPECT_EQ(schema_.scalar("SELECT count(DISTINCT person_id) FROM events_stitched"), "1");
    EXPECT_EQ(schema_.scalar("SELECT array_to_string(user_ids, ',') FROM persons"),
              "new-id,old-id");
}

TEST_F(IdentityTest, ASharedComputerNeverMergesTwoUsers) {
    Journey journey;
    journey.add("page_view", "kiosk", std::nullopt, 0);     // ev-0: before any login
    journey.add("identify", "kiosk", "ann", 10);            // ev-1
    journey.add("add_to_cart", "kiosk", std::nullopt, 11);  // ev-2: Ann's session
    journey.add("identify", "kiosk", "bob", 20);  // ev-3: Bob logs in on the same computer
    journey.add("add_to_cart", "kiosk", std::nullopt, 21);  // ev-4: Bob's session
    load_one_by_one(journey);

    EXPECT_EQ(schema_.scalar("SELECT anonymous_id || ' ' || kept_user_id || ' ' || refused_user_id "
                             "|| ' ' || event_id FROM identity_conflicts"),
              "kiosk ann bob ev-3");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM persons WHERE cardinality(user_ids) > 0"), "2");
    EXPECT_EQ(person_of("ev-0"), "user:ann");  // before any login: the first user
    EXPECT_EQ(person_of("ev-2"), "user:ann");
    EXPECT_EQ(person_of("ev-3"), "user:bob");
    EXPECT_EQ(person_of("ev-4"), "user:bob");  // the user who identified closest before
}

TEST_F(IdentityTest, LinksInOneBatchApplyInTheOrderTheyHappened) {
    Journey journey;
    journey.add("identify", "shared", "bob", 20);
    journey.add("identify", "shared", "ann", 10);  // earlier, though later in the batch
    loader::write_batch(*connection_, test::pointers(journey.events), {});
    EXPECT_EQ(
        schema_.scalar("SELECT kept_user_id || ' ' || refused_user_id FROM identity_conflicts"),
        "ann bob");
}

TEST_F(IdentityTest, PersonsCarryTheLatestNonNullTraits) {
    Journey journey;
    auto& first = journey.add("identify", "a", "cy", 0);
    first.properties = R"({"plan":"free","email":"cy@shop.example"})";
    auto& second = journey.add("identify", "a", "cy", 5);
    second.properties = R"({"plan":"pro","email":null})";
    load_one_by_one(journey);
    EXPECT_EQ(schema_.scalar("SELECT traits->>'plan' || ' ' || (traits->>'email') FROM persons"),
              "pro cy@shop.example");
}

TEST_F(IdentityTest, AnAliasFromASharedDeviceIsRefusedLikeAnIdentify) {
    Journey journey;
    journey.add("identify", "kiosk", "ann", 0);
    auto& alias = journey.add("alias", "kiosk", "bob",
                              5);  // what analytics.js sends: previousId = its anonymous id
    alias.previous_id = "kiosk";
    load_one_by_one(journey);
    EXPECT_EQ(
        schema_.scalar("SELECT kept_user_id || ' ' || refused_user_id FROM identity_conflicts"),
        "ann bob");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM persons WHERE cardinality(user_ids) > 0"), "2");
    EXPECT_EQ(schema_.scalar("SELECT person_id FROM identity_map WHERE id = 'ann'"), "user:ann");
}

TEST_F(IdentityTest, AMergedBrowserAndServerCopyLinksTheDevice) {
    // The page knows only the anonymous id, the backend only the user id.
    auto browser = test::sample_event("order-1");
    browser.anonymous_id = "a-phone";
    browser.user_id = std::nullopt;
    auto server = browser;
    server.source = common::Source::server;
    server.anonymous_id = std::nullopt;
    server.user_id = "ann";
    loader::write_batch(*connection_, {&browser}, {});
    loader::write_batch(*connection_, {&server}, {});
    EXPECT_EQ(
        schema_.scalar(
            "SELECT person_id FROM identity_map WHERE id_type = 'anonymous' AND id = 'a-phone'"),
        "user:ann");
    EXPECT_EQ(schema_.scalar("SELECT link_kind FROM identity_links"), "event");
}

TEST_F(IdentityTest, MigratingADatabaseWithEventsStitchesThemToo) {
    // Events already stored when the identity tables appear: empty them and
    // run the migration's backfill again.
    Journey journey;
    journey.add("page_view", "a1", std::nullopt, 0);
    journey.add("identify", "a1", "dee", 1);
    journey.add("order_completed", std::nullopt, "dee", 2);
    load_one_by_one(journey);
    schema_.scalar("TRUNCATE identity_map, identity_links, identity_conflicts");
    EXPECT_EQ(person_of("ev-2"), "user:dee");  // a user id alone is its own person
    EXPECT_EQ(person_of("ev-0"), "anonymous:a1");
    auto connection = schema_.connect();
    pqxx::nontransaction txn(*connection);
    txn.exec("DELETE FROM schema_migrations WHERE version >= '0004'");
    txn.exec(
        "DROP VIEW deliveries; DROP TABLE activation_outbox, activation_rules, activation_classes,"
        " activation_destinations, alerts CASCADE; DROP FUNCTION funnelhouse_alerts_sync; DROP TRIGGER events_removed_from_outbox ON events;"
        "DROP FUNCTION funnelhouse_activation_rules, funnelhouse_activation_events_removed;"
        "DROP FUNCTION funnelhouse_forget; DROP FUNCTION funnelhouse_forget_unguarded;"
        "DROP TABLE suppressed_ids, erasures;"
        "DROP FUNCTION funnelhouse_raw_ids; DROP INDEX events_previous_idx;"
        "DROP SCHEMA models, models_a, models_b CASCADE; DROP VIEW persons; DROP VIEW "
        "events_stitched; DROP FUNCTION funnelhouse_link;"
        "DROP TABLE identity_links, identity_map, identity_conflicts; DROP INDEX events_login_idx;"
        "DROP SEQUENCE identity_generation; DROP FUNCTION funnelhouse_identity_removed");
    schema_.migrate();
    EXPECT_EQ(person_of("ev-0"), "user:dee");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM persons"), "1");
}
