#include "funnelhouse/loader/writer.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <unordered_map>
#include <unordered_set>

// libpqxx 6.4 offers raw COPY lines only through tablewriter (deprecated in
// favour of stream_to, whose raw-line writer is private). Raw lines let the
// loader escape each field once into a reused buffer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <pqxx/subtransaction>
#include <pqxx/tablewriter>

#include "funnelhouse/activation/outbox.hpp"
#include "funnelhouse/common/sha256.hpp"
#include "funnelhouse/db/arrays.hpp"
#include "funnelhouse/db/copy_text.hpp"
#include "funnelhouse/db/locks.hpp"
#include "funnelhouse/loader/known_ids.hpp"

namespace funnelhouse::loader {
namespace {

// A field of a row as COPY text, by its type (common/event.hpp describes
// the rows).
void copy_field(db::CopyRow& row, const std::string& value) { row.field(value); }
void copy_field(db::CopyRow& row, const std::optional<std::string>& value) {
    row.field_or_null(value);
}
void copy_field(db::CopyRow& row, common::timestamp value) {
    row.field(common::format_timestamp(value));
}
void copy_field(db::CopyRow& row, const std::optional<common::timestamp>& value) {
    if (value)
        row.field(common::format_timestamp(*value));
    else
        row.null();
}
void copy_field(db::CopyRow& row, common::Source value) { row.field(common::to_string(value)); }

template <typename Row, typename ForEach>
std::vector<std::string> names_of(ForEach for_each) {
    std::vector<std::string> names;
    const Row empty{};
    for_each(empty, [&](const char* name, const char*, const auto&) { names.emplace_back(name); });
    return names;
}

template <typename Row, typename ForEach>
std::string column_definitions(ForEach for_each) {
    std::string sql;
    const Row empty{};
    for_each(empty, [&](const char* name, const char* type, const auto&) {
        sql += std::string(", ") + name + " " + type;
    });
    return sql;
}

const auto kEventFields = [](const auto& row, auto&& visit) {
    common::for_each_event_field(row, visit);
};
const auto kBadEventFields = [](const auto& row, auto&& visit) {
    common::for_each_bad_event_field(row, visit);
};

// The stage holds each event's fields between its place in the batch and
// its fate.
const std::vector<std::string>& stage_columns() {
    static const auto columns = [] {
        std::vector<std::string> all{"seq"};
        for (auto& name : names_of<common::Event>(kEventFields)) all.push_back(std::move(name));
        all.emplace_back("fate");
        return all;
    }();
    return columns;
}

const std::vector<std::string>& bad_event_columns() {
    static const auto columns = names_of<common::BadEvent>(kBadEventFields);
    return columns;
}

// What is staged of an event whose row was copied straight into `events`:
// what the identity steps read of it, or, when its ids are known (KnownIds),
// its id alone. Its other fields are not staged again.
enum class Staged : std::uint8_t { always, for_identity, never };

const std::vector<Staged>& copied_fields() {
    static const auto fields = [] {
        std::vector<Staged> out;
        for (const auto& name : names_of<common::Event>(kEventFields)) {
            if (name == "event_id")
                out.push_back(Staged::always);
            else if (name == "event_type" || name == "anonymous_id" || name == "user_id" ||
                     name == "previous_id" || name == "occurred_at")
                out.push_back(Staged::for_identity);
            else
                out.push_back(Staged::never);
        }
        return out;
    }();
    return fields;
}

// The first staged copy of each id (a query over the stage, ordered by id).
constexpr const char* kFirsts = R"sql(
SELECT DISTINCT ON (event_id) * FROM funnelhouse_events_stage WHERE fate IS NULL
ORDER BY event_id, seq
)sql";

// New ids become rows of `events`, made of the first copies read FROM what
// follows; returns their ids.
const std::string kMakeRowsFrom = R"sql(
INSERT INTO events (event_id, event_name, event_type, schema_version, anonymous_id, user_id,
                    group_id, previous_id, occurred_at, original_timestamp, sent_at,
                    received_at, properties, context, write_key_name, source,
                    browser_received_at, server_received_at)
SELECT event_id, event_name, event_type, schema_version, anonymous_id, user_id, group_id,
       previous_id, occurred_at, original_timestamp, sent_at, received_at, properties,
       context, write_key_name, source,
       CASE WHEN source = 'browser' THEN received_at END,
       CASE WHEN source = 'server' THEN received_at END
FROM )sql";
constexpr const char* kOnlyNewIds = " ON CONFLICT (event_id) DO NOTHING RETURNING event_id";

// The first copies' rows, and the copies that made one marked 'inserted'.
// Rows copied straight into `events` (fate 'copied' or 'known', see
// write_rows) are not staged again; a later copy of such an id conflicts
// here and is merged below.
const std::string kInsertFirstCopies =
    std::string("WITH firsts AS (") + kFirsts + "), inserted AS (" + kMakeRowsFrom +
    "firsts ORDER BY event_id" /* one lock order for all loaders */ + kOnlyNewIds + R"sql()
