#pragma once

// Messages through process_request, as a server receives them, into events
// and rejected messages that load into a test's database through the
// loader's writer. Ids the server makes are replaced by ones made from a
// counter, so that the rows are the same on every run.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/common/uuid.hpp"
#include "funnelhouse/ingest/request.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "test_contracts.hpp"
#include "test_database.hpp"

namespace funnelhouse::test {

class Corpus {
  public:
    explicit Corpus(common::timestamp received_at)
        : keys_(ingest::WriteKeyRing::from_json_text(
              R"([{"name":"web","key":"kb","source":"browser"},
                  {"name":"backend","key":"ks","source":"server"}])",
              "test corpus")),
          received_at_(received_at) {}

    // One request, as the server would receive it now.
    void post(std::string_view route, std::string_view body, common::Source source) {
        const std::string authorization =
            "Basic " + common::base64_encode(source == common::Source::server ? "ks:" : "kb:");
        ingest::RequestInput input;
        input.route = route;
        input.body = body;
        input.authorization = authorization;
        input.received_at = received_at_;
        auto outcome = ingest::process_request(input, keys_, repository_contracts(), {});
        if (outcome.error) return;
        std::set<std::string> assigned;
        for (const auto& entry : nlohmann::json::parse(outcome.assigned_json))
            assigned.insert(entry["event_id"].get<std::string>());
        for (auto& event : outcome.events) {
            if (assigned.count(event.event_id))
                event.event_id = common::uuid_from_name("assigned " + std::to_string(++made_));
            events_.push_back(std::move(event));
        }
        // A rejected message without an id of its own is given one too: it
        // is not in its raw text.
        for (auto& bad : outcome.bad_events) {
            if (bad.event_id && bad.raw_event.find(*bad.event_id) == std::string::npos)
                bad.event_id = common::uuid_from_name("assigned " + std::to_string(++made_));
            bad_events_.push_back(std::move(bad));
        }
    }

    void load(const TestSchema& schema) {
        auto connection = schema.connect();
        loader::prepare_staging(*connection);
        // In batches of 50, as a loader would meet them.
        for (std::size_t at = 0; at < std::max(events_.size(), bad_events_.size()); at += 50) {
            std::vector<const common::Event*> events;
            std::vector<const common::BadEvent*> bad;
            for (std::size_t i = at; i < std::min(at + 50, events_.size()); ++i)
                events.push_back(&events_[i]);
            for (std::size_t i = at; i < std::min(at + 50, bad_events_.size()); ++i)
                bad.push_back(&bad_events_[i]);
            loader::write_batch(*connection, events, bad);
        }
    }

    std::size_t events() const { return events_.size(); }
    std::size_t bad_events() const { return bad_events_.size(); }

  private:
    ingest::WriteKeyRing keys_;
    common::timestamp received_at_;
    std::vector<common::Event> events_;
    std::vector<common::BadEvent> bad_events_;
    int made_ = 0;
};

}  // namespace funnelhouse::test
