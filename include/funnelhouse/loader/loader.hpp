#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/connection>
#include <system_error>
#include <thread>
#include <vector>

#include "funnelhouse/common/time.hpp"
#include "funnelhouse/config/config.hpp"
#include "funnelhouse/metrics/instruments.hpp"
#include "funnelhouse/spool/spool.hpp"

namespace funnelhouse::loader {

enum class Fate : std::uint8_t;  // loader/writer.hpp
struct BatchCounts;
struct BatchOrder;
class KnownIds;  // loader/known_ids.hpp

// What a waiting request learns once its events are stored (or could not be).
struct LoadOutcome {
    std::error_code error;       // empty: committed
    std::size_t duplicates = 0;  // accepted events whose id was already stored
    std::size_t collisions = 0;  // accepted events whose id was stored for another event or person
};

// The loader owns its database connections and threads; io threads never
// touch PostgreSQL. Its reader thread reads the spool in order, groups
// records into transactions of about batch_max_events (waiting up to
// batch_max_delay for more) and decodes them; its lanes (loader_connections
// threads, each with a connection of its own) store one batch each. A batch
// copies its new rows while the batches ahead of it are still being stored,
// and applies everything else once they are committed (BatchOrder): batches
// change rows and identities in the spool's order. The reader prepares the
// next batch meanwhile, and commits the spool position past a batch only
// after PostgreSQL committed it and every batch before it.
//
// Failures: transient database errors (and ambiguous commits, since every
// batch is idempotent) are retried with backoff and a fresh connection for as
// long as it takes; the records wait in the spool. A record PostgreSQL
// refuses for good is set aside in the spool's quarantine so that loading
// goes on.
class Loader {
  public:
    // Records what it does in `instruments` (a registry of its own when none
    // is given).
    Loader(const config::Config& config, spool::Spool& spool,
           metrics::Instruments* instruments = nullptr);
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    void start();
    // Loads what the spool holds until it is empty or `deadline` passes,
    // then stops. What is not loaded stays in the spool for the next start.
    void stop(std::chrono::steady_clock::time_point deadline);

    // The `loaded` acknowledgement mode: a request takes a ticket, registers
    // what to do once its record is committed, then appends the record
    // carrying the ticket. `done` runs on the loader thread and must not
    // block. A request that is not loaded within load_timeout is told
    // database_unavailable (its record stays in the spool).
    std::uint64_t new_ticket();
    void expect(std::uint64_t ticket, std::function<void(LoadOutcome)> done);
    // Withdraws a registration; false when `done` already ran or is running.
    bool forget(std::uint64_t ticket);

    bool database_connected() const { return connected_.load(); }
    // How long ago the oldest record not yet loaded was spooled, in seconds,
    // if one is loading.
    std::optional<double> oldest_unloaded_age_seconds() const;
    std::uint64_t batches_committed() const { return batches_committed_.load(); }

  private:
    struct Waiter {
        std::function<void(LoadOutcome)> done;
        std::chrono::steady_clock::time_point registered;
    };
    struct Loading;
    struct Handed;

    void run();
    std::optional<Loading> prepare(std::vector<spool::Spool::Record>& records);
    void hand(Loading batch, spool::Position end, std::size_t records);
    bool finish_writing(std::size_t in_flight);
    bool writing();
    void write_loop(std::size_t lane);
    std::shared_ptr<Handed> next_to_store();
    bool stop_due() const;
    void keep_connection();
    std::optional<spool::Spool::Record> next_record(std::chrono::steady_clock::time_point deadline);
    bool store(std::size_t lane, Handed& handed);
    bool store(std::size_t lane, Loading& batch, const BatchOrder* order);
    bool keep_in_quarantine(const spool::Spool::Record& record);
    void pause(std::chrono::milliseconds& backoff);
    bool try_write(std::size_t lane, Loading& batch, const BatchOrder* order,
                   std::error_code& permanent);
    void ensure_connection(std::size_t lane);
    void settle_batch(const Loading& batch, const std::vector<const common::Event*>& events,
                      std::size_t bad_events, const std::vector<Fate>& fates,
                      const BatchCounts& identity);
    void settle(std::uint64_t ticket, const LoadOutcome& outcome);
    void expire_waiters(bool all, std::error_code error);

    void set_connected(bool connected);

    const config::Config& config_;
    spool::Spool& spool_;
    std::unique_ptr<metrics::Registry> own_registry_;
    std::unique_ptr<metrics::Instruments> own_instruments_;
    metrics::Instruments& metrics_;
    std::vector<std::unique_ptr<pqxx::connection>> connections_;  // one per lane, its own
    std::unique_ptr<KnownIds> known_ids_;                         // shared by the lanes
    std::mutex quarantine_mutex_;

    std::mutex waiters_mutex_;
    std::map<std::uint64_t, Waiter> waiters_;
    std::atomic<std::uint64_t> next_ticket_;

    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> stopping_{false};
    std::atomic<std::int64_t> stop_deadline_{0};  // steady_clock ticks
    std::atomic<bool> connected_{false};
    std::atomic<std::int64_t> oldest_unloaded_{0};  // µs since epoch; 0: none
    std::atomic<std::uint64_t> batches_committed_{0};
    std::thread thread_;

    // The batches handed to the lanes, in the spool's order (reader and
    // lanes, under hand_mutex_; a batch is its lane's alone until it is
    // finished).
    std::mutex hand_mutex_;
    std::condition_variable hand_changed_;
    std::deque<std::shared_ptr<Handed>> in_flight_;
    bool writer_exit_ = false;
};

}  // namespace funnelhouse::loader