UPDATE funnelhouse_events_stage s SET fate = 'inserted'
FROM firsts f JOIN inserted i USING (event_id)
WHERE s.seq = f.seq
)sql";

// The same on a stage all loaders share (Citus), where a data-modifying WITH
// (or any WITH) would carry every staged row through the coordinator: the
// first copies read as a subquery run on each shard beside its stage, in the
// order of their ids there. The ids returned tell which staged copies made
// rows (kMarkFirstCopies).
const std::string kInsertSharedFirstCopies =
    kMakeRowsFrom + "(" + kFirsts + ") firsts" + kOnlyNewIds;

// The staged copies (by seq) whose rows kInsertSharedFirstCopies made.
constexpr const char* kMarkFirstCopies =
    "UPDATE funnelhouse_events_stage SET fate = 'inserted' WHERE fate IS NULL AND seq = ANY(";

// A later copy that names another event, or another person, is not the same
// event. Another person: a different user id (both set), or, when either copy
// has no user id, a different anonymous id (both set). Two copies with the
// same user id are the same person whatever their anonymous ids.
constexpr const char* kMarkCollisions = R"sql(
UPDATE funnelhouse_events_stage s SET fate = 'collision'
FROM events e
WHERE s.fate IS NULL AND e.event_id = s.event_id
  AND (e.event_name <> s.event_name
       OR (e.user_id IS NOT NULL AND s.user_id IS NOT NULL AND e.user_id <> s.user_id)
       OR ((e.user_id IS NULL OR s.user_id IS NULL)
           AND e.anonymous_id IS NOT NULL AND s.anonymous_id IS NOT NULL
           AND e.anonymous_id <> s.anonymous_id))
)sql";

// Collisions are kept, never dropped. The id is derived from the copy so a
// retried batch maps to the same row.
constexpr const char* kStoreCollisions = R"sql(
INSERT INTO bad_events (bad_event_id, event_id, event_name, raw_event, errors, reason, route,
                        write_key_name, source, received_at, batch_sent_at)
SELECT md5(jsonb_build_array('event_id_collision', s.write_key_name, s.source, s.event_id,
                             s.event_type, s.event_name, s.user_id, s.anonymous_id, s.group_id,
                             s.previous_id, s.original_timestamp, s.properties, s.context)::text)::uuid,
       s.event_id, s.event_name,
       jsonb_strip_nulls(jsonb_build_object(
           'type', s.event_type, 'messageId', s.event_id,
           'event', CASE WHEN s.event_type = 'track' THEN s.event_name END,
           'userId', s.user_id, 'anonymousId', s.anonymous_id, 'groupId', s.group_id,
           'previousId', s.previous_id,
           'originalTimestamp', s.original_timestamp, 'sentAt', s.sent_at,
           CASE WHEN s.event_type IN ('identify', 'group') THEN 'traits' ELSE 'properties' END,
           s.properties,
           'context', s.context))::text,
       jsonb_build_array(jsonb_build_object(
           'path', '/messageId',
           'message', format('event id %s is already stored for %s (user %s, anonymous %s)',
                             s.event_id, e.event_name, coalesce(e.user_id, '-'),
                             coalesce(e.anonymous_id, '-')))),
       'event_id_collision', 'loader', s.write_key_name, s.source, s.received_at, s.sent_at
FROM funnelhouse_events_stage s JOIN events e USING (event_id)
WHERE s.fate = 'collision'
ON CONFLICT (bad_event_id) DO NOTHING
)sql";

// The same event seen from the other source: note when, fill in missing ids.
// One copy per source and id is enough (DISTINCT ON): the first one wins.
constexpr const char* kMergeBrowserCopies = R"sql(
UPDATE events e
SET browser_received_at = s.received_at,
    user_id = coalesce(e.user_id, s.user_id),
    anonymous_id = coalesce(e.anonymous_id, s.anonymous_id)
FROM (SELECT DISTINCT ON (event_id) * FROM funnelhouse_events_stage
      WHERE fate IS NULL AND source = 'browser' ORDER BY event_id, seq) s
WHERE e.event_id = s.event_id AND e.browser_received_at IS NULL
)sql";

// Revenue and cost come from the backend: a server copy's properties replace
// what the browser sent.
constexpr const char* kMergeServerCopies = R"sql(
UPDATE events e
SET server_received_at = s.received_at,
    properties = s.properties,
    user_id = coalesce(e.user_id, s.user_id),
    anonymous_id = coalesce(e.anonymous_id, s.anonymous_id)
FROM (SELECT DISTINCT ON (event_id) * FROM funnelhouse_events_stage
      WHERE fate IS NULL AND source = 'server' ORDER BY event_id, seq) s
WHERE e.event_id = s.event_id AND e.server_received_at IS NULL
)sql";

