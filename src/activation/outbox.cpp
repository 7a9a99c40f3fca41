// The outbox in PostgreSQL: destinations written from the file, events
// enqueued by the loader, rows claimed and finished by the senders.
#include "funnelhouse/activation/outbox.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "funnelhouse/common/uuid.hpp"
#include "funnelhouse/db/arrays.hpp"
#include "funnelhouse/db/locks.hpp"

namespace funnelhouse::activation {
namespace {

using json = nlohmann::json;

std::string names_array(const std::vector<std::string>& names) {
    return db::text_array(names, [](const std::string& name) -> std::string_view { return name; });
}

constexpr const char* kUpsertDestination = R"sql(
INSERT INTO activation_destinations (name, kind, starts_at, consent, alerts)
VALUES ($1, $2, $3::timestamptz, $4, $5)
ON CONFLICT (name) DO UPDATE
SET kind = excluded.kind, starts_at = excluded.starts_at, consent = excluded.consent,
    alerts = excluded.alerts, synced_at = now(), removed_at = NULL
)sql";

constexpr const char* kEnqueue = R"sql(
WITH enqueued AS (
    INSERT INTO activation_outbox (destination, event_id, what, event_name, order_id, occurred_at)
    SELECT r.destination, e.event_id, r.what, e.event_name,
           CASE WHEN r.what <> 'micro' THEN nullif(e.order_id, '') END, e.occurred_at
    FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])
         AS e(event_id, event_name, occurred_at, order_id)
    JOIN activation_rules r ON r.event_name = e.event_name
    JOIN activation_destinations d ON d.name = r.destination
    WHERE d.removed_at IS NULL AND e.occurred_at >= d.starts_at
    ORDER BY r.destination, e.event_id
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM enqueued
)sql";

constexpr const char* kClaim = R"sql(
WITH due AS (
    SELECT event_id FROM activation_outbox
    WHERE destination = $1 AND state IN ('pending', 'sending') AND next_attempt_at <= now()
      AND enqueued_at <= now() - $2 * interval '1 millisecond'
    ORDER BY next_attempt_at, event_id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE activation_outbox o
    SET state = 'sending', attempts = o.attempts + 1, claim_id = $5::uuid,
        next_attempt_at = clock_timestamp() + $4 * interval '1 millisecond'
    FROM due
    WHERE o.destination = $1 AND o.event_id = due.event_id
    RETURNING o.event_id, o.what, o.attempts, o.alert_id
)
SELECT c.event_id, c.what, c.attempts, e.event_id IS NULL AND a.alert_id IS NULL AS gone,
       e.event_name, (extract(epoch FROM e.occurred_at) * 1000000)::bigint AS occurred_us,
       e.properties::text, e.context::text, e.user_id, e.person_id,
       v.expected_revenue_per_occurrence::float8, latest.ad_ids::text, to_jsonb(a)::text
FROM claimed c
LEFT JOIN alerts a ON a.alert_id = c.alert_id
LEFT JOIN events_stitched e ON c.alert_id IS NULL AND e.event_id = c.event_id
LEFT JOIN models.event_value v ON v.event_name = e.event_name
-- An event without ad ids (a backend's copy stored first, or alone): those
-- of the person's latest event with them, up to 90 days before.
LEFT JOIN LATERAL (
    SELECT x.context -> 'adIds' AS ad_ids
    FROM events x
    WHERE NOT e.context ? 'adIds' AND x.context ? 'adIds'
      AND x.anonymous_id IN (SELECT m.id FROM identity_map m
                             WHERE m.person_id = e.person_id AND m.id_type = 'anonymous'
                             UNION ALL SELECT e.anonymous_id)
      AND x.occurred_at <= e.occurred_at AND x.occurred_at > e.occurred_at - interval '90 days'
    ORDER BY x.occurred_at DESC
    LIMIT 1
) latest ON true
ORDER BY c.event_id
)sql";

constexpr const char* kFinish = R"sql(
UPDATE activation_outbox o
SET state = CASE u.state WHEN 'retry' THEN 'pending' ELSE u.state END,
    attempts = o.attempts - CASE WHEN u.unattempted THEN 1 ELSE 0 END,
    last_status = coalesce(u.status, CASE WHEN u.unattempted THEN o.last_status END),
    last_error = CASE WHEN u.unattempted THEN o.last_error ELSE nullif(u.error, '') END,
    next_attempt_at = CASE WHEN u.state = 'retry'
                           THEN now() + u.retry_ms * interval '1 millisecond'
                           ELSE o.next_attempt_at END,
    sent_at = CASE WHEN u.state = 'sent' THEN now() END,
    value = u.value, currency = u.currency
FROM jsonb_to_recordset($2::jsonb)
     AS u(event_id text, state text, status integer, error text, retry_ms bigint, value numeric,
          currency text, unattempted boolean)
WHERE o.destination = $1 AND o.event_id = u.event_id AND o.state = 'sending'
  AND o.claim_id = $3::uuid
)sql";

// A nullable text column. (libpqxx 6.4's own as<std::optional<T>>() does not
// compile for every T here.)
std::optional<std::string> optional_text(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return field.as<std::string>();
}

std::string_view state_name(State state) {
    switch (state) {
        case State::sent:
            return "sent";
        case State::retry:
            return "retry";
        case State::failed:
            return "failed";
        case State::skipped:
            return "skipped";
    }
    return "retry";
}

}  // namespace

