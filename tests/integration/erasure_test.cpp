// Erasure (funnelhouse_forget), suppression in the loader, and the database
// roles, against the real PostgreSQL.
#include <gtest/gtest.h>

#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "funnelhouse/models/refresh.hpp"
#include "funnelhouse/schema/registry.hpp"
#include "login_role.hpp"
#include "model_files.hpp"
#include "sample_events.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"
#include "writer_fixture.hpp"

using namespace funnelhouse;

namespace {

common::Event event_of(const std::string& id, const std::string& name,
                       std::optional<std::string> anonymous_id, std::optional<std::string> user_id,
                       int minute) {
    auto event = test::sample_event(id);
    event.event_name = name;
    event.event_type = name == "identify" ? "identify" : "track";
    event.anonymous_id = std::move(anonymous_id);
    event.user_id = std::move(user_id);
    event.occurred_at =
        *common::parse_timestamp("2024-05-01T12:00:00Z") + std::chrono::minutes(minute);
    return event;
}

common::BadEvent bad_event_of(const std::string& uuid, const std::string& raw) {
    common::BadEvent bad;
    bad.bad_event_id = uuid;
    bad.raw_event = raw;
    bad.errors = "[]";
    bad.reason = "schema_violation";
    bad.route = "/v1/batch";
    bad.write_key_name = "web";
    bad.received_at = *common::parse_timestamp("2024-05-01T12:00:00Z");
    return bad;
}

class ErasureTest : public test::WriterFixture {
  protected:
    static void SetUpTestSuite() {
        registry_ = new schema::SchemaRegistry(
            schema::SchemaRegistry::load(test::source_dir() / "schemas"));
    }
    static void TearDownTestSuite() { delete registry_; }

    // Ann uses a phone and a laptop and logs in on both; Bob is someone else.
    void load_two_persons() {
        events_ = {event_of("ann-1", "product_viewed", "phone", std::nullopt, 0),
                   event_of("ann-2", "identify", "phone", "ann", 1),
                   event_of("ann-3", "add_to_cart", "laptop", "ann", 2),
                   event_of("ann-4", "checkout_started", std::nullopt, "ann", 3),
                   event_of("bob-1", "product_viewed", "desk", std::nullopt, 0),
                   event_of("bob-2", "identify", "desk", "bob", 1)};
        for (const auto& event : events_) loader::write_batch(*connection_, {&event}, {});
        const auto ann_bad = bad_event_of("00000000-0000-0000-0000-00000000000a",
                                          R"({"type":"track","userId":"ann","event":"x"})");
        const auto bob_bad = bad_event_of("00000000-0000-0000-0000-00000000000b",
                                          R"({"type":"track","anonymousId":"desk","event":"x"})");
        const auto not_json = bad_event_of("00000000-0000-0000-0000-00000000000c", "ann{");
        loader::write_batch(*connection_, {}, {&ann_bad, &bob_bad, &not_json});
    }

    std::string forget(const std::string& id, const std::string& type) {
        return schema_.scalar(
            "SELECT events_deleted || ' ' || bad_events_deleted || ' ' || identity_rows_deleted "
            "|| ' ' || identifiers FROM funnelhouse_forget('" +
            id + "', '" + type + "')");
    }

    static schema::SchemaRegistry* registry_;
    std::vector<common::Event> events_;
};

schema::SchemaRegistry* ErasureTest::registry_ = nullptr;

}  // namespace