// The links this batch brings that are not known yet: rows that now hold
// both ids (a merged browser and server copy included), and aliases, which
// link through their previous id only. The first occurrence of each pair.
// A row this batch created holds the ids of its staged copy; a later copy
// merged into it is a duplicate, whose ids are read from the merged row.
constexpr const char* kStageNewLinks = R"sql(
INSERT INTO funnelhouse_links_stage (anonymous_id, user_id, kind, occurred_at, event_id, seq)
SELECT DISTINCT ON (c.anonymous_id, c.user_id) c.*
FROM (SELECT anonymous_id, user_id,
             CASE WHEN event_type = 'identify' THEN 'identify' ELSE 'event' END AS kind,
             occurred_at, event_id, seq
      FROM funnelhouse_events_stage
      WHERE fate IN ('inserted', 'copied') AND event_type <> 'alias'
        AND anonymous_id IS NOT NULL AND user_id IS NOT NULL
      UNION ALL
      SELECT e.anonymous_id, e.user_id,
             CASE WHEN e.event_type = 'identify' THEN 'identify' ELSE 'event' END AS kind,
             e.occurred_at, e.event_id, s.seq
      FROM funnelhouse_events_stage s JOIN events e USING (event_id)
      WHERE s.fate IS NULL AND e.event_type <> 'alias'
        AND e.anonymous_id IS NOT NULL AND e.user_id IS NOT NULL
      UNION ALL
      SELECT previous_id, user_id, 'alias', occurred_at, event_id, seq
      FROM funnelhouse_events_stage
      WHERE event_type = 'alias' AND previous_id IS NOT NULL AND user_id IS NOT NULL
        AND fate IS DISTINCT FROM 'collision') c
WHERE NOT EXISTS (SELECT 1 FROM identity_links l
                  WHERE l.anonymous_id = c.anonymous_id AND l.user_id = c.user_id)
ORDER BY c.anonymous_id, c.user_id, c.occurred_at, c.seq
)sql";

// Every id seen gets a person of its own until a link says otherwise, with
// one exception: a user id that an alias already named as its previous id
// (the alias arrived first, through another server or after a retry) joins
// the alias's person, unless that alias was refused as a conflict.
//
// Links are applied under a lock all loaders share (merges must not
// interleave). It is taken here, before any row of identity_map is written,
// by every batch that brings a new link or a new user id (so that an alias
// applied by another loader at the same time is either seen here or sees
// this user id). One lock order for all loaders: a lock holder may wait for
// a row, but a row holder never waits for the lock.
const std::string kLockForNewIdentities =
    "SELECT pg_advisory_xact_lock(" + std::to_string(db::kIdentityLock) + ")" + R"sql(
WHERE EXISTS (SELECT 1 FROM funnelhouse_links_stage)
   OR EXISTS (SELECT 1 FROM funnelhouse_events_stage s
              WHERE s.user_id IS NOT NULL AND s.fate IS DISTINCT FROM 'collision'
                AND NOT EXISTS (SELECT 1 FROM identity_map m
                                WHERE m.id_type = 'user' AND m.id = s.user_id))
)sql";

constexpr const char* kMapNewIds = R"sql(
INSERT INTO identity_map (id, id_type, person_id)
SELECT id, id_type,
       CASE WHEN id_type = 'user'
            THEN coalesce((SELECT m.person_id
                           FROM identity_links l
                           JOIN identity_map m ON m.id_type = 'user' AND m.id = l.user_id
                           WHERE l.anonymous_id = ids.id AND l.link_kind = 'alias'
                             AND NOT EXISTS (SELECT 1 FROM identity_conflicts c
                                             WHERE c.anonymous_id = l.anonymous_id
                                               AND c.refused_user_id = l.user_id)
                           ORDER BY l.first_linked_at LIMIT 1),
                          'user:' || id)
            ELSE 'anonymous:' || id END
FROM (SELECT DISTINCT id, id_type
      FROM (SELECT user_id AS id, 'user' AS id_type FROM funnelhouse_events_stage
            WHERE user_id IS NOT NULL AND fate IS DISTINCT FROM 'collision'
            UNION ALL
            SELECT anonymous_id, 'anonymous' FROM funnelhouse_events_stage
            WHERE anonymous_id IS NOT NULL AND fate IS DISTINCT FROM 'collision') all_ids) ids
ORDER BY id_type, id
ON CONFLICT (id_type, id) DO NOTHING
)sql";

// The staged links, in the order they happened, under the lock taken above.
// A link another loader applied while this one waited for the lock is
// skipped. Links known before the batch are never staged: each cost one index
// probe, and a batch with nothing new takes no lock.
constexpr const char* kApplyNewLinks = R"sql(
DO $$
DECLARE
    link record;
    links bigint := 0;
    conflicts bigint := 0;
