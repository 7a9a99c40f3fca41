// What the loader remembers as stored in identity_map and identity_links.
#include "funnelhouse/loader/known_ids.hpp"

#include <gtest/gtest.h>

#include "sample_events.hpp"

using namespace funnelhouse;
using loader::Fate;
using loader::KnownIds;

namespace {

common::Event with_ids(std::optional<std::string> anonymous, std::optional<std::string> user,
                       const std::string& type = "track") {
    auto event = test::sample_event("e");
    event.event_type = type;
    event.anonymous_id = std::move(anonymous);
    event.user_id = std::move(user);
    return event;
}

void remember(KnownIds& known, const common::Event& event, Fate fate) {
    known.remember({&event}, {fate}, known.generation());
}

}  // namespace

TEST(KnownIds, KnowsAnIdOrALinkOnlyOnceABatchStoredIt) {
    KnownIds known(100);
    const auto anonymous = with_ids("a-1", std::nullopt);
    const auto user = with_ids(std::nullopt, "u-1");
    const auto both = with_ids("a-1", "u-1");
    EXPECT_FALSE(known.knows(anonymous));
    remember(known, anonymous, Fate::inserted);
    remember(known, user, Fate::duplicate);
    EXPECT_TRUE(known.knows(anonymous));
    EXPECT_TRUE(known.knows(user));
    // Both ids stored, each on its own: their link is not.
    EXPECT_FALSE(known.knows(both));
    // A merged copy's link is the row's, not the copy's: not remembered.
    remember(known, both, Fate::duplicate);
    EXPECT_FALSE(known.knows(both));
    remember(known, both, Fate::inserted);
    EXPECT_TRUE(known.knows(both));
    EXPECT_FALSE(known.knows(with_ids("a-1", "u-2")));
    EXPECT_FALSE(known.knows(with_ids("a-2", std::nullopt)));
}

TEST(KnownIds, RemembersNothingOfCollisionsSuppressedEventsAndAliases) {
    KnownIds known(100);
    remember(known, with_ids("a-1", std::nullopt), Fate::collision);
    remember(known, with_ids("a-2", std::nullopt), Fate::suppressed);
    EXPECT_FALSE(known.knows(with_ids("a-1", std::nullopt)));
    EXPECT_FALSE(known.knows(with_ids("a-2", std::nullopt)));
    // An alias links its previous id, not its anonymous id, to the user.
    const auto alias = with_ids("a-3", "u-3", "alias");
    remember(known, alias, Fate::inserted);
    EXPECT_FALSE(known.knows(with_ids("a-3", "u-3")));
    EXPECT_TRUE(known.knows(with_ids("a-3", std::nullopt)));
    EXPECT_FALSE(known.knows(alias));
    EXPECT_FALSE(known.knows(with_ids(std::nullopt, std::nullopt)));
}

TEST(KnownIds, LinksOfDifferentIdsNeverShareAnEntry) {
    KnownIds known(100);
    remember(known, with_ids("ab", "c"), Fate::inserted);
    EXPECT_TRUE(known.knows(with_ids("ab", "c")));
    EXPECT_FALSE(known.knows(with_ids("a", "bc")));
}

TEST(KnownIds, StaysWithinItsCapacityAndKeepsTheIdsInUse) {
    KnownIds known(10);
    const auto hot = with_ids("hot", std::nullopt);
    remember(known, hot, Fate::inserted);
    for (int i = 0; i < 1000; ++i) {
        remember(known, with_ids("a-" + std::to_string(i), std::nullopt), Fate::inserted);
        ASSERT_LE(known.size(), 10u) << "after " << i;
        ASSERT_TRUE(known.knows(hot)) << "after " << i;
    }
    EXPECT_TRUE(known.knows(with_ids("a-999", std::nullopt)));
    EXPECT_FALSE(known.knows(with_ids("a-0", std::nullopt)));
}

TEST(KnownIds, AnotherGenerationForgetsEverything) {
    KnownIds known(100);
    const auto event = with_ids("a-1", std::nullopt);
    known.observe_generation(7);
    remember(known, event, Fate::inserted);
    known.observe_generation(7);
    EXPECT_TRUE(known.knows(event));
    known.observe_generation(8);
    EXPECT_FALSE(known.knows(event));
    EXPECT_EQ(known.size(), 0u);
    EXPECT_EQ(known.generation(), 8);
}

// A batch committed under generation 7 while another batch already read 8
// (identity rows were removed after the first one read its generation):
// what the first one stored may be gone, so it is not remembered.
TEST(KnownIds, ABatchThatReadAnOlderGenerationRemembersNothing) {
    KnownIds known(100);
    const auto event = with_ids("a-1", std::nullopt);
    known.observe_generation(8);
    known.remember({&event}, {Fate::inserted}, 7);
    EXPECT_FALSE(known.knows(event));
    EXPECT_EQ(known.size(), 0u);
    known.remember({&event}, {Fate::inserted}, 8);
    EXPECT_TRUE(known.knows(event));
}

// Two lanes read 7 and then 8; the one that read 7 reports it last.
TEST(KnownIds, AnOlderGenerationReportedLateChangesNothing) {
    KnownIds known(100);
    const auto event = with_ids("a-1", std::nullopt);
    known.observe_generation(8);
    remember(known, event, Fate::inserted);
    known.observe_generation(7);
    EXPECT_EQ(known.generation(), 8);
    EXPECT_TRUE(known.knows(event));
    // And what a batch under 7 stored is not taken as known under 8.
    const auto late = with_ids("a-2", std::nullopt);
    known.remember({&late}, {Fate::inserted}, 7);
    EXPECT_FALSE(known.knows(late));
}

TEST(KnownIds, CapacityZeroRemembersNothing) {
    KnownIds known(0);
    const auto event = with_ids("a-1", std::nullopt);
    remember(known, event, Fate::inserted);
    EXPECT_FALSE(known.knows(event));
    EXPECT_EQ(known.size(), 0u);
}