TEST_F(ErasureTest, ForgetRemovesEveryRowOfTheStitchedPersonAndNoOneElses) {
    load_two_persons();
    models::refresh(*connection_, *registry_, test::model_catalog());
    models::refresh(*connection_, *registry_, test::model_catalog());  // both buffers hold Ann now
    ASSERT_EQ(schema_.scalar("SELECT count(*) FROM models_a.person_events "
                             "WHERE person_id = 'user:ann'"),
              "4");

    // Ann is found by her laptop's anonymous id alone: the whole person goes.
    // 4 events; 1 rejected message; links phone and laptop, map rows phone,
    // laptop and ann; 3 ids suppressed.
    EXPECT_EQ(forget("laptop", "anonymous"), "4 1 5 3");

    EXPECT_EQ(schema_.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "bob-1,bob-2");
    EXPECT_EQ(schema_.scalar("SELECT string_agg(raw_event, ',' ORDER BY raw_event) FROM "
                             "bad_events"),
              R"(ann{,{"type":"track","anonymousId":"desk","event":"x"})");
    EXPECT_EQ(schema_.scalar("SELECT string_agg(id, ',' ORDER BY id) FROM identity_map"),
              "bob,desk");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM identity_links WHERE user_id = 'ann'"), "0");
    for (const char* buffer : {"models_a", "models_b"}) {
        EXPECT_EQ(schema_.scalar(std::string("SELECT count(*) FROM ") + buffer +
                                 ".person_events WHERE person_id = 'user:ann'"),
                  "0")
            << buffer;
        EXPECT_EQ(schema_.scalar(std::string("SELECT count(*) FROM ") + buffer +
                                 ".person_events WHERE person_id = 'user:bob'"),
                  "2")
            << buffer;
    }
    // The audit row says what was done, and nothing about whom.
    EXPECT_EQ(schema_.scalar("SELECT given_id_type || ' ' || identifiers || ' ' || "
                             "events_deleted || ' ' || (model_rows_deleted > 0) FROM erasures"),
              "anonymous 3 4 true");
    const auto audit = schema_.scalar("SELECT row_to_json(e)::text FROM erasures e");
    EXPECT_EQ(audit.find("ann"), std::string::npos) << audit;
    EXPECT_EQ(audit.find("laptop"), std::string::npos) << audit;
    // Suppression holds hashes, not ids.
    std::vector<std::string> hashes{loader::suppression_hash("ann"),
                                    loader::suppression_hash("laptop"),
                                    loader::suppression_hash("phone")};
    std::sort(hashes.begin(), hashes.end());
    EXPECT_EQ(schema_.scalar("SELECT string_agg(id_hash, ',' ORDER BY id_hash) FROM "
                             "suppressed_ids"),
              hashes[0] + "," + hashes[1] + "," + hashes[2]);
}

TEST_F(ErasureTest, LaterEventsOfAnErasedPersonAreNotStored) {
    load_two_persons();
    forget("ann", "user");
    // What was still on its way (in a spool) when Ann was erased, by each of
    // her identifiers, beside Bob's.
    const std::vector<common::Event> late = {
        event_of("late-1", "add_to_cart", std::nullopt, "ann", 10),
        event_of("late-2", "product_viewed", "phone", std::nullopt, 11),
        event_of("late-3", "product_viewed", "desk", std::nullopt, 12),
        event_of("late-4", "add_to_cart", "laptop", "someone-new", 13)};
    const auto ann_bad = bad_event_of("00000000-0000-0000-0000-0000000000aa",
                                      R"({"type":"track","userId":"ann","event":"y"})");
    const auto bob_bad = bad_event_of("00000000-0000-0000-0000-0000000000bb",
                                      R"({"type":"track","userId":"bob","event":"y"})");
    loader::BatchCounts counts;
    const auto fates =
        loader::write_batch(*connection_, test::pointers(late), {&ann_bad, &bob_bad}, &counts);
    using loader::Fate;
    EXPECT_EQ(fates, (std::vector<Fate>{Fate::suppressed, Fate::suppressed, Fate::inserted,
                                        Fate::suppressed}));
    EXPECT_EQ(counts.suppressed_bad_events, 1u);
    EXPECT_EQ(schema_.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "bob-1,bob-2,late-3");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM bad_events WHERE raw_event LIKE '%\"y\"%'"),
              "1");
    // Nothing of Ann came back into the identity tables either.
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM identity_map WHERE id IN ('ann', 'phone', "
                             "'laptop', 'someone-new')"),
              "0");
}

TEST_F(ErasureTest, OnASharedDeviceOnlyThePersonsOwnEventsGo) {
    // Ann logs in on the family laptop first; later Bob does too (refused as
    // a merge: the laptop stays with Ann, Bob's login is a conflict).
    const std::vector<common::Event> events = {
        event_of("s-1", "product_viewed", "family", std::nullopt, 0),
        event_of("s-2", "identify", "family", "ann", 1),
        event_of("s-3", "identify", "family", "bob", 10),
        event_of("s-4", "add_to_cart", "family", "bob", 11),
        event_of("s-5", "product_viewed", "family", std::nullopt, 12)};
    for (const auto& event : events) loader::write_batch(*connection_, {&event}, {});
    ASSERT_EQ(schema_.scalar("SELECT count(*) FROM identity_conflicts"), "1");
    forget("ann", "user");
    // Ann's: the anonymous event before her login and her identify. Bob's
    // logins and the anonymous event after his login stay.
    EXPECT_EQ(schema_.scalar("SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events"),
              "s-3,s-4,s-5");
    // The laptop is not suppressed: Bob keeps using it.
    const auto later = event_of("s-6", "product_viewed", "family", std::nullopt, 20);
    EXPECT_EQ(loader::write_batch(*connection_, {&later}, {}),
              std::vector<loader::Fate>{loader::Fate::inserted});
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM suppressed_ids"), "1");  // ann only
}