BEGIN
    FOR link IN
        SELECT * FROM funnelhouse_links_stage c
        WHERE NOT EXISTS (SELECT 1 FROM identity_links l
                          WHERE l.anonymous_id = c.anonymous_id AND l.user_id = c.user_id)
        ORDER BY occurred_at, seq
    LOOP
        PERFORM funnelhouse_link(link.anonymous_id, link.user_id, link.kind, link.occurred_at,
                                 link.event_id);
        IF EXISTS (SELECT 1 FROM identity_conflicts
                   WHERE anonymous_id = link.anonymous_id AND refused_user_id = link.user_id
                     AND event_id = link.event_id) THEN
            conflicts := conflicts + 1;
        ELSE
            links := links + 1;
        END IF;
    END LOOP;
    -- For the report below: settings local to this transaction.
    PERFORM set_config('funnelhouse.batch_links', links::text, true),
            set_config('funnelhouse.batch_conflicts', conflicts::text, true);
END
$$
)sql";

// A page may not send an event only a backend may send (an order): such a
// copy is refused as source_not_allowed and never creates or changes a row.
// It still shows that the browser saw the event, which is what dedup_coverage
// measures, whichever of the two copies arrived first.
constexpr const char* kNoteRefusedBrowserCopies = R"sql(
UPDATE events e SET browser_received_at = b.received_at
FROM (SELECT DISTINCT ON (event_id) event_id, event_name, received_at
      FROM bad_events
      WHERE reason = 'source_not_allowed' AND source = 'browser'
        AND event_id IN (SELECT event_id FROM funnelhouse_events_stage
                         UNION ALL
                         SELECT event_id FROM funnelhouse_bad_events_stage
                         WHERE reason = 'source_not_allowed' AND source = 'browser')
      ORDER BY event_id, received_at) b
WHERE e.event_id = b.event_id AND e.event_name = b.event_name AND e.browser_received_at IS NULL
)sql";

constexpr const char* kStoreStagedBadEvents = R"sql(
INSERT INTO bad_events (bad_event_id, event_id, event_name, raw_event, errors, reason, route,
                        write_key_name, source, received_at, batch_sent_at)
SELECT bad_event_id, event_id, event_name, raw_event, errors, reason, route, write_key_name,
       source, received_at, batch_sent_at
FROM funnelhouse_bad_events_stage
ON CONFLICT (bad_event_id) DO NOTHING
)sql";

// The identity generation (see KnownIds) as it is now; -1 in a database
// migrated by an older version, which has none.
const std::string kIdentityGeneration =
    "coalesce(pg_sequence_last_value(to_regclass('identity_generation')), -1)";

// The fates of the staged events that got a row or collided (the rest are
// duplicates; copied rows are known already), then one row (seq -1) with the
// identity counts and one (seq -2) with the identity generation.
const std::string kReportFates = R"sql(
SELECT seq, fate FROM funnelhouse_events_stage WHERE fate IN ('inserted', 'collision')
UNION ALL
SELECT -1, current_setting('funnelhouse.batch_links') || ' ' ||
           current_setting('funnelhouse.batch_conflicts')
UNION ALL
SELECT -2, )sql" + kIdentityGeneration +
                                 "::text";

}  // namespace

void prepare_staging(pqxx::connection& connection, std::size_t worker_connections) {
    // Temporary tables live as long as the connection; ON COMMIT DELETE ROWS
    // empties them after each batch.
    pqxx::nontransaction setup(connection);
    // On Citus the events' stage is a distributed table next to `events`
    // (migrations/citus), which all loaders share: no temporary one hides it.
    const bool shared = setup.exec(
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'funnelhouse_events_stage' AND c.relpersistence = 'p' "
        "AND n.nspname = current_schema())")[0][0].as<bool>();
    if (!shared)
        setup.exec("CREATE TEMP TABLE IF NOT EXISTS funnelhouse_events_stage (seq bigint NOT NULL" +
                   column_definitions<common::Event>(kEventFields) +
                   ", fate text) ON COMMIT DELETE ROWS");
    // A batch's statements reach every shard. Citus would open a connection
    // per shard for each batch and keep one a worker after it: a few kept
    // for good cost less than the many opened again each time.
    if (shared) {
        const auto n = std::to_string(std::max<std::size_t>(1, worker_connections));
        setup.exec("SET citus.max_adaptive_executor_pool_size = " + n);
        setup.exec("SET citus.max_cached_conns_per_worker = " + n);
    }
    const auto bad_event_columns = column_definitions<common::BadEvent>(kBadEventFields);
    setup.exec("CREATE TEMP TABLE IF NOT EXISTS funnelhouse_bad_events_stage (" +
               bad_event_columns.substr(2) + ") ON COMMIT DELETE ROWS");
    setup.exec(
        "CREATE TEMP TABLE IF NOT EXISTS funnelhouse_links_stage ("
        " anonymous_id text, user_id text, kind text, occurred_at timestamptz, event_id text,"
        " seq bigint)"
        " ON COMMIT DELETE ROWS");
    // The event names destinations are sent, which each batch reads: none in
    // a database migrated before activation.
    const bool activation =
        setup.exec("SELECT to_regclass('activation_rules') IS NOT NULL")[0][0].as<bool>();
    // Citus warns that a temporary view stays on the coordinator: it is meant to.
    setup.exec("SET client_min_messages = error");
    setup.exec(std::string("CREATE OR REPLACE TEMP VIEW funnelhouse_activation_names AS ") +
               (activation ? "SELECT event_name, what FROM activation_rules"
                           : "SELECT NULL::text AS event_name, NULL::text AS what WHERE false"));
    setup.exec("RESET client_min_messages");
}

