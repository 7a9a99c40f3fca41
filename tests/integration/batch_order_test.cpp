// Batches stored at once on two connections, as the loader's lanes store
// them (loader::BatchOrder), against the real PostgreSQL: a batch copies its
// rows while the batch ahead is still open, and applies the rest only once
// that one is committed.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <string_view>
#include <thread>

#include "funnelhouse/loader/writer.hpp"
#include "sample_events.hpp"
#include "writer_fixture.hpp"

using namespace funnelhouse;
using loader::Fate;

namespace {

common::Event event_of(const std::string& id, common::Source source, const std::string& type,
                       std::optional<std::string> anonymous, std::optional<std::string> user,
                       const std::string& properties = "{}") {
    auto event = test::sample_event(id, properties);
    event.event_type = type;
    event.event_name = type == "track" ? "add_to_cart" : type;
    event.source = source;
    event.write_key_name = source == common::Source::browser ? "web" : "backend";
    event.anonymous_id = std::move(anonymous);
    event.user_id = std::move(user);
    return event;
}

// A batch behind another: `ahead` names the other's ids; its turn comes when
// the test says so (`release`), and it tells the test when it waits for it.
class Behind {
  public:
    explicit Behind(std::vector<std::string> ahead_ids) : ahead_ids_(std::move(ahead_ids)) {
        order_.ahead = [this](std::string_view id) {
            return std::find(ahead_ids_.begin(), ahead_ids_.end(), id) != ahead_ids_.end();
        };
        // As the loader's, it may be asked again (a batch written again
        // through the stage); it answers the same.
        order_.wait_turn = [this] {
            if (!told_.exchange(true)) waiting_.set_value();
            return turn_.get();
        };
    }
    const loader::BatchOrder* order() const { return &order_; }
    // Whether the batch got as far as waiting for its turn within 10 s.
    bool waits() { return waited_.wait_for(std::chrono::seconds(10)) == std::future_status::ready; }
    void release(bool ahead_stored) { release_.set_value(ahead_stored); }

  private:
    std::vector<std::string> ahead_ids_;
    loader::BatchOrder order_;
    std::promise<void> waiting_;
    std::future<void> waited_ = waiting_.get_future();
    std::atomic<bool> told_{false};
    std::promise<bool> release_;
    std::shared_future<bool> turn_ = release_.get_future().share();
};

class BatchOrderTest : public test::WriterFixture {
  protected:
    void SetUp() override {
        WriterFixture::SetUp();
        second_ = schema_.connect();
        loader::prepare_staging(*second_);
    }
    std::unique_ptr<pqxx::connection> second_;
};

}  // namespace

TEST_F(BatchOrderTest, AnIdOfTheBatchAheadIsMergedOnceThatBatchCommits) {
    // The batch ahead holds the browser copy, uncommitted.
    pqxx::work ahead(*connection_);
    const auto browser = event_of("o-1", common::Source::browser, "track", "anon-1", std::nullopt,
                                  R"({"revenue":90})");
    loader::write_rows(ahead, {&browser}, {});

    const auto server = event_of("o-1", common::Source::server, "track", std::nullopt, "user-1",
                                 R"({"revenue":100})");
    const auto fresh = event_of("o-2", common::Source::server, "track", std::nullopt, "user-1");
    Behind behind({"o-1"});
    std::vector<Fate> fates;
    std::thread batch([&] {
        fates =
            loader::write_batch(*second_, {&server, &fresh}, {}, nullptr, nullptr, behind.order());
    });
    // Its COPYs must not wait for the row the batch ahead holds: it reaches
    // its turn while that batch is still open.
    const bool waited = behind.waits();
    EXPECT_TRUE(waited) << "the batch behind waited for a row of the batch ahead";
    ahead.commit();
    behind.release(true);
    batch.join();

    EXPECT_EQ(fates, (std::vector<Fate>{Fate::duplicate, Fate::inserted}));
    EXPECT_EQ(schema_.scalar("SELECT string_agg(event_id || ' ' || sources || ' ' || "
                             "coalesce(properties->>'revenue', '-') || ' ' || user_id || ' ' || "
                             "coalesce(anonymous_id, '-'), ', ' ORDER BY event_id) FROM events"),
              "o-1 both 100 user-1 anon-1, o-2 server - user-1 -");
}

TEST_F(BatchOrderTest, LinksApplyInTheOrderTheBatchesArrived) {
    // Bob identified on the shared computer earlier than Ann, but Ann's
    // identify arrived first: the batch behind applies its link after hers,
    // as if the two batches had been stored one after the other.
    const auto bob = event_of("id-bob", common::Source::server, "identify", "kiosk", "bob");
    auto ann = event_of("id-ann", common::Source::server, "identify", "kiosk", "ann");
    ann.occurred_at = bob.occurred_at + std::chrono::seconds(10);
    Behind behind({"id-ann"});
    std::thread batch(
        [&] { loader::write_batch(*second_, {&bob}, {}, nullptr, nullptr, behind.order()); });
    ASSERT_TRUE(behind.waits());
    loader::write_batch(*connection_, {&ann}, {});
    behind.release(true);
    batch.join();
    EXPECT_EQ(
        schema_.scalar("SELECT kept_user_id || ' ' || refused_user_id FROM identity_conflicts"),
        "ann bob");
}

TEST_F(BatchOrderTest, ABatchIsNotStoredWhenTheBatchAheadWasNot) {
    const auto event = event_of("o-3", common::Source::server, "track", std::nullopt, "user-3");
    Behind behind({});
    std::thread batch([&] {
        EXPECT_THROW(loader::write_batch(*second_, {&event}, {}, nullptr, nullptr, behind.order()),
                     loader::NotInTurn);
    });
    ASSERT_TRUE(behind.waits());
    behind.release(false);
    batch.join();
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM events"), "0");
    EXPECT_EQ(schema_.scalar("SELECT count(*) FROM identity_map"), "0");
}
