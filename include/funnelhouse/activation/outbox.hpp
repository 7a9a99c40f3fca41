#pragma once

#include <chrono>
#include <optional>
#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/activation/delivery.hpp"
#include "funnelhouse/activation/destinations.hpp"

namespace funnelhouse::activation {

// The outbox in PostgreSQL (migrations/0010_activation.sql): what each
// destination is to be sent, from the events that are committed.

// Writes the destinations file's destinations and the events they are sent
// (orders and refunds by name, micro-conversions by class, whose names the
// models' current classes give), and marks those gone from the file
// removed: nothing new is enqueued for them. One transaction.
void store_destinations(pqxx::connection& connection, const std::vector<Destination>& destinations);

// An event whose row the caller's transaction stored, as the loader has it.
struct Enqueued {
    std::string_view event_id;
    std::string_view event_name;
    common::timestamp occurred_at{};
    std::optional<std::string> order_id;  // of orders and refunds
};

// In the transaction that stored their rows: one outbox row per event and
// destination whose rules name the event and that it happened after the
// start of, none for an order whose order_id is enqueued already. Reads no
// event back. Returns how many it enqueued.
std::size_t enqueue(pqxx::transaction_base& txn, const std::vector<Enqueued>& events);

// The order_id of an event's properties (JSON text), when it is a string.
std::optional<std::string> order_id_of(std::string_view properties);

struct Claimed {
    std::string claim_id;          // the same for every row of one claim
    StoredEvent event;             // its event_id is the row's key
    std::optional<Notice> notice;  // an alert's notice rather than an event
    int attempts = 0;              // this one included
    bool gone = false;             // the event is no longer stored
};

// Takes up to `limit` rows of `destination` that are due (pending, or
// claimed by a sender whose lease ran out) and were enqueued at least
// `settle` ago, so that both copies of an event are merged before it is
// read; leases them for `lease` from the moment they are taken, under a new
// claim id, and returns them with their events as stored now. Rows another
// sender holds are skipped, not waited for.
std::vector<Claimed> claim(pqxx::connection& connection, std::string_view destination,
                           std::size_t limit, std::chrono::milliseconds settle,
                           std::chrono::milliseconds lease);

enum class State { sent, retry, failed, skipped };

struct Outcome {
    std::string event_id;
    State state = State::sent;
    std::optional<int> status;  // the platform's HTTP status, when it answered
    std::string error;
    std::chrono::milliseconds retry_in{0};
    std::optional<double> value;
    std::optional<std::string> currency;
    bool unattempted = false;  // put back unsent: its claim does not count as an attempt
};

// Records what became of the rows of the claim `claim_id`. A row that claim
// no longer holds (erased, or claimed again after its lease ran out) is left
// alone: only the claim holding a row records its outcome.
void finish(pqxx::connection& connection, std::string_view destination, std::string_view claim_id,
            const std::vector<Outcome>& outcomes);

struct Backlog {
    std::size_t pending = 0;  // pending or being sent
    double oldest_age_seconds = 0;
    std::optional<std::chrono::milliseconds> next_due;  // from now; none when nothing waits
};

Backlog backlog(pqxx::connection& connection, std::string_view destination,
                std::chrono::milliseconds settle);

}  // namespace funnelhouse::activation