namespace {

// The events' ids as a text[] literal.
std::string text_array(const std::vector<const common::Event*>& events) {
    return db::text_array(events,
                          [](const common::Event* e) -> std::string_view { return e->event_id; });
}

// The events whose row this batch creates with a plain COPY: the first copy
// of each id that `events` does not hold yet, and no batch ahead is storing.
// They are the bulk of any traffic, and a COPY straight into the table is
// the cheapest way in. Every other copy goes through the stage (merges,
// collisions).
std::vector<bool> new_first_copies(pqxx::transaction_base& txn,
                                   const std::vector<const common::Event*>& events,
                                   const BatchOrder* order) {
    // Views into the result and into the events, both alive until return.
    const auto stored = txn.exec_params(
        "SELECT event_id FROM events WHERE event_id = ANY($1::text[])", text_array(events));
    std::unordered_set<std::string_view> seen;
    seen.reserve(events.size() + stored.size());
    for (const auto& r : stored) seen.emplace(r[0].c_str(), r[0].size());
    std::vector<bool> direct(events.size(), false);
    for (std::size_t i = 0; i < events.size(); ++i)
        direct[i] = seen.insert(events[i]->event_id).second &&
                    !(order && order->ahead(events[i]->event_id));
    return direct;
}

// New rows straight into `events` with COPY, in the order of their ids (one
// lock order for all loaders).
void copy_new_rows(pqxx::transaction_base& txn, const std::vector<const common::Event*>& events,
                   const std::vector<bool>& direct, std::vector<Fate>& fates, db::CopyRow& row) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < events.size(); ++i)
        if (direct[i]) order.push_back(i);
    if (order.empty()) return;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return events[a]->event_id < events[b]->event_id;
    });
    pqxx::tablewriter writer(txn, "events", event_columns().begin(), event_columns().end());
    for (const auto i : order) {
        encode_event_row(row, *events[i]);
        writer.write_raw_line(row.line());
        fates[i] = Fate::inserted;
    }
    writer.complete();
}

// A copy of an event whose row this batch has not created yet is staged
// whole. A copied row is staged with what the identity steps read (its ids,
// type, time; fate 'copied') unless its ids are known: then a server event
// is staged by its id alone (fate 'known'), for kNoteRefusedBrowserCopies,
// and a browser event not at all (its row notes the browser's copy
// already). True when an event was staged without its ids.
bool stage_events(pqxx::transaction_base& txn, const std::vector<const common::Event*>& events,
                  const std::vector<bool>& direct, KnownIds* known, db::CopyRow& row) {
    pqxx::tablewriter writer(txn, "funnelhouse_events_stage", stage_columns().begin(),
                             stage_columns().end());
    bool left_out = false;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& event = *events[i];
        const bool copied = direct[i];
        const bool ids_known = copied && known && known->knows(event);
        left_out = left_out || ids_known;
        if (ids_known && event.source == common::Source::browser) continue;
        const auto least = ids_known ? Staged::always : Staged::for_identity;
        std::size_t field = 0;
        row.clear();
        row.field(std::to_string(i));
        common::for_each_event_field(event, [&](const char*, const char*, const auto& value) {
            if (copied && copied_fields()[field++] > least)
                row.null();
            else
                copy_field(row, value);
        });
        if (copied)
            row.field(ids_known ? "known" : "copied");
        else
            row.null();  // fate: to be decided
        writer.write_raw_line(row.line());
    }
    writer.complete();
    return left_out;
}

void stage_bad_events(pqxx::transaction_base& txn,
                      const std::vector<const common::BadEvent*>& bad_events, db::CopyRow& row) {
    pqxx::tablewriter writer(txn, "funnelhouse_bad_events_stage", bad_event_columns().begin(),
                             bad_event_columns().end());
    for (const auto* bad : bad_events) {
        row.clear();
        common::for_each_bad_event_field(
            *bad, [&](const char*, const char*, const auto& value) { copy_field(row, value); });
        writer.write_raw_line(row.line());
    }
    writer.complete();
}

// How the first copies get their rows, and which later copies of the ids
// are left on the stage (by source). Unknown: all three may be.
struct FirstCopies {
    std::string statement;  // kInsertFirstCopies, or the marks after kInsertSharedFirstCopies
    bool later_browser_copies = true;
    bool later_server_copies = true;
};