TEST_F(ErasureTest, EventsKeptWithoutConsentCountButBelongToNoPerson) {
    load_two_persons();
    // Three add_to_cart events anonymized for want of consent: no ids.
    std::vector<common::Event> anonymized;
    for (int i = 0; i < 3; ++i)
        anonymized.push_back(
            event_of("nc-" + std::to_string(i), "add_to_cart", std::nullopt, std::nullopt, 30 + i));
    loader::write_batch(*connection_, test::pointers(anonymized), {});
    models::refresh(*connection_, *registry_, test::model_catalog());
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM models.person_events WHERE person_id IS NULL"),
              "0");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM persons"), "2");
    EXPECT_EQ(schema_.scalar("SELECT sum(events) FROM models.tracking_health "
                             "WHERE event_name = 'add_to_cart'"),
              "4");  // Ann's one and the three without a person
}

TEST_F(ErasureTest, ForgettingSomeoneNeverSeenStillSuppressesThem) {
    EXPECT_EQ(forget("carol", "user"), "0 0 0 1");
    const auto late = event_of("late-1", "add_to_cart", std::nullopt, "carol", 0);
    EXPECT_EQ(loader::write_batch(*connection_, {&late}, {}),
              std::vector<loader::Fate>{loader::Fate::suppressed});
    EXPECT_THROW(schema_.scalar("SELECT funnelhouse_forget('', 'user')"), pqxx::sql_error);
    EXPECT_THROW(schema_.scalar("SELECT funnelhouse_forget('x', 'device')"), pqxx::sql_error);
}

namespace {

using test::LoginRole;

bool refused(pqxx::connection& connection, const std::string& sql) {
    try {
        pqxx::work txn(connection);
        txn.exec(sql);
        return false;
    } catch (const pqxx::insufficient_privilege&) {
        return true;
    }
}

}  // namespace

TEST_F(ErasureTest, TheServerRoleLoadsAndRefreshesButCannotDeleteOrErase) {
    LoginRole server(schema_, "funnelhouse_server");
    auto connection = server.connect();
    loader::prepare_staging(*connection);
    // Everything a loader does: new rows, a browser copy merged into a
    // server row, links and a re-mapped person, a rejected message.
    auto order = event_of("o-1", "add_to_cart", "phone", "ann", 1);
    order.source = common::Source::server;
    const std::vector<common::Event> batch = {
        event_of("v-1", "product_viewed", "phone", std::nullopt, 0), order};
    loader::write_batch(*connection, test::pointers(batch), {});
    const auto browser_copy = event_of("o-1", "add_to_cart", "phone", "ann", 1);
    const auto bad = bad_event_of("00000000-0000-0000-0000-000000000001", "{}");
    EXPECT_EQ(loader::write_batch(*connection, {&browser_copy}, {&bad}),
              std::vector<loader::Fate>{loader::Fate::duplicate});
    EXPECT_EQ(schema_.scalar("SELECT browser_received_at IS NOT NULL FROM events "
                             "WHERE event_id = 'o-1'"),
              "t");
    const auto report = models::refresh(*connection, *registry_, test::model_catalog());
    EXPECT_GT(report.steps.size(), 10u);
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM models.person_events"), "2");

    EXPECT_TRUE(refused(*connection, "DELETE FROM events"));
    EXPECT_TRUE(refused(*connection, "UPDATE bad_events SET reason = 'x'"));
    EXPECT_TRUE(refused(*connection, "TRUNCATE identity_map"));
    EXPECT_TRUE(refused(*connection, "SELECT funnelhouse_forget('ann', 'user')"));
    EXPECT_TRUE(refused(*connection, "INSERT INTO suppressed_ids VALUES ('x', 1)"));
    EXPECT_TRUE(refused(*connection, "SELECT * FROM erasures"));
    EXPECT_TRUE(refused(*connection, "CREATE TABLE public.mine (x int)"));
    // The role a refresh becomes owns the models and reads the events: it
    // cannot change them either.
    for (const auto* statement :
         {"DELETE FROM events", "UPDATE identity_map SET person_id = 'x'",
          "INSERT INTO bad_events (raw_event) VALUES ('x')", "SELECT * FROM suppressed_ids"}) {
        pqxx::work txn(*connection);
        txn.exec("SET LOCAL ROLE funnelhouse_models");
        EXPECT_THROW(txn.exec(statement), pqxx::insufficient_privilege) << statement;
    }
}

