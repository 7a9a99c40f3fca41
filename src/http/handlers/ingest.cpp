#include <chrono>
#include <memory>

#include "funnelhouse/http/handlers.hpp"
#include "funnelhouse/ingest/error.hpp"
#include "funnelhouse/metrics/tally.hpp"

namespace funnelhouse::http {
namespace {

// A request handed to the intake, kept until its receipt comes.
struct Pending {
    ingest::RequestOutcome outcome;
    std::size_t accepted = 0;
    metrics::Tally
        tally;  // its events, counted once it is answered 200 (a refused one is sent again)
};

// What a request's messages became.
void tally_outcome(const ingest::RequestOutcome& outcome, const schema::SchemaRegistry& registry,
                   metrics::Instruments& metrics, metrics::Tally& tally) {
    for (const auto& event : outcome.events)
        tally.add(metrics.events_accepted, {common::to_string(event.source), event.event_name});
    for (const auto& bad : outcome.bad_events) {
        const bool known = bad.event_name && registry.newest(*bad.event_name) != nullptr;
        tally.add(metrics.events_rejected,
                  {common::to_string(bad.source), bad.reason,
                   known ? std::string_view(*bad.event_name) : metrics::kUnknownEvent});
    }
    if (outcome.anonymized_without_consent > 0)
        tally.add(metrics.events_without_consent, {"anonymized"},
                  static_cast<double>(outcome.anonymized_without_consent));
    if (outcome.dropped_without_consent > 0)
        tally.add(metrics.events_without_consent, {"dropped"},
                  static_cast<double>(outcome.dropped_without_consent));
}

// The abuse limit a refused body hit, for the metrics.
void count_refused(Services& services, std::error_code error) {
    if (error == ingest::errc::request_too_large)
        services.count_limit("body_bytes");  // inflated past the limit
    else if (error == ingest::errc::event_too_large)
        services.count_limit("event_bytes");
    else if (error == ingest::errc::nesting_too_deep)
        services.count_limit("json_depth");
}

ingest::RequestInput input_of(const Incoming& request) {
    ingest::RequestInput input;
    input.route = request.path;
    input.body = request.body;
    input.authorization = request.authorization;
    input.header_key = request.header_key;
    input.content_encoding = request.content_encoding;
    input.origin = request.origin;
    input.client_address = request.client_address;
    input.received_at = common::now();
    return input;
}

// The answer once the intake has the rows synced (durable) or loaded.
Outgoing receipt_answer(Services& services, const intake::Receipt& receipt, Pending& pending) {
    if (receipt.error)
        return refusal(receipt.error, services.intake.refusal_message(receipt.error));
    pending.tally.record();
    return json(receipt.loaded ? ingest::accepted_body(pending.accepted, receipt.duplicates,
                                                       receipt.collisions, pending.outcome)
                               : ingest::spooled_body(pending.accepted, pending.outcome));
}

}  // namespace

void answer_ingest(Services& services, const Incoming& request, Reply reply) {
    const auto input = input_of(request);
    auto pending = std::make_shared<Pending>();
    pending->outcome =
        ingest::process_request(input, services.keys, services.registry, services.ingest);
    auto& outcome = pending->outcome;
    if (outcome.error) {
        count_refused(services, outcome.error);
        return reply(refusal(outcome.error, outcome.error_message));
    }
    // A key sent in the body is known only now.
    if (!request.key_rate_taken && outcome.write_key) {
        if (const auto refusal = services.rate_limits.take_key(*outcome.write_key,
                                                               std::chrono::steady_clock::now())) {
            services.count_limit(refusal->limit);
            return reply(rate_refusal(*refusal));
        }
    }
    tally_outcome(outcome, services.registry, services.metrics, pending->tally);
    pending->accepted = outcome.events.size();
    if (outcome.events.empty() && outcome.bad_events.empty()) {
        pending->tally.record();
        return reply(json(ingest::accepted_body(0, 0, 0, outcome)));
    }
    // The receipt comes on the spool's or the loader's thread, which makes
    // the answer (a few strings joined); the reply writes it on the
    // connection's strand.
    const auto refused = services.intake.submit(
        std::move(outcome.events), std::move(outcome.bad_events), input.received_at,
        [&services, reply, pending](intake::Receipt receipt) {
            reply(receipt_answer(services, receipt, *pending));
        });
    if (refused) reply(refusal(refused, services.intake.refusal_message(refused)));
}

}  // namespace funnelhouse::http