// Everything after the COPYs, in one round trip (after the first copies'
// own on a shared stage); each step is a no-op on an empty stage, and the
// steps for later copies are left out when there are none. The last
// statement reports the fates (and, as seq -1, the links and conflicts).
// Returns the identity generation read last.
std::int64_t apply_staged(pqxx::transaction_base& txn, const FirstCopies& first,
                          std::vector<Fate>& fates, BatchCounts* identity) {
    static const std::string kIdentityAndReport =
        std::string(kStageNewLinks) + ";" + kLockForNewIdentities + ";" + kMapNewIds + ";" +
        kApplyNewLinks + ";" + kStoreStagedBadEvents + ";" + kNoteRefusedBrowserCopies + ";" +
        kReportFates;
    std::string batch = first.statement + ";";
    if (first.later_browser_copies || first.later_server_copies)
        batch += std::string(kMarkCollisions) + ";" + kStoreCollisions + ";";
    if (first.later_browser_copies) batch += std::string(kMergeBrowserCopies) + ";";
    if (first.later_server_copies) batch += std::string(kMergeServerCopies) + ";";
    batch += kIdentityAndReport;
    std::int64_t generation = 0;
    for (const auto& r : txn.exec(batch)) {
        const auto seq = r[0].as<long long>();
        if (seq == -2) {
            generation = r[1].as<std::int64_t>();
            continue;
        }
        if (seq == -1) {
            if (identity) {
                const auto counts = r[1].as<std::string>();
                const auto space = counts.find(' ');
                identity->links = std::stoull(counts.substr(0, space));
                identity->conflicts = std::stoull(counts.substr(space + 1));
            }
            continue;
        }
        fates.at(static_cast<std::size_t>(seq)) =
            r[1].as<std::string>() == "inserted" ? Fate::inserted : Fate::collision;
    }
    return generation;
}

// On a shared stage, where every copy is staged with its place in the batch
// as seq: makes the rows of the first copies, and returns the statement that
// marks the copies that made one, and the sources of those that did not.
// (On Citus each step runs on every shard: one left out is worth the most
// there.)
FirstCopies insert_shared_first_copies(pqxx::transaction_base& txn,
                                       const std::vector<const common::Event*>& events) {
    if (events.empty()) return {"", false, false};  // rejected messages only
    const auto inserted = txn.exec(kInsertSharedFirstCopies);
    std::unordered_set<std::string_view> made;
    made.reserve(inserted.size());
    for (const auto& r : inserted) made.emplace(r[0].c_str(), r[0].size());
    FirstCopies first{"", false, false};
    std::string seqs = "'{";
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (made.erase(events[i]->event_id) == 0) {  // a later copy, or a stored id's
            const bool browser = events[i]->source == common::Source::browser;
            (browser ? first.later_browser_copies : first.later_server_copies) = true;
            continue;
        }
        if (seqs.size() > 2) seqs += ',';
        seqs += std::to_string(i);
    }
    first.statement = kMarkFirstCopies + seqs + "}'::bigint[])";
    return first;
}

// Ids were left out of the stage as known, and something removed identity
// rows since the batch read the generation: they may not be stored any more.
struct StaleKnownIds {
    std::int64_t generation;
};

// How a batch is written: new rows straight into `events` or all through
// the stage; with the ids known before the batch, read at `generation`;
// alone or alongside batches ahead of it.
struct Attempt {
    bool copy_new_rows_directly = true;
    KnownIds* known = nullptr;
    std::int64_t generation = 0;
    const BatchOrder* order = nullptr;
    // The events' stage is the table all loaders share (on Citus; see
    // prepare_staging): the batch deletes its rows before it commits. New
    // rows are not copied straight into `events` there: Citus reports a
    // COPY's duplicate key without its SQLSTATE, so the race with another
    // loader could not be told from a failure; INSERT ... ON CONFLICT from
    // the stage settles it on each shard.
    bool shared_stage = false;
};

std::vector<Fate> write_rows_once(pqxx::transaction_base& txn,
                                  const std::vector<const common::Event*>& events,
                                  const std::vector<const common::BadEvent*>& bad_events,
                                  BatchCounts* identity, Attempt how) {
    std::vector<Fate> fates(events.size(), Fate::duplicate);
    if (events.empty() && bad_events.empty()) return fates;
    db::CopyRow row;
    std::vector<bool> direct(events.size(), false);
    if (how.copy_new_rows_directly && !events.empty())
        direct = new_first_copies(txn, events, how.order);
    copy_new_rows(txn, events, direct, fates, row);
    bool left_out = false;
    if (!events.empty()) left_out = stage_events(txn, events, direct, how.known, row);
    if (!bad_events.empty()) stage_bad_events(txn, bad_events, row);
    if (how.order && !how.order->wait_turn()) throw NotInTurn{};
    const auto generation =
        apply_staged(txn,
                     how.shared_stage ? insert_shared_first_copies(txn, events)
                                      : FirstCopies{kInsertFirstCopies},
                     fates, identity);
    if (how.shared_stage && !events.empty()) txn.exec("DELETE FROM funnelhouse_events_stage");
    if (left_out && generation != how.generation) throw StaleKnownIds{generation};
    if (identity) identity->identity_generation = generation;
    return fates;
}

}  // namespace