// The server owns the models (through funnelhouse_models), so it could put a
// trigger on a model table that erasure deletes from, to run code with the
// rights of whoever erases. Erasure refuses while one is there.
TEST_F(ErasureTest, ATriggerOnAModelTableStopsErasureUntilItIsGone) {
    load_two_persons();
    models::refresh(*connection_, *registry_, test::model_catalog());
    LoginRole server(schema_, "funnelhouse_server");
    auto connection = server.connect();
    {
        pqxx::work txn(*connection);
        txn.exec("SET LOCAL ROLE funnelhouse_models");
        txn.exec(
            "CREATE FUNCTION models.planted() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN DELETE FROM erasures; RETURN OLD; END $$");
        // (On a table that stays on one server in both layouts: Citus
        // allows no trigger on a distributed table.)
        txn.exec(
            "CREATE TRIGGER planted BEFORE DELETE ON models_b.person_firsts "
            "FOR EACH ROW EXECUTE FUNCTION models.planted()");
        txn.commit();
    }
    try {
        schema_.scalar("SELECT funnelhouse_forget('ann', 'user')");
        FAIL() << "the erasure ran";
    } catch (const pqxx::sql_error& error) {
        EXPECT_NE(std::string(error.what())
                      .find("erasure refused: models_b.person_firsts has "
                            "triggers, rules or row security"),
                  std::string::npos)
            << error.what();
    }
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events WHERE event_id LIKE 'ann-%'"), "4");
    schema_.scalar("DROP TRIGGER planted ON models_b.person_firsts");
    EXPECT_EQ(schema_.scalar("SELECT events_deleted FROM funnelhouse_forget('ann', 'user')"), "4");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM erasures"), "1");
}

TEST_F(ErasureTest, TheAnalystRoleReadsEventsAndModelsAndWritesNothing) {
    load_two_persons();
    // Both buffers are rebuilt (new tables) after the role exists.
    LoginRole analyst(schema_, "funnelhouse_analyst");
    models::refresh(*connection_, *registry_, test::model_catalog());
    models::refresh(*connection_, *registry_, test::model_catalog());
    auto connection = analyst.connect();
    {
        pqxx::work txn(*connection);
        EXPECT_EQ(txn.exec("SELECT count(*) FROM models.person_events")[0][0].as<int>(), 6);
        EXPECT_EQ(txn.exec("SELECT count(*) FROM models_b.person_events")[0][0].as<int>(), 6);
        EXPECT_EQ(txn.exec("SELECT count(*) FROM events_stitched")[0][0].as<int>(), 6);
        EXPECT_EQ(txn.exec("SELECT count(*) FROM persons")[0][0].as<int>(), 2);
        txn.exec("SELECT * FROM models.cohort_ltv, models.event_value, models.tracking_health");
    }
    EXPECT_TRUE(refused(*connection, "INSERT INTO events (event_id) VALUES ('x')"));
    EXPECT_TRUE(refused(*connection, "DELETE FROM bad_events"));
    EXPECT_TRUE(refused(*connection, "UPDATE models.settings SET refresh_work_mem = '1MB'"));
    // The analyst can neither build models nor become the role that does.
    EXPECT_TRUE(refused(*connection, "SET ROLE funnelhouse_models"));
    EXPECT_TRUE(refused(*connection, "CREATE TABLE models_a.mine AS SELECT 1 AS one"));
    EXPECT_TRUE(refused(*connection, "DELETE FROM models_a.person_events"));
    EXPECT_TRUE(refused(*connection, "SELECT * FROM suppressed_ids"));
    EXPECT_TRUE(refused(*connection, "SELECT * FROM erasures"));
}
