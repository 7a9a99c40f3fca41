// Fuzz target: the COPY encoder against the real PostgreSQL
// (FH_TEST_DATABASE_URL). The input is split at 0xFF bytes (never part of
// UTF-8) into an event's id, user id, anonymous id and a property value;
// every part the ingest path would accept (UTF-8 without NUL) is written
// with the loader's own encoder, COPYed into a table shaped like `events`,
// and must read back exactly as sent. Each input is rolled back.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "funnelhouse/common/utf8.hpp"
#include "funnelhouse/db/migrate.hpp"
#include "funnelhouse/ingest/json_spans.hpp"
#include "funnelhouse/loader/writer.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace {

using namespace funnelhouse;
using fuzz::require;

pqxx::connection& database() {
    static const std::unique_ptr<pqxx::connection> connection = [] {
        const char* url = std::getenv("FH_TEST_DATABASE_URL");
        if (!url || !*url) {
            std::fprintf(stderr, "the copy target needs FH_TEST_DATABASE_URL (scripts/test)\n");
            std::exit(2);
        }
        auto made = std::make_unique<pqxx::connection>(url);
        pqxx::nontransaction setup(*made);
        // The columns of `events` as the migrations make them.
        setup.exec(
            "CREATE TEMP TABLE fuzz_events (event_id text PRIMARY KEY, event_name text NOT NULL,"
            " event_type text NOT NULL, schema_version text NOT NULL, anonymous_id text,"
            " user_id text, group_id text, previous_id text, occurred_at timestamptz NOT NULL,"
            " original_timestamp timestamptz, sent_at timestamptz, received_at timestamptz NOT "
            "NULL, properties jsonb NOT NULL, context jsonb NOT NULL, write_key_name text NOT "
            "NULL, source text NOT NULL, browser_received_at timestamptz, server_received_at "
            "timestamptz)");
        return made;
    }();
    return *connection;
}

bool accepted(std::string_view text) {
    return text.find('\0') == std::string_view::npos && common::invalid_utf8_offsets(text).empty();
}

void check(std::string_view bytes) {
    std::vector<std::string> parts(1);
    for (const char c : bytes) {
        if (static_cast<unsigned char>(c) == 0xFF) {
            if (parts.size() == 4) break;
            parts.emplace_back();
        } else {
            parts.back() += c;
        }
    }
    parts.resize(4);
    const auto part = [&](std::size_t i) -> std::optional<std::string> {
        if (parts[i].empty() || !accepted(parts[i])) return std::nullopt;
        return parts[i];
    };

    common::Event event;
    event.event_id = part(0).value_or("fuzz");
    event.event_name = "fuzz";
    event.event_type = "track";
    event.schema_version = "1-0-0";
    event.user_id = part(1);
    event.anonymous_id = part(2);
    event.occurred_at = *common::parse_timestamp("2024-05-01T12:00:00Z");
    event.received_at = event.occurred_at;
    const auto value = part(3);
    event.properties = nlohmann::json{{"p", value.value_or("")}}.dump();
    event.context = "{}";
    event.write_key_name = "fuzz";

    db::CopyRow row;
    loader::encode_event_row(row, event);
    pqxx::work txn(database());
    pqxx::tablewriter writer(txn, "fuzz_events", loader::event_columns().begin(),
                             loader::event_columns().end());
    writer.write_raw_line(row.line());
    writer.complete();
    const auto back = txn.exec1(
        "SELECT event_id, user_id, anonymous_id, properties->>'p', count(*) OVER () FROM "
        "fuzz_events");
    require(back[4].as<int>() == 1, "one line is one row");
    require(back[0].as<std::string>() == event.event_id, "the event id reads back as sent");
    require(back[1].is_null() == !event.user_id, "a null stays null");
    require(!event.user_id || back[1].as<std::string>() == *event.user_id,
            "the user id reads back as sent");
    require(back[2].is_null() == !event.anonymous_id, "a null stays null");
    require(!event.anonymous_id || back[2].as<std::string>() == *event.anonymous_id,
            "the anonymous id reads back as sent");
    require(back[3].as<std::string>() == value.value_or(""),
            "a property value reads back as sent, through JSON and COPY");
    txn.abort();
}

}  // namespace

#pragma GCC diagnostic pop

FUNNELHOUSE_FUZZ_TARGET(check)