const std::vector<std::string>& event_columns() {
    static const auto columns = [] {
        auto names = names_of<common::Event>(kEventFields);
        names.emplace_back("browser_received_at");
        names.emplace_back("server_received_at");
        return names;
    }();
    return columns;
}

void encode_event_row(db::CopyRow& row, const common::Event& event) {
    std::string received;
    row.clear();
    common::for_each_event_field(event, [&](const char*, const char*, const auto& value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, common::timestamp>) {
            if (&value == &event.received_at) {  // formatted once, written three times
                received = common::format_timestamp(value);
                row.field(received);
                return;
            }
        }
        copy_field(row, value);
    });
    // When each source's copy arrived: this one's now, the other's not yet.
    if (event.source == common::Source::browser) {
        row.field(received);
        row.null();
    } else {
        row.null();
        row.field(received);
    }
}

std::string suppression_hash(std::string_view id) { return common::sha256_hex(id); }

namespace {

// The identifiers a rejected message names, read from its raw text (which
// may be anything).
std::vector<std::string> raw_identifiers(const std::string& raw_event) {
    std::vector<std::string> ids;
    const auto message = nlohmann::json::parse(raw_event, nullptr, false);
    if (!message.is_object()) return ids;
    for (const char* key : {"userId", "anonymousId", "previousId"}) {
        const auto it = message.find(key);
        if (it == message.end()) continue;
        if (it->is_string())
            ids.push_back(it->get<std::string>());
        else if (it->is_number_integer())
            ids.push_back(it->dump());
    }
    return ids;
}

// The suppressed hashes among a batch's identifiers.
std::unordered_set<std::string> suppressed_among(pqxx::transaction_base& txn,
                                                 const std::vector<std::string>& hashes) {
    std::unordered_set<std::string> found;
    if (hashes.empty()) return found;
    std::string array = "{";
    for (const auto& hash : hashes) {
        if (array.size() > 1) array += ',';
        array += hash;  // hex: nothing to quote
    }
    array += '}';
    for (const auto& r : txn.exec_params(
             "SELECT id_hash FROM suppressed_ids WHERE id_hash = ANY($1::text[])", array))
        found.insert(r[0].as<std::string>());
    return found;
}

// What the start of a batch reads: the identity generation (see KnownIds;
// -1 in a database without it, migrated by an older version) and the event
// names destinations are sent.
struct BatchStart {
    std::int64_t generation = 0;
    // Each name a destination is sent, and whether as an order or a refund
    // (which the outbox keys by order_id too).
    std::unordered_map<std::string, bool> activation_names;
    bool shared_stage = false;  // see Attempt
};

// The events this batch stored the rows of that a destination is sent, in
// the outbox in the same transaction.
void enqueue_stored(pqxx::transaction_base& txn, const std::vector<const common::Event*>& events,
                    const std::vector<Fate>& fates, const BatchStart& start) {
    if (start.activation_names.empty()) return;
    std::vector<activation::Enqueued> stored;
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (fates[i] != Fate::inserted) continue;
        const auto rule = start.activation_names.find(events[i]->event_name);
        if (rule == start.activation_names.end()) continue;
        const auto& e = *events[i];
        stored.push_back({e.event_id, e.event_name, e.occurred_at,
                          rule->second ? activation::order_id_of(e.properties) : std::nullopt});
    }
    activation::enqueue(txn, stored);
}

// What is left of a batch without the events and rejected messages of
// erased persons, with each kept event's index in the batch.
struct Unsuppressed {
    std::vector<const common::Event*> events;
    std::vector<std::size_t> index;
    std::vector<const common::BadEvent*> bad_events;
};

