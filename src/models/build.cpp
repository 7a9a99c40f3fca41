#include "build.hpp"

#include <cstdlib>

namespace funnelhouse::models::build {
namespace {

// PostgreSQL's message for a statement made from `file`, as
// "path:line: message". The statements keep the file's lines (what is put
// before the file's text has no line break), so the error's "LINE n" is
// line n of the statement.
[[noreturn]] void fail_in(const ModelFile& file, const pqxx::sql_error& error) {
    std::string message = error.what();
    int line = 0;
    if (const auto at = message.find("\nLINE "); at != std::string::npos)
        line = std::atoi(message.c_str() + at + 6);
    message = message.substr(0, message.find('\n'));
    if (message.rfind("ERROR:", 0) == 0)
        message = message.substr(message.find_first_not_of(' ', 6));
    throw CatalogError(file.path.string() +
                       (line > 0 ? ":" + std::to_string(file.sql_line + line - 1) : "") + ": " +
                       message);
}

template <typename Run>
void run_for(const ModelFile& file, Run&& run) {
    try {
        run();
    } catch (const pqxx::sql_error& error) {
        fail_in(file, error);
    }
}

// The statement without a final semicolon, so that more can follow it.
std::string statement_of(std::string sql) {
    const auto end = sql.find_last_not_of(" \t\r\n");
    sql.erase(end == std::string::npos ? 0 : end + 1);
    if (!sql.empty() && sql.back() == ';') sql.pop_back();
    return sql;
}

void drop_existing(pqxx::work& txn, const std::string& buffer, const std::string& name) {
    const auto found = txn.exec_params(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        buffer, name);
    if (found.empty()) return;
    const auto kind = found[0][0].as<std::string>();
    const auto target = txn.quote_name(buffer) + "." + txn.quote_name(name);
    // Views of the buffer that read it go with it; each is made again in
    // its turn, after what it reads.
    txn.exec((kind == "v" ? "DROP VIEW " : "DROP TABLE ") + target + " CASCADE");
}

}  // namespace

std::string other_buffer(pqxx::work& txn) {
    return txn
        .exec(
            "SELECT CASE current WHEN 'models_a' THEN 'models_b' ELSE 'models_a' END "
            "FROM models.state")[0][0]
        .as<std::string>();
}

void make_function(pqxx::work& txn, const ModelFile& file) {
    run_for(file, [&] { txn.exec(file.sql); });
}

void make_model(pqxx::work& txn, const Catalog& catalog, const ModelFile& file,
                const std::string& buffer, bool with_data) {
    const auto target = txn.quote_name(buffer) + "." + txn.quote_name(file.name);
    const auto sql = statement_of(in_buffer(file, catalog, buffer));
    drop_existing(txn, buffer, file.name);
    if (file.kind == Kind::view) {
        run_for(file, [&] { txn.exec("CREATE VIEW " + target + " AS " + sql); });
        return;
    }
    // CREATE TABLE AS may use parallel workers; INSERT may not.
    run_for(file, [&] {
        txn.exec("CREATE UNLOGGED TABLE " + target + " AS " + sql +
                 (with_data ? "\n" : "\nWITH NO DATA"));
    });
    for (const auto& index : file.indexes)
        run_for(file, [&] {
            txn.exec(std::string(index.unique ? "CREATE UNIQUE INDEX ON " : "CREATE INDEX ON ") +
                     target + " " + index.columns);
        });
    // The next models' plans depend on these rows' statistics.
    if (with_data) txn.exec("ANALYZE " + target);
}

void switch_view(pqxx::work& txn, const ModelFile& file, const std::string& buffer) {
    const auto view = "models." + txn.quote_name(file.name);
    const auto definition =
        " AS SELECT * FROM " + txn.quote_name(buffer) + "." + txn.quote_name(file.name);
    bool replaced = false;
    try {
        pqxx::subtransaction attempt(txn, "switch_" + file.name);
        attempt.exec("CREATE OR REPLACE VIEW " + view + definition);
        attempt.commit();
        replaced = true;
    } catch (const pqxx::sql_error&) {
        // The columns changed: CREATE OR REPLACE only adds columns at the end.
    }
    if (replaced) return;
    run_for(file, [&] {
        txn.exec("DROP VIEW IF EXISTS " + view);
        txn.exec("CREATE VIEW " + view + definition);
    });
}

}  // namespace funnelhouse::models::build
