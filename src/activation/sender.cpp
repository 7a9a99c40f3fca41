// The senders: a thread per destination working through its outbox rows.
#include "funnelhouse/activation/sender.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "funnelhouse/activation/http_client.hpp"
#include "funnelhouse/activation/outbox.hpp"
#include "funnelhouse/activation/requests.hpp"
#include "funnelhouse/db/connection.hpp"

namespace funnelhouse::activation {
namespace {

using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

// Platforms that take one request per event (webhooks) or per browser
// (GA4) are claimed in smaller bites: a claim is sent well within its lease.
std::size_t claim_size(Kind kind, std::size_t batch) {
    if (kind == Kind::webhook || kind == Kind::ga4 || kind == Kind::slack)
        return std::min<std::size_t>(batch, 50);
    return batch;
}

// The conversions of a claim, each with the row it came from, and the rows
// that are alerts' notices.
struct ToSend {
    std::vector<Conversion> conversions;
    std::vector<What> whats;
    std::vector<std::size_t> row;  // index into the claimed rows
    std::vector<std::size_t> notices;
};

// Where the links in alerts lead: the setting, else the dashboard of this
// server's admin listener (or main listener) as it is bound.
std::string dashboard_of(const config::Config& c) {
    if (!c.dashboard_url.empty()) return c.dashboard_url;
    const bool admin = c.admin_listen_set;
    const auto& host = admin ? c.admin_listen_host : c.listen_host;
    const bool v6 = host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + host + "]" : host) + ":" +
           std::to_string(admin ? c.admin_listen_port : c.listen_port) + "/dashboard";
}

// A row that ends without a request: skipped or failed, and why.
Outcome ended(const std::string& event_id, State state, std::string why) {
    Outcome o;
    o.event_id = event_id;
    o.state = state;
    o.error = std::move(why);
    return o;
}

}  // namespace

// The destinations written into PostgreSQL once, by whichever thread
// reaches it first (at start, or a sender once the database is up).
struct Senders::Shared {
    std::vector<Destination> destinations;
    std::string database_url;
    std::mutex mutex;
    bool stored = false;

    void store(pqxx::connection& connection) {
        std::lock_guard lock(mutex);
        if (stored) return;
        store_destinations(connection, destinations);
        stored = true;
        spdlog::info("destinations written: {}", destinations.size());
    }
};

struct Senders::Worker {
    Shared& shared;
    Destination destination;
    const config::Config& config;
    metrics::Instruments* instruments;
    HttpClient client;
    milliseconds lease;
    std::unique_ptr<pqxx::connection> connection;
    std::thread thread;
    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
    std::mt19937_64 random{std::random_device{}()};

    Worker(Shared& s, Destination d, const config::Config& c, metrics::Instruments* i)
        : shared(s),
          destination(std::move(d)),
          config(c),
          instruments(i),
          client(ClientSettings{c.activation_timeout, c.activation_ca_file}),
          lease(std::max(c.activation_lease, 2 * c.activation_timeout)),
          dashboard(dashboard_of(c)) {}

    bool stopped() {
        std::lock_guard lock(mutex);
        return stopping;
    }

    void sleep(milliseconds wait) {
        std::unique_lock lock(mutex);
        wake.wait_for(lock, wait, [this] { return stopping; });
    }

    void run();
    milliseconds step();
    ToSend prepare_all(const std::vector<Claimed>& claimed, std::vector<Outcome>& outcomes);
    milliseconds send(const std::vector<Claimed>& claimed, std::vector<Outcome>& outcomes,
                      clock::time_point started);
    Outcome outcome_of(const Claimed& row, const Judgement& j, std::size_t position,
                       const Answer& answer, milliseconds& pause);
    void send_notices(const std::vector<Claimed>& claimed, const ToSend& prepared,
                      std::vector<Outcome>& outcomes, clock::time_point started,
                      milliseconds& pause);
    // Whether the rest of a claim goes back unsent: after an answer that
    // asks to wait, on stop, or too late in the lease to be answered.
    bool holding_back(clock::time_point started, milliseconds pause) {
        const bool late = clock::now() - started + config.activation_timeout > lease * 3 / 4;
        return pause.count() > 0 || stopped() || late;
    }
    static Outcome put_back(const Claimed& row, milliseconds pause) {
        return {row.event.event_id, State::retry, std::nullopt, "", pause,
                std::nullopt,       std::nullopt, true};
    }
    std::string dashboard;
    void record(const std::vector<Outcome>& outcomes);
    std::string claim_id;          // of the claim being sent
    clock::time_point observed{};  // when the backlog's gauges were last set
    // Records what became of rows and empties `outcomes`.
    void settle_outcomes(std::vector<Outcome>& outcomes) {
        finish(*connection, destination.name, claim_id, outcomes);
        record(outcomes);
        outcomes.clear();
    }
    void observe_backlog(const Backlog& backlog);
};