// Takes the erasure lock (shared with forget's exclusive one, so that an
// erasure either sees this batch's rows and removes them, or this batch sees
// its suppression entries) and leaves out what names a suppressed id.
// nullopt when nothing is left out: the usual case, where nothing is hashed.
// `generation` receives the identity generation (see KnownIds; -1 in a
// database without it, migrated by an older version).
std::optional<Unsuppressed> without_suppressed(
    pqxx::transaction_base& txn, const std::vector<const common::Event*>& events,
    const std::vector<const common::BadEvent*>& bad_events, BatchStart& start) {
    // Two statements in one round trip, the second with a snapshot taken
    // after the lock is held.
    static const std::string kLockAndCheck =
        "SELECT pg_advisory_xact_lock_shared(" + std::to_string(db::kErasureLock) +
        "); SELECT EXISTS (SELECT 1 FROM suppressed_ids), " + kIdentityGeneration +
        ", (SELECT coalesce(jsonb_object_agg(event_name, ordered), '{}') FROM ("
        "SELECT event_name, bool_or(what <> 'micro') AS ordered "
        "FROM funnelhouse_activation_names GROUP BY event_name) n), "
        "to_regclass('pg_temp.funnelhouse_events_stage') IS NULL";
    const auto checked = txn.exec(kLockAndCheck);
    start.generation = checked[0][1].as<std::int64_t>();
    start.shared_stage = checked[0][3].as<bool>();
    // No destination: nothing to parse (every batch, so it costs nothing).
    if (std::string_view(checked[0][2].c_str()) != "{}") {
        const auto names = nlohmann::json::parse(checked[0][2].c_str(), nullptr, false);
        if (names.is_object())
            for (const auto& [name, ordered] : names.items())
                start.activation_names.emplace(name, ordered.is_boolean() && ordered.get<bool>());
    }
    if (!checked[0][0].as<bool>()) return std::nullopt;

    // Each identifier hashed once: per event and message, and all together
    // for the look-up.
    std::vector<std::vector<std::string>> event_hashes(events.size());
    std::vector<std::vector<std::string>> bad_hashes(bad_events.size());
    std::vector<std::string> all;
    for (std::size_t i = 0; i < events.size(); ++i)
        for (const auto* id :
             {&events[i]->user_id, &events[i]->anonymous_id, &events[i]->previous_id})
            if (*id) event_hashes[i].push_back(suppression_hash(**id));
    for (std::size_t i = 0; i < bad_events.size(); ++i)
        for (const auto& id : raw_identifiers(bad_events[i]->raw_event))
            bad_hashes[i].push_back(suppression_hash(id));
    for (const auto* per_row : {&event_hashes, &bad_hashes})
        for (const auto& hashes : *per_row) all.insert(all.end(), hashes.begin(), hashes.end());
    const auto suppressed = suppressed_among(txn, all);
    if (suppressed.empty()) return std::nullopt;

    const auto erased = [&](const std::vector<std::string>& hashes) {
        return std::any_of(hashes.begin(), hashes.end(),
                           [&](const std::string& hash) { return suppressed.count(hash) > 0; });
    };
    Unsuppressed kept;
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (erased(event_hashes[i])) continue;
        kept.events.push_back(events[i]);
        kept.index.push_back(i);
    }
    for (std::size_t i = 0; i < bad_events.size(); ++i)
        if (!erased(bad_hashes[i])) kept.bad_events.push_back(bad_events[i]);
    return kept;
}

// Another loader may store one of the new ids between the look-up and the
// COPY: the COPY then fails on the primary key, and the batch goes through
// the stage instead, where such an id is merged as a copy. Identity rows
// removed while the batch left known ids out of the stage: it is written
// again without them.
std::vector<Fate> write_kept(pqxx::work& txn, const std::vector<const common::Event*>& events,
                             const std::vector<const common::BadEvent*>& bad_events,
                             BatchCounts* counts, Attempt how) {
    try {
        pqxx::subtransaction attempt(txn, "copy_new_rows");
        auto fates = write_rows_once(attempt, events, bad_events, counts, how);
        attempt.commit();
        return fates;
    } catch (const pqxx::unique_violation&) {
        how.copy_new_rows_directly = false;
        how.known = nullptr;
        return write_rows_once(txn, events, bad_events, counts, how);
    } catch (const StaleKnownIds& stale) {
        how.known->observe_generation(stale.generation);
        how.known = nullptr;
        how.generation = stale.generation;
        return write_kept(txn, events, bad_events, counts, how);
    }
}

}  // namespace

std::vector<Fate> write_rows(pqxx::work& txn, const std::vector<const common::Event*>& events,
                             const std::vector<const common::BadEvent*>& bad_events,
                             BatchCounts* counts, KnownIds* known, const BatchOrder* order) {
    BatchStart start;
    const auto kept = without_suppressed(txn, events, bad_events, start);
    const auto& kept_events = kept ? kept->events : events;
    const auto& kept_bad_events = kept ? kept->bad_events : bad_events;
    if (counts) counts->suppressed_bad_events = bad_events.size() - kept_bad_events.size();
    // Known ids spare a row copied straight into `events` the identity
    // steps; with a shared stage every row is staged (see Attempt).
    if (start.generation < 0 || start.shared_stage) known = nullptr;
    if (known) known->observe_generation(start.generation);

    const auto kept_fates = write_kept(txn, kept_events, kept_bad_events, counts,
                                       {!start.shared_stage, known, start.generation, order,
                                        start.shared_stage});
    enqueue_stored(txn, kept_events, kept_fates, start);
    if (!kept) return kept_fates;
    std::vector<Fate> fates(events.size(), Fate::suppressed);
    for (std::size_t k = 0; k < kept_fates.size(); ++k) fates[kept->index[k]] = kept_fates[k];
    return fates;
}

std::vector<Fate> write_batch(pqxx::connection& connection,
                              const std::vector<const common::Event*>& events,
                              const std::vector<const common::BadEvent*>& bad_events,
                              BatchCounts* counts, KnownIds* known, const BatchOrder* order) {
    BatchCounts own;
    if (!counts) counts = &own;
    pqxx::work txn(connection);
    auto fates = write_rows(txn, events, bad_events, counts, known, order);
    txn.commit();
    if (known) known->remember(events, fates, counts->identity_generation);
    return fates;
}

}  // namespace funnelhouse::loader

#pragma GCC diagnostic pop
