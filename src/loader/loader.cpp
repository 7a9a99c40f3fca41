#include "funnelhouse/loader/loader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <random>
#include <string_view>
#include <unordered_set>

#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/loader/error.hpp"
#include "funnelhouse/loader/known_ids.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "funnelhouse/metrics/tally.hpp"
#include "funnelhouse/spool/format.hpp"

namespace funnelhouse::loader {
namespace {

using clock = std::chrono::steady_clock;

// SQLSTATE classes that say "these rows can never be stored": data
// exceptions (22), integrity constraint violations (23) and program limits
// such as an index row too large (54). Splitting the batch finds the record
// at fault. Everything else (connection loss, timeouts, lock waits, a
// missing table, an administrator's shutdown) is about the database, not the
// rows: the batch waits in the spool and is retried, never set aside.
bool is_permanent(const std::string& sqlstate) {
    const auto cls = sqlstate.substr(0, 2);
    return cls == "22" || cls == "23" || cls == "54";
}

std::uint64_t random_ticket_base() {
    std::random_device device;
    const auto base = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    return base == 0 ? 1 : base;
}

}  // namespace

// A batch on its way into PostgreSQL: the spool records and what they hold.
struct Loader::Loading {
    std::vector<spool::Spool::Record> records;
    std::vector<spool::SpooledRequest> requests;  // decoded, one per record
};

// A batch handed to the lanes, with where the spool goes on after it
// (`records` records on, quarantined ones included), the batches still being
// stored ahead of it, and how its storing went.
struct Loader::Handed {
    Loading batch;
    spool::Position end;
    std::size_t records = 0;
    std::unordered_set<std::string_view> ids;  // its events' ids, views into `batch`
    std::vector<std::shared_ptr<const Handed>> ahead;
    bool started = false;
    bool finished = false;
    bool stored = false;
};

Loader::Loader(const config::Config& config, spool::Spool& spool, metrics::Instruments* instruments)
    : config_(config),
      spool_(spool),
      own_registry_(instruments ? nullptr : std::make_unique<metrics::Registry>()),
      own_instruments_(instruments ? nullptr
                                   : std::make_unique<metrics::Instruments>(*own_registry_)),
      metrics_(instruments ? *instruments : *own_instruments_),
      connections_(std::max<std::size_t>(1, config.loader_connections)),
      known_ids_(std::make_unique<KnownIds>(config.loader_known_ids)),
      next_ticket_(random_ticket_base()) {}

void Loader::set_connected(bool connected) {
    connected_ = connected;
    metrics_.database_connected.set(connected ? 1 : 0);
}

Loader::~Loader() { stop(clock::now()); }

void Loader::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void Loader::stop(clock::time_point deadline) {
    if (!stop_requested_.exchange(true)) {
        // The deadline first: the loader thread reads it once it sees stopping_.
        stop_deadline_ = deadline.time_since_epoch().count();
        stopping_ = true;
    }
    spool_.interrupt();
    if (thread_.joinable()) thread_.join();
}

bool Loader::stop_due() const {
    return stopping_ && clock::now().time_since_epoch().count() >= stop_deadline_.load();
}

std::uint64_t Loader::new_ticket() {
    // Tickets start at a random number so that records spooled by an earlier
    // run never match a request waiting in this one.
    auto ticket = next_ticket_.fetch_add(1);
    if (ticket == 0) ticket = next_ticket_.fetch_add(1);
    return ticket;
}

void Loader::expect(std::uint64_t ticket, std::function<void(LoadOutcome)> done) {
    std::lock_guard lock(waiters_mutex_);
    waiters_[ticket] = {std::move(done), clock::now()};
}

bool Loader::forget(std::uint64_t ticket) {
    std::lock_guard lock(waiters_mutex_);
    return waiters_.erase(ticket) > 0;
}

void Loader::settle(std::uint64_t ticket, const LoadOutcome& outcome) {
    if (ticket == 0) return;
    std::function<void(LoadOutcome)> done;
    {
        std::lock_guard lock(waiters_mutex_);
        const auto it = waiters_.find(ticket);
        if (it == waiters_.end()) return;
        done = std::move(it->second.done);
        waiters_.erase(it);
    }
    done(outcome);
}

void Loader::expire_waiters(bool all, std::error_code error) {
    std::vector<std::function<void(LoadOutcome)>> expired;
    {
        std::lock_guard lock(waiters_mutex_);
        const auto limit = clock::now() - config_.load_timeout;
        for (auto it = waiters_.begin(); it != waiters_.end();) {
            if (all || it->second.registered <= limit) {
                expired.push_back(std::move(it->second.done));
                it = waiters_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto& done : expired) done(LoadOutcome{error});
}

std::optional<double> Loader::oldest_unloaded_age_seconds() const {
    const auto micros = oldest_unloaded_.load();
    if (micros == 0) return std::nullopt;
    const common::timestamp spooled{std::chrono::microseconds{micros}};
    return std::max(0.0, std::chrono::duration<double>(common::now() - spooled).count());
}

void Loader::run() {
    std::vector<std::thread> lanes;
    for (std::size_t lane = 0; lane < connections_.size(); ++lane)
        lanes.emplace_back([this, lane] { write_loop(lane); });
    auto last_probe = clock::now();
    keep_connection();
    for (;;) {
        expire_waiters(false, errc::database_unavailable);
        if (stop_due() || !finish_writing(connections_.size())) break;
        // While a batch is being stored, look for the next one briefly, then
        // wait for the writer.
        const auto wait = writing() ? std::max<clock::duration>(config_.batch_max_delay,
                                                                std::chrono::milliseconds(1))
                                    : std::chrono::seconds(1);
        auto first = next_record(clock::now() + wait);
        if (!first) {
            if (!finish_writing(0)) break;
            if (stopping_) break;  // drained
            // Idle: keep a connection ready so that /readyz tells the truth
            // and the first batch does not wait for a connect.
            if (!connections_[0] || clock::now() - last_probe > std::chrono::seconds(5)) {
                keep_connection();
                last_probe = clock::now();
            }
            // Let fully loaded segments go even when nothing new comes.
            spool_.commit(spool_.read_position(), 0);
            continue;
        }
        // Group: take what else is there, waiting up to batch_max_delay.
        std::vector<spool::Spool::Record> records;
        records.push_back(std::move(*first));
        const auto deadline = clock::now() + config_.batch_max_delay;
        // Counting bytes is a cheap stand-in for counting events before
        // decoding: a few hundred bytes per event.
        std::size_t bytes = records.back().payload.size();
        const std::size_t budget = config_.batch_max_events * 300;
        while (bytes < budget) {
            auto more = next_record(deadline);
            if (!more) break;
            bytes += more->payload.size();
            records.push_back(std::move(*more));
        }
        auto batch = prepare(records);
        // A lane free for it, the spool position past what is done.
        if (!batch || !finish_writing(connections_.size() - 1)) break;
        hand(std::move(*batch), records.back().next, records.size());
    }
    finish_writing(0);
    {
        std::lock_guard lock(hand_mutex_);
        writer_exit_ = true;
    }
    hand_changed_.notify_all();
    for (auto& lane : lanes) lane.join();
    // Whoever still waits is told the events are not in PostgreSQL yet.
    expire_waiters(true, errc::shutting_down);
    for (auto& connection : connections_) connection.reset();
    set_connected(false);
}

std::optional<spool::Spool::Record> Loader::next_record(clock::time_point deadline) {
    try {
        return spool_.next(deadline);
    } catch (const std::exception& error) {
        // A segment that cannot be opened: nothing was read, so nothing is
        // skipped. Try again shortly.
        spdlog::error("loader: cannot read the spool: {}", error.what());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return std::nullopt;
    }
}

// Lane 0's connection, while every lane is idle.
void Loader::keep_connection() {
    auto& connection = connections_[0];
    if (connection) {
        try {
            pqxx::nontransaction probe(*connection);
            probe.exec("SELECT 1");
        } catch (const std::exception& error) {
            spdlog::warn("loader lost its PostgreSQL connection: {}", error.what());
            connection.reset();
            set_connected(false);
        }
    }
    if (!connection) {
        try {
            connection = db::connect(config_.database_url, config_.load_timeout);
            prepare_staging(*connection, config_.loader_worker_connections);
            set_connected(true);
            metrics_.database_connects.with({"ok"}).inc();
            spdlog::info("loader connected to PostgreSQL");
        } catch (const std::exception& error) {
            connection.reset();
            set_connected(false);
            metrics_.database_connects.with({"failed"}).inc();
            spdlog::warn("loader cannot connect to PostgreSQL: {}", error.what());
        }
    }
}

// Decodes a batch's records. A record that cannot be decoded is set aside
// once the batch before it is stored (the quarantine is the writer's too).
// nullopt when the stop deadline came first.
std::optional<Loader::Loading> Loader::prepare(std::vector<spool::Spool::Record>& records) {
    Loading batch;
    for (auto& record : records) {
        auto request = spool::decode_request(record.payload);
        if (!request) {
            // The checksum matched, so these bytes are what was written: a
            // record this version cannot read. Keep it, do not guess.
            spdlog::error("loader: spool record at {}:{} cannot be decoded; quarantined",
                          record.position.segment, record.position.offset);
            if (!finish_writing(0) || !keep_in_quarantine(record)) return std::nullopt;
            continue;
        }
        batch.records.push_back(std::move(record));
        batch.requests.push_back(std::move(*request));
    }
    return batch;
}

// Hands a batch to the lanes (finish_writing made room for it).
void Loader::hand(Loading batch, spool::Position end, std::size_t records) {
    if (batch.requests.empty()) {  // all quarantined
        if (finish_writing(0)) spool_.commit(end, records);
        return;
    }
    auto handed = std::make_shared<Handed>();
    handed->batch = std::move(batch);
    handed->end = end;
    handed->records = records;
    {
        std::lock_guard lock(hand_mutex_);
        // Not stored (the stop deadline came) counts as ahead too: this
        // batch must then not be stored either.
        for (const auto& before : in_flight_)
            if (!before->finished || !before->stored) handed->ahead.push_back(before);
        if (connections_.size() > 1)  // for the batches behind it
            for (const auto& request : handed->batch.requests)
                for (const auto& event : request.events) handed->ids.insert(event.event_id);
        if (in_flight_.empty())
            oldest_unloaded_ = handed->batch.requests.front().spooled_at.time_since_epoch().count();
        in_flight_.push_back(std::move(handed));
    }
    hand_changed_.notify_all();
}

bool Loader::writing() {
    std::lock_guard lock(hand_mutex_);
    return !in_flight_.empty();
}

// Moves the spool position past the finished batches at the front, waiting
// until at most `in_flight` batches are left. False when one was not stored
// by the stop deadline: it stays at the front, so that its records, and all
// after them, stay in the spool whoever asks next.
bool Loader::finish_writing(std::size_t in_flight) {
    for (;;) {
        std::shared_ptr<Handed> done;
        {
            std::unique_lock lock(hand_mutex_);
            if (in_flight_.empty()) return true;
            if (!in_flight_.front()->finished && in_flight_.size() <= in_flight) return true;
            hand_changed_.wait(lock, [&] { return in_flight_.front()->finished; });
            if (!in_flight_.front()->stored) return false;
            done = std::move(in_flight_.front());
            in_flight_.pop_front();
            oldest_unloaded_ = in_flight_.empty() ? 0
                                                  : in_flight_.front()
                                                        ->batch.requests.front()
                                                        .spooled_at.time_since_epoch()
                                                        .count();
        }
        spool_.commit(done->end, done->records);
    }
}

// The first batch no lane has taken (hand_mutex_ held).
std::shared_ptr<Loader::Handed> Loader::next_to_store() {
    for (const auto& handed : in_flight_)
        if (!handed->started) return handed;
    return nullptr;
}

void Loader::write_loop(std::size_t lane) {
    std::unique_lock lock(hand_mutex_);
    for (;;) {
        std::shared_ptr<Handed> handed;
        hand_changed_.wait(lock, [&] {
            handed = next_to_store();
            return writer_exit_ || handed;
        });
        if (!handed) return;  // told to exit, nothing to store
        handed->started = true;
        lock.unlock();
        const bool stored = store(lane, *handed);
        lock.lock();
        handed->stored = stored;
        handed->finished = true;
        handed->ahead.clear();
        hand_changed_.notify_all();
    }
}

void Loader::pause(std::chrono::milliseconds& backoff) {
    auto pause = clock::duration(backoff);
    if (stopping_)
        pause = std::min(pause,
                         clock::duration(stop_deadline_.load()) - clock::now().time_since_epoch());
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
}

bool Loader::keep_in_quarantine(const spool::Spool::Record& record) {
    // The record is read past already: it must be kept before anything
    // after it is marked loaded, or it would be lost. Wait for the disk.
    auto backoff = std::chrono::milliseconds(50);
    for (;;) {
        try {
            std::lock_guard lock(quarantine_mutex_);  // lanes quarantine too
            spool_.quarantine(record);
            metrics_.loader_quarantined_records.inc();
            return true;
        } catch (const std::exception& error) {
            spdlog::error("loader: cannot quarantine the spool record at {}:{}: {}; retrying",
                          record.position.segment, record.position.offset, error.what());
        }
        if (stop_due()) return false;
        pause(backoff);
    }
}

// A handed batch, after the batches ahead of it (BatchOrder).
bool Loader::store(std::size_t lane, Handed& handed) {
    if (handed.ahead.empty()) return store(lane, handed.batch, nullptr);
    const BatchOrder order{
        [&handed](std::string_view event_id) {
            return std::any_of(handed.ahead.begin(), handed.ahead.end(),
                               [&](const auto& before) { return before->ids.count(event_id) > 0; });
        },
        [this, &handed] {
            std::unique_lock lock(hand_mutex_);
            const bool finished = hand_changed_.wait_for(lock, config_.load_timeout, [&] {
                return std::all_of(handed.ahead.begin(), handed.ahead.end(),
                                   [](const auto& before) { return before->finished; });
            });
            if (!finished) {
                // The batch ahead may be waiting for this one: an erasure's
                // exclusive lock queued between their shared ones, say. This
                // one lets go: rolled back, it is written again.
                spdlog::warn("loader: the batch ahead took longer than {} ms; writing again",
                             config_.load_timeout.count());
                return false;
            }
            return std::all_of(handed.ahead.begin(), handed.ahead.end(),
                               [](const auto& before) { return before->stored; });
        }};
    return store(lane, handed.batch, &order);
}

bool Loader::store(std::size_t lane, Loading& batch, const BatchOrder* order) {
    std::error_code permanent;
    auto backoff = std::chrono::milliseconds(50);
    while (!try_write(lane, batch, order, permanent)) {
        if (permanent) break;
        expire_waiters(false, errc::database_unavailable);
        if (stop_due()) return false;
        pause(backoff);
    }
    if (!permanent) return true;
    // PostgreSQL refused the batch for good. Store each record alone so that
    // only the one it refuses is set aside (quarantined, never dropped).
    if (batch.requests.size() == 1) {
        const auto& record = batch.records.front();
        spdlog::error("loader: PostgreSQL refused the spool record at {}:{} for good; quarantined",
                      record.position.segment, record.position.offset);
        if (!keep_in_quarantine(record)) return false;
        settle(batch.requests.front().ticket, LoadOutcome{errc::load_failed});
        return true;
    }
    for (std::size_t i = 0; i < batch.requests.size(); ++i) {
        Loading single;
        single.records.push_back(std::move(batch.records[i]));
        single.requests.push_back(std::move(batch.requests[i]));
        const bool stored = store(lane, single, order);
        // Back where they were: the batches behind read this batch's event
        // ids (views into its requests) for as long as it lives.
        batch.records[i] = std::move(single.records.front());
        batch.requests[i] = std::move(single.requests.front());
        if (!stored) return false;
    }
    return true;
}

void Loader::ensure_connection(std::size_t lane) {
    auto& connection = connections_[lane];
    if (!connection) {
        try {
            connection = db::connect(config_.database_url, config_.load_timeout);
            prepare_staging(*connection, config_.loader_worker_connections);
        } catch (...) {
            metrics_.database_connects.with({"failed"}).inc();
            throw;
        }
        metrics_.database_connects.with({"ok"}).inc();
        spdlog::info("loader connected to PostgreSQL");
    }
    set_connected(true);
}

// What a committed batch did, in the metrics; then each request's waiting
// answer settled with its duplicates and collisions (the fates come in the
// order the events were given: request by request).
void Loader::settle_batch(const Loading& batch, const std::vector<const common::Event*>& events,
                          std::size_t bad_events, const std::vector<Fate>& fates,
                          const BatchCounts& identity) {
    metrics_.loader_batch_events.get().observe(static_cast<double>(events.size() + bad_events));
    metrics_.loader_batches.inc();
    metrics_.identity_links.inc(static_cast<double>(identity.links));
    metrics_.identity_conflicts.inc(static_cast<double>(identity.conflicts));
    metrics_.events_suppressed.inc(static_cast<double>(identity.suppressed_bad_events));
    metrics::Tally fate_counts;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const std::string_view source = common::to_string(events[i]->source);
        switch (fates[i]) {
            case Fate::inserted:
                fate_counts.add(metrics_.events_inserted, {source, events[i]->event_name});
                break;
            case Fate::duplicate:
                fate_counts.add(metrics_.events_deduplicated, {source, events[i]->event_name});
                break;
            case Fate::collision:
                fate_counts.add(metrics_.event_id_collisions, {source});
                break;
            case Fate::suppressed:
                metrics_.events_suppressed.inc();
                break;
        }
    }
    fate_counts.record();
    batches_committed_.fetch_add(1);
    std::size_t next = 0;
    for (const auto& request : batch.requests) {
        LoadOutcome outcome;
        for (std::size_t e = 0; e < request.events.size(); ++e, ++next) {
            if (fates[next] == Fate::duplicate) ++outcome.duplicates;
            if (fates[next] == Fate::collision) ++outcome.collisions;
        }
        settle(request.ticket, outcome);
    }
}

bool Loader::try_write(std::size_t lane, Loading& batch, const BatchOrder* order,
                       std::error_code& permanent) {
    auto& connection = connections_[lane];
    try {
        ensure_connection(lane);
        std::vector<const common::Event*> events;
        std::vector<const common::BadEvent*> bad_events;
        for (const auto& request : batch.requests) {
            for (const auto& event : request.events) events.push_back(&event);
            for (const auto& bad : request.bad_events) bad_events.push_back(&bad);
        }
        const auto started = clock::now();
        BatchCounts identity;
        const auto fates =
            write_batch(*connection, events, bad_events, &identity, known_ids_.get(), order);
        metrics_.loader_commit_seconds.get().observe(
            std::chrono::duration<double>(clock::now() - started).count());
        settle_batch(batch, events, bad_events.size(), fates, identity);
        return true;
    } catch (const NotInTurn&) {
        // Rolled back: a batch ahead was not stored by the stop deadline
        // (stop_due ends the retries), or took too long.
        return false;
    } catch (const pqxx::in_doubt_error& error) {
        // The commit may or may not have happened. The batch is idempotent
        // (keyed on stable ids), so writing it again is safe.
        spdlog::warn("loader: commit outcome unknown, retrying the batch: {}", error.what());
    } catch (const pqxx::broken_connection& error) {
        spdlog::warn("loader: connection to PostgreSQL lost: {}", error.what());
    } catch (const pqxx::sql_error& error) {
        if (is_permanent(error.sqlstate())) {
            spdlog::error("loader: batch refused (SQLSTATE {}): {}", error.sqlstate(),
                          error.what());
            permanent = errc::load_failed;
            metrics_.loader_errors.with({"permanent"}).inc();
            return false;
        }
        spdlog::warn("loader: transient database error (SQLSTATE {}): {}", error.sqlstate(),
                     error.what());
    } catch (const std::exception& error) {
        spdlog::warn("loader: database error: {}", error.what());
    }
    metrics_.loader_errors.with({"transient"}).inc();
    connection.reset();
    set_connected(false);
    return false;
}

}  // namespace funnelhouse::loader