void Senders::Worker::run() {
    while (!stopped()) {
        milliseconds wait = config.activation_poll;
        try {
            // A statement that waits (for a lock, say) gives up well within
            // the lease.
            if (!connection) connection = db::connect(config.database_url, lease / 4);
            shared.store(*connection);
            wait = step();
        } catch (const std::exception& error) {
            spdlog::warn("destination {}: {}; trying again", destination.name, error.what());
            connection.reset();
            wait = std::max(config.activation_poll, config.activation_retry_first);
        }
        if (wait.count() > 0) sleep(wait);
    }
}

// One claim sent and recorded; how long to wait before the next.
milliseconds Senders::Worker::step() {
    const auto started = clock::now();  // the lease runs from the claim on
    const auto claimed =
        claim(*connection, destination.name, claim_size(destination.kind, config.activation_batch),
              config.activation_settle, lease);
    // The backlog's gauges, when idle and at least once a poll interval.
    std::optional<Backlog> waiting;
    if (claimed.empty() || started - observed > config.activation_poll) {
        observed = started;
        waiting = backlog(*connection, destination.name, config.activation_settle);
        observe_backlog(*waiting);
    }
    if (claimed.empty()) {
        // Rows due but held by another sender: look again soon, not at once.
        return std::clamp(waiting->next_due.value_or(config.activation_poll) + milliseconds{5},
                          config.activation_poll / 10, config.activation_poll);
    }
    claim_id = claimed.front().claim_id;
    std::vector<Outcome> outcomes;
    const auto pause = send(claimed, outcomes, started);
    settle_outcomes(outcomes);
    return pause;
}

// What each claimed row becomes; those with nothing to send are done here.
ToSend Senders::Worker::prepare_all(const std::vector<Claimed>& claimed,
                                    std::vector<Outcome>& outcomes) {
    ToSend out;
    for (std::size_t i = 0; i < claimed.size(); ++i) {
        const auto& row = claimed[i];
        // Claimed again and again without an outcome recorded: given up.
        if (row.attempts > static_cast<int>(config.activation_max_attempts)) {
            outcomes.push_back(ended(row.event.event_id, State::failed,
                                     "gave up after " + std::to_string(row.attempts - 1) +
                                         " attempts without a recorded answer"));
            continue;
        }
        if (row.notice) {
            out.notices.push_back(i);
            continue;
        }
        if (row.gone) {
            outcomes.push_back(ended(row.event.event_id, State::skipped,
                                     "the event is no longer stored (erased)"));
            continue;
        }
        auto prepared = prepare(row.event, destination);
        if (!prepared.conversion) {
            outcomes.push_back(
                ended(row.event.event_id, State::skipped, std::move(prepared.skipped)));
            continue;
        }
        out.conversions.push_back(std::move(*prepared.conversion));
        out.whats.push_back(row.event.what);
        out.row.push_back(i);
    }
    return out;
}

// Sends the claim's requests one after the other. After an answer that asks
// to wait, the rest are not sent now but put back: the destination is left
// alone for the returned pause.
milliseconds Senders::Worker::send(const std::vector<Claimed>& claimed,
                                   std::vector<Outcome>& outcomes, clock::time_point started) {
    const auto prepared = prepare_all(claimed, outcomes);
    const auto plan = plan_requests(destination, prepared.conversions, prepared.whats,
                                    config.activation_batch, common::now());
    for (const auto& left : plan.left_out) {
        const auto& row = claimed[prepared.row[left.index]];
        outcomes.push_back(ended(row.event.event_id, State::failed, left.reason));
    }
    milliseconds pause{0};
    send_notices(claimed, prepared, outcomes, started, pause);
    for (const auto& request : plan.requests) {
        // Only what can be answered within three quarters of the lease, and
        // nothing after stop: what is left goes back.
        if (holding_back(started, pause)) {
            for (const auto index : request.conversions)
                outcomes.push_back(put_back(claimed[prepared.row[index]], pause));
            continue;
        }
        auto post = request.post;
        if (destination.kind == Kind::webhook)  // signed when it leaves
            sign_webhook(post, destination.signing_key, common::now());
        const auto answer = client.post(post);
        const auto judgement = judge(destination.kind, answer);
        if (instruments)
            instruments->activation_requests
                .with({std::string_view(destination.name), std::to_string(answer.status)})
                .inc();
        for (std::size_t p = 0; p < request.conversions.size(); ++p) {
            const auto index = request.conversions[p];
            auto o = outcome_of(claimed[prepared.row[index]], judgement, p, answer, pause);
            o.value = prepared.conversions[index].value;
            o.currency = prepared.conversions[index].currency;
            outcomes.push_back(std::move(o));
        }
        // Recorded at once: a crash now sends again at most this request.
        settle_outcomes(outcomes);
    }
    return pause;
}

