// The loader's known ids against the real PostgreSQL: events whose ids are
// stored already skip the identity steps, and whatever removes identity rows
// makes the loader store them again.
#include "funnelhouse/loader/known_ids.hpp"

#include <gtest/gtest.h>

#include "funnelhouse/loader/writer.hpp"
#include "sample_events.hpp"
#include "writer_fixture.hpp"

using namespace funnelhouse;
using loader::Fate;

namespace {

common::Event event_of(const std::string& id, std::optional<std::string> anonymous,
                       std::optional<std::string> user,
                       common::Source source = common::Source::browser) {
    auto event = test::sample_event(id);
    event.anonymous_id = std::move(anonymous);
    event.user_id = std::move(user);
    event.source = source;
    event.write_key_name = source == common::Source::browser ? "web" : "backend";
    return event;
}

class KnownIdsTest : public test::WriterFixture {
  protected:
    std::vector<Fate> write(const std::vector<common::Event>& events) {
        return loader::write_batch(*connection_, test::pointers(events), {}, nullptr, &known_);
    }
    // What the batch leaves in the stage for the identity steps (fate and
    // id, in the batch's order), read before its transaction ends (which
    // empties the stage); the batch is rolled back when `keep` is false.
    std::string staged_by(const std::vector<common::Event>& events, loader::KnownIds* known,
                          bool keep) {
        pqxx::work txn(*connection_);
        loader::BatchCounts counts;
        const auto fates = loader::write_rows(txn, test::pointers(events), {}, &counts, known);
        const auto staged = txn.exec(
                                   "SELECT coalesce(string_agg(coalesce(fate, '-') || ':' || "
                                   "event_id, ',' ORDER BY seq),"
                                   " '') FROM funnelhouse_events_stage")[0][0]
                                .as<std::string>();
        if (keep) {
            txn.commit();
            if (known) known->remember(test::pointers(events), fates, counts.identity_generation);
        }
        return staged;
    }
    std::string ids() const {
        return schema_.scalar(
            "SELECT string_agg(id_type || ':' || id || '=' || person_id, ',' ORDER BY id_type, id)"
            " FROM identity_map");
    }
    loader::KnownIds known_{1000};
};

}  // namespace

TEST_F(KnownIdsTest, NewRowsWithKnownIdsAreNotStagedForTheIdentitySteps) {
    write({event_of("e-1", "anon-a", std::nullopt), event_of("e-2", "anon-b", "user-u")});
    const std::vector<common::Event> next{
        event_of("e-3", "anon-a", std::nullopt),                          // known id
        event_of("e-4", "anon-b", "user-u"),                              // known link
        event_of("e-5", "anon-c", std::nullopt),                          // new id
        event_of("e-6", "anon-a", std::nullopt, common::Source::server),  // known, server
        event_of("e-7", "anon-a", "user-u")};                             // new link
    // Without known ids, every event is staged with its ids.
    EXPECT_EQ(staged_by(next, nullptr, false),
              "copied:e-3,copied:e-4,copied:e-5,copied:e-6,copied:e-7");
    // With them, a browser event whose ids are known is not staged at all and
    // a server event by its id alone (see kNoteRefusedBrowserCopies).
    EXPECT_EQ(staged_by(next, &known_, true), "copied:e-5,known:e-6,copied:e-7");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "7");
    EXPECT_EQ(schema_.scalar("SELECT string_agg(anonymous_id || '>' || user_id, ',' ORDER BY"
                             " anonymous_id) FROM identity_links"),
              "anon-a>user-u,anon-b>user-u");
    EXPECT_EQ(ids(),
              "anonymous:anon-a=user:user-u,anonymous:anon-b=user:user-u,"
              "anonymous:anon-c=anonymous:anon-c,user:user-u=user:user-u");
}

TEST_F(KnownIdsTest, IdsRemovedBetweenBatchesAreStoredAgain) {
    write({event_of("e-1", "anon-a", std::nullopt)});
    ASSERT_TRUE(known_.knows(event_of("e-2", "anon-a", std::nullopt)));
    schema_.scalar("DELETE FROM identity_map");
    EXPECT_EQ(write({event_of("e-2", "anon-a", std::nullopt)}), std::vector<Fate>{Fate::inserted});
    EXPECT_EQ(ids(), "anonymous:anon-a=anonymous:anon-a");
    schema_.scalar("TRUNCATE identity_map");
    write({event_of("e-3", "anon-a", std::nullopt)});
    EXPECT_EQ(ids(), "anonymous:anon-a=anonymous:anon-a");
}

TEST_F(KnownIdsTest, IdsRemovedDuringABatchAreStoredAgain) {
    write({event_of("e-1", "anon-a", std::nullopt)});
    const auto before = known_.generation();
    // Something removes the id while the next batch writes its rows: after
    // the batch read the generation, before its identity steps.
    schema_.scalar(R"sql(
        CREATE FUNCTION remove_anon_a() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM identity_map WHERE id = 'anon-a'; RETURN NULL; END $$;
        CREATE TRIGGER remove_anon_a AFTER INSERT ON events
            FOR EACH STATEMENT EXECUTE FUNCTION remove_anon_a();
        SELECT 1)sql");
    EXPECT_EQ(write({event_of("e-2", "anon-a", std::nullopt)}), std::vector<Fate>{Fate::inserted});
    EXPECT_EQ(ids(), "anonymous:anon-a=anonymous:anon-a");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "2");
    EXPECT_GT(known_.generation(), before);
}

TEST_F(KnownIdsTest, AServerEventWithKnownIdsStillNotesARefusedBrowserCopy) {
    write({event_of("e-1", "anon-a", std::nullopt, common::Source::server)});
    const auto refused = test::refused_browser_copy("5d0c6f2e-1a7b-4c3e-9f0d-3b2a1c4d5e6f", "o-9",
                                                    "2024-05-01T12:00:03Z");
    loader::write_batch(*connection_, {}, {&refused}, nullptr, &known_);

    auto order = event_of("o-9", "anon-a", std::nullopt, common::Source::server);
    order.event_name = "order_completed";
    ASSERT_TRUE(known_.knows(order));
    EXPECT_EQ(write({order}), std::vector<Fate>{Fate::inserted});
    EXPECT_EQ(schema_.scalar("SELECT sources || ' ' || to_char(browser_received_at AT TIME ZONE"
                             " 'UTC', 'HH24:MI:SS') FROM events WHERE event_id = 'o-9'"),
              "both 12:00:03");
}