void store_destinations(pqxx::connection& connection,
                        const std::vector<Destination>& destinations) {
    pqxx::work txn(connection);
    txn.exec("SELECT pg_advisory_xact_lock(" + std::to_string(db::kDestinationsLock) + ")");
    std::vector<std::string> names;
    for (const auto& d : destinations) {
        txn.exec_params(kUpsertDestination, d.name, std::string(to_string(d.kind)),
                        common::format_timestamp(d.starts_at), d.consent, d.alerts);
        names.push_back(d.name);
    }
    txn.exec_params(
        "UPDATE activation_destinations SET removed_at = now() "
        "WHERE removed_at IS NULL AND NOT (name = ANY($1::text[]))",
        names_array(names));
    txn.exec("DELETE FROM activation_classes");
    txn.exec("DELETE FROM activation_rules");
    for (const auto& d : destinations) {
        txn.exec_params(
            "INSERT INTO activation_classes (destination, value_class) "
            "SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
            d.name, names_array(d.classes));
        for (const auto& [events, what] :
             {std::pair{&d.order_events, "order"}, std::pair{&d.refund_events, "refund"}})
            txn.exec_params(
                "INSERT INTO activation_rules (destination, event_name, what) "
                "SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING",
                d.name, names_array(*events), what);
    }
    txn.exec("SELECT funnelhouse_activation_rules()");
    txn.commit();
}

std::size_t enqueue(pqxx::transaction_base& txn, const std::vector<Enqueued>& events) {
    if (events.empty()) return 0;
    using E = const Enqueued&;
    std::vector<std::string> times;
    times.reserve(events.size());
    for (const auto& e : events) times.push_back(common::format_timestamp(e.occurred_at));
    const auto ids = db::text_array(events, [](E e) { return e.event_id; });
    const auto names = db::text_array(events, [](E e) { return e.event_name; });
    const auto at =
        db::text_array(times, [](const std::string& t) -> std::string_view { return t; });
    const auto orders = db::text_array(events, [](E e) {
        return e.order_id ? std::string_view(*e.order_id) : std::string_view();
    });
    return txn.exec_params(kEnqueue, ids, names, at, orders)[0][0].as<std::size_t>();
}

std::optional<std::string> order_id_of(std::string_view properties) {
    const auto parsed = json::parse(properties, nullptr, false);
    if (!parsed.is_object()) return std::nullopt;
    const auto it = parsed.find("order_id");
    if (it == parsed.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

std::vector<Claimed> claim(pqxx::connection& connection, std::string_view destination,
                           std::size_t limit, std::chrono::milliseconds settle,
                           std::chrono::milliseconds lease) {
    pqxx::work txn(connection);
    const auto claim_id = common::new_uuid();
    const auto rows = txn.exec_params(
        kClaim, std::string(destination), static_cast<long long>(settle.count()),
        static_cast<long long>(limit), static_cast<long long>(lease.count()), claim_id);
    txn.commit();
    std::vector<Claimed> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        Claimed c;
        c.claim_id = claim_id;
        c.event.event_id = r[0].as<std::string>();
        c.event.what = what_from(r[1].as<std::string>()).value_or(What::micro);
        c.attempts = r[2].as<int>();
        c.gone = r[3].as<bool>();
        if (!r[12].is_null()) {
            c.notice = Notice{r[1].as<std::string>() == "alert_resolved", r[12].as<std::string>()};
        } else if (!c.gone) {
            c.event.event_name = r[4].as<std::string>();
            c.event.occurred_at =
                common::timestamp{std::chrono::microseconds{r[5].as<long long>()}};
            c.event.properties = r[6].as<std::string>();
            c.event.context = r[7].as<std::string>();
            c.event.user_id = optional_text(r[8]);
            c.event.person_id = optional_text(r[9]);
            if (!r[10].is_null()) c.event.expected_revenue = r[10].as<double>();
            if (!r[11].is_null()) c.event.person_ad_ids = r[11].as<std::string>();
        }
        out.push_back(std::move(c));
    }
    return out;
}

void finish(pqxx::connection& connection, std::string_view destination, std::string_view claim_id,
            const std::vector<Outcome>& outcomes) {
    if (outcomes.empty()) return;
    json rows = json::array();
    for (const auto& o : outcomes) {
        json row = {{"event_id", o.event_id},
                    {"state", state_name(o.state)},
                    {"error", o.error},
                    {"retry_ms", o.retry_in.count()},
                    {"unattempted", o.unattempted}};
        if (o.status) row["status"] = *o.status;
        if (o.value) row["value"] = *o.value;
        if (o.currency) row["currency"] = *o.currency;
        rows.push_back(std::move(row));
    }
    pqxx::work txn(connection);
    // Invalid UTF-8 in a platform's message is replaced, never a reason to
    // leave the rows unrecorded.
    txn.exec_params(kFinish, std::string(destination),
                    rows.dump(-1, ' ', false, json::error_handler_t::replace),
                    std::string(claim_id));
    txn.commit();
}

Backlog backlog(pqxx::connection& connection, std::string_view destination,
                std::chrono::milliseconds settle) {
    pqxx::nontransaction txn(connection);
    const auto r = txn.exec_params(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(enqueued_at)), 0)::float8, "
        "(extract(epoch FROM min(greatest(next_attempt_at, "
        "enqueued_at + $2 * interval '1 millisecond')) - now()) * 1000)::bigint "
        "FROM activation_outbox WHERE destination = $1 AND state IN ('pending', 'sending')",
        std::string(destination), static_cast<long long>(settle.count()))[0];
    Backlog out;
    out.pending = r[0].as<std::size_t>();
    out.oldest_age_seconds = r[1].as<double>();
    if (!r[2].is_null())
        out.next_due = std::chrono::milliseconds{std::max<long long>(0, r[2].as<long long>())};
    return out;
}

}  // namespace funnelhouse::activation
