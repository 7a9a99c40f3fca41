// The raw ceiling for bench/run: how fast this PostgreSQL takes the rows the
// benchmark's traffic becomes, with nothing in front of it. The rows are made
// by the server's own request processing (parse, validate, map) and encoded
// in COPY text beforehand by the loader's own encoder, then streamed with one
// COPY into a fresh copy of the `events` table (same columns, defaults,
// constraints and indexes) and committed. Only the COPY and the commit are timed. Prints one JSON line.
//
//   funnelhouse_ceiling --database-url URL --schemas-dir DIR [--rows 400000]
//                       [--indexes all|primary-key] [--repeat 3]
//
// The rows are loaded --repeat times, each into a fresh table; the report
// gives the best rate and every attempt.
//
// --indexes primary-key leaves out the secondary indexes: what the table
// would take if the models did not need them.
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <vector>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/ingest/request.hpp"
#include "funnelhouse/loader/writer.hpp"
#include "traffic.hpp"

namespace {

using steady = std::chrono::steady_clock;

struct Connection {
    PGconn* raw;
    ~Connection() { PQfinish(raw); }
};

void exec(PGconn* connection, const std::string& sql, ExecStatusType expected = PGRES_COMMAND_OK) {
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection, sql.c_str()),
                                                         &PQclear);
    if (PQresultStatus(result.get()) != expected)
        throw std::runtime_error(sql.substr(0, 60) + ": " + PQerrorMessage(connection));
}

// One timed load into a fresh table: COPY and commit.
double copy_once(PGconn* connection, const std::string& text, std::size_t rows,
                 bool primary_key_only) {
    exec(connection, "DROP TABLE IF EXISTS ceiling_events");
    exec(connection, primary_key_only
                             ? "CREATE TABLE ceiling_events (LIKE events INCLUDING DEFAULTS"
                               " INCLUDING CONSTRAINTS, PRIMARY KEY (event_id))"
                             : "CREATE TABLE ceiling_events (LIKE events INCLUDING ALL)");
    exec(connection, "CHECKPOINT");

    const auto started = steady::now();
    exec(connection, "BEGIN");
    std::string columns;
    for (const auto& column : funnelhouse::loader::event_columns())
        columns += (columns.empty() ? "" : ", ") + column;
    exec(connection, "COPY ceiling_events (" + columns + ") FROM STDIN", PGRES_COPY_IN);
    constexpr std::size_t chunk = 1 << 20;
    for (std::size_t at = 0; at < text.size(); at += chunk) {
        const auto size = std::min(chunk, text.size() - at);
        if (PQputCopyData(connection, text.data() + at, static_cast<int>(size)) != 1)
            throw std::runtime_error(PQerrorMessage(connection));
    }
    if (PQputCopyEnd(connection, nullptr) != 1)
        throw std::runtime_error(PQerrorMessage(connection));
    std::unique_ptr<PGresult, decltype(&PQclear)> copied(PQgetResult(connection), &PQclear);
    if (PQresultStatus(copied.get()) != PGRES_COMMAND_OK)
        throw std::runtime_error(std::string("COPY: ") + PQerrorMessage(connection));
    while (PGresult* rest = PQgetResult(connection)) PQclear(rest);
    exec(connection, "COMMIT");
    const double seconds = std::chrono::duration<double>(steady::now() - started).count();

    std::unique_ptr<PGresult, decltype(&PQclear)> count(
        PQexec(connection, "SELECT count(*) FROM ceiling_events"), &PQclear);
    const auto stored = std::stoull(PQgetvalue(count.get(), 0, 0));
    exec(connection, "DROP TABLE ceiling_events");
    exec(connection, "CHECKPOINT");
    if (stored != rows) throw std::runtime_error("ceiling: stored " + std::to_string(stored));
    return seconds;
}

}  // namespace

int main(int argc, char** argv) try {
    std::string url;
    std::string schemas;
    std::size_t rows = 400'000;
    bool primary_key_only = false;
    int repeat = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string name = argv[i];
        const std::string value = argv[i + 1];
        if (name == "--database-url")
            url = value;
        else if (name == "--schemas-dir")
            schemas = value;
        else if (name == "--rows")
            rows = std::stoul(value);
        else if (name == "--repeat" && std::stoi(value) > 0)
            repeat = std::stoi(value);
        else if (name == "--indexes" && (value == "all" || value == "primary-key"))
            primary_key_only = value == "primary-key";
        else
            throw std::runtime_error("unknown option " + name);
    }
    if (url.empty() || schemas.empty())
        throw std::runtime_error(
            "usage: funnelhouse_ceiling --database-url URL --schemas-dir DIR [--rows N]"
            " [--indexes all|primary-key] [--repeat N]");

    using namespace funnelhouse;
    const auto registry = schema::SchemaRegistry::load(schemas);
    const auto keys = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"bench","key":"ceiling-key","source":"server"}])", "ceiling");
    const auto authorization = "Basic " + common::base64_encode("ceiling-key:");
    const ingest::IngestSettings settings;

    // Encode first: the same events the benchmark posts, without copies.
    bench::TrafficStream traffic("ceiling", 100, 0);
    std::string text;
    db::CopyRow row;
    std::size_t encoded = 0;
    while (encoded < rows) {
        const auto request = traffic.next();
        const auto outcome = ingest::process_request(
            {"/v1/batch", request.body, authorization, common::now(), "", ""}, keys, registry,
            settings);
        if (outcome.error || !outcome.bad_events.empty())
            throw std::runtime_error("the traffic does not pass the contracts: " +
                                     outcome.error_message + outcome.rejected_json);
        for (const auto& event : outcome.events) {
            if (encoded == rows) break;
            ++encoded;
            loader::encode_event_row(row, event);
            text += row.line();
            text += '\n';
        }
    }

    Connection connection{PQconnectdb(url.c_str())};
    if (PQstatus(connection.raw) != CONNECTION_OK)
        throw std::runtime_error(std::string("cannot connect: ") + PQerrorMessage(connection.raw));
    // The best of several loads: the ceiling is what this PostgreSQL can do
    // when nothing disturbs it, and a shared machine only ever lowers it.
    std::vector<double> rates;
    for (int attempt = 0; attempt < repeat; ++attempt) {
        const double seconds = copy_once(connection.raw, text, rows, primary_key_only);
        rates.push_back(static_cast<double>(rows) / seconds);
    }
    const double best = *std::max_element(rates.begin(), rates.end());
    nlohmann::json report = {{"rows", rows},
                             {"bytes", text.size()},
                             {"rows_per_second", best},
                             {"attempts_rows_per_second", rates}};
    std::cout << report.dump() << std::endl;
    return 0;
} catch (const std::exception& error) {
    std::cerr << "funnelhouse_ceiling: " << error.what() << "\n";
    return 1;
}
