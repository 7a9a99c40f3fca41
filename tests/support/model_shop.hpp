#pragma once

// A small hand-made shop for the model tests: events built one by one,
// loaded through the loader's writer into the real PostgreSQL, then the
// models refreshed.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "funnelhouse/loader/writer.hpp"
#include "funnelhouse/models/refresh.hpp"
#include "funnelhouse/schema/registry.hpp"
#include "sample_events.hpp"
#include "model_files.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

namespace funnelhouse::test {

inline const common::timestamp kStart = *common::parse_timestamp("2026-01-01T00:00:00Z");

inline common::timestamp at(double days, int minutes = 0) {
    return kStart + std::chrono::minutes(static_cast<long long>(days * 24 * 60) + minutes);
}

inline const char* kPhone =
    R"ua("userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")ua";
inline const char* kDesktop = R"ua("userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)")ua";

class Shop {
  public:
    // Event ids are `prefix` and a number: a second shop loaded into the
    // same database takes another prefix.
    explicit Shop(std::string prefix = "e") : prefix_(std::move(prefix)) {}

    // A track event of `user` (or, with `anonymous`, of that anonymous id).
    common::Event& track(const std::string& name, const std::string& user, common::timestamp when,
                         const std::string& properties = "{}", const std::string& context = "{}") {
        auto event = test::sample_event(prefix_ + std::to_string(events_.size()), properties);
        event.event_name = name;
        event.event_type = name == "page_view" ? "page" : name == "identify" ? "identify" : "track";
        event.anonymous_id.reset();
        event.user_id = user;
        event.occurred_at = when;
        event.received_at = when;
        event.context = context;
        events_.push_back(event);
        return events_.back();
    }
    common::Event& anonymous(const std::string& name, const std::string& anonymous_id,
                             common::timestamp when, const std::string& properties = "{}",
                             const std::string& context = "{}") {
        auto& event = track(name, "", when, properties, context);
        event.user_id.reset();
        event.anonymous_id = anonymous_id;
        return event;
    }
    common::Event& order(const std::string& user, common::timestamp when, const std::string& id,
                         double revenue, std::optional<double> cost) {
        std::string properties = R"({"order_id":")" + id + R"(","currency":"EUR","revenue":)" +
                                 std::to_string(revenue);
        if (cost) properties += R"(,"cost":)" + std::to_string(*cost);
        auto& event = track("order_completed", user, when, properties + "}");
        event.source = common::Source::server;
        return event;
    }
    common::Event& refund(const std::string& user, common::timestamp when, const std::string& id,
                          double amount) {
        auto& event = track("refund_issued", user, when,
                            R"({"order_id":")" + id + R"(","amount":)" + std::to_string(amount) +
                                R"(,"currency":"EUR"})");
        event.source = common::Source::server;
        return event;
    }

    // Loads every event in its own batch, as they would arrive.
    void load(const test::TestSchema& schema, const std::vector<common::BadEvent>& bad = {}) {
        auto connection = schema.connect();
        loader::prepare_staging(*connection);
        for (const auto& event : events_) loader::write_batch(*connection, {&event}, {});
        std::vector<const common::BadEvent*> bad_pointers;
        for (const auto& event : bad) bad_pointers.push_back(&event);
        if (!bad_pointers.empty()) loader::write_batch(*connection, {}, bad_pointers);
    }

    // Loads, then refreshes the models.
    void load_and_refresh(const test::TestSchema& schema,
                          const std::vector<common::BadEvent>& bad = {}) {
        load(schema, bad);
        auto connection = schema.connect();
        const auto report = models::refresh(*connection, repository_contracts(), model_catalog());
        EXPECT_EQ(report.steps.size(), 40u);  // every model of models/
    }

  private:
    std::string prefix_;
    std::vector<common::Event> events_;
};

}  // namespace funnelhouse::test