// Each alert's notice in a request of its own, recorded as soon as it is
// answered.
void Senders::Worker::send_notices(const std::vector<Claimed>& claimed, const ToSend& prepared,
                                   std::vector<Outcome>& outcomes, clock::time_point started,
                                   milliseconds& pause) {
    for (const auto index : prepared.notices) {
        const auto& row = claimed[index];
        if (holding_back(started, pause)) {
            outcomes.push_back(put_back(row, pause));
            continue;
        }
        Post post;
        try {
            post = notice_request(destination, row.event.event_id, *row.notice, dashboard,
                                  common::now());
        } catch (const std::exception& error) {
            outcomes.push_back(ended(row.event.event_id, State::failed, error.what()));
            continue;
        }
        const auto answer = client.post(post);
        if (instruments)
            instruments->activation_requests
                .with({std::string_view(destination.name), std::to_string(answer.status)})
                .inc();
        outcomes.push_back(outcome_of(row, judge(destination.kind, answer), 0, answer, pause));
        settle_outcomes(outcomes);
    }
}

Outcome Senders::Worker::outcome_of(const Claimed& row, const Judgement& j, std::size_t position,
                                    const Answer& answer, milliseconds& pause) {
    Outcome o;
    o.event_id = row.event.event_id;
    if (answer.status != 0) o.status = answer.status;
    if (j.verdict == Verdict::sent) {
        const auto failed = j.failed.find(position);
        if (failed != j.failed.end()) {
            o.state = State::failed;
            o.error = failed->second;
        }
        return o;
    }
    o.error = j.message;
    if (j.verdict == Verdict::failed) {
        o.state = State::failed;
        return o;
    }
    if (row.attempts >= static_cast<int>(config.activation_max_attempts)) {
        o.state = State::failed;
        o.error =
            "gave up after " + std::to_string(row.attempts) + " attempts; the last: " + j.message;
        return o;
    }
    o.state = State::retry;
    o.retry_in = retry_delay(row.attempts, config.activation_retry_first,
                             config.activation_retry_longest, answer.retry_after, random);
    pause = std::max(pause, o.retry_in);
    return o;
}

void Senders::Worker::record(const std::vector<Outcome>& outcomes) {
    if (!instruments) return;
    for (const auto& o : outcomes) {
        switch (o.state) {
            case State::sent:
                instruments->activation_deliveries.with({destination.name, "sent"}).inc();
                break;
            case State::failed:
                spdlog::warn("destination {}: event {} failed: {}", destination.name, o.event_id,
                             o.error);
                instruments->activation_deliveries.with({destination.name, "failed"}).inc();
                break;
            case State::skipped:
                instruments->activation_deliveries.with({destination.name, "skipped"}).inc();
                break;
            case State::retry:
                if (!o.unattempted) instruments->activation_retries.with({destination.name}).inc();
                break;
        }
    }
}

void Senders::Worker::observe_backlog(const Backlog& waiting) {
    if (!instruments) return;
    instruments->activation_pending.with({destination.name})
        .set(static_cast<double>(waiting.pending));
    instruments->activation_oldest_pending.with({destination.name}).set(waiting.oldest_age_seconds);
}

Senders::Senders(const config::Config& config, std::vector<Destination> destinations,
                 metrics::Instruments* instruments)
    : shared_(std::make_unique<Shared>()) {
    shared_->destinations = destinations;
    shared_->database_url = config.database_url;
    for (auto& d : destinations) {
        if (d.csv_upload) continue;  // `funnelhouse conversions csv` writes its conversions
        if (instruments)
            for (const char* result : {"sent", "failed", "skipped"})
                instruments->activation_deliveries.with({d.name, result});
        workers_.push_back(std::make_unique<Worker>(*shared_, std::move(d), config, instruments));
    }
}

Senders::~Senders() { stop(); }

void Senders::start() {
    try {
        shared_->store(*db::connect(shared_->database_url));
    } catch (const std::exception& error) {
        spdlog::warn(
            "destinations not written yet ({}); the senders write them once PostgreSQL "
            "is reachable",
            error.what());
    }
    for (auto& w : workers_) {
        spdlog::info("sending to destination {} ({})", w->destination.name,
                     to_string(w->destination.kind));
        if (w->destination.alerts && w->config.dashboard_url.empty())
            spdlog::warn(
                "destination {}: alerts link to {}, this server's own address; set "
                "FUNNELHOUSE_DASHBOARD_URL to the address people open",
                w->destination.name, w->dashboard);
        w->thread = std::thread([worker = w.get()] { worker->run(); });
    }
}

void Senders::stop() {
    for (auto& w : workers_) {
        std::lock_guard lock(w->mutex);
        w->stopping = true;
        w->wake.notify_all();
    }
    for (auto& w : workers_)
        if (w->thread.joinable()) w->thread.join();
}

}  // namespace funnelhouse::activation
