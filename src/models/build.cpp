#include "build.hpp"

#include <cstdlib>

#include "funnelhouse/models/refresh.hpp"

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
    if (message.rfind("ERROR:", 0) == 0) {
        const auto text = message.find_first_not_of(' ', 6);
        message = text == std::string::npos ? "an error without a message" : message.substr(text);
    }
    throw CatalogError(file.path.string() +
                       (line > 0 ? ":" + std::to_string(file.sql_line + line - 1) : "") + ": " +
                       message);
}

// Runs one statement made from `file`. Through the extended protocol, which
// takes one statement only: a file cannot smuggle a second one in after a
// semicolon.
void run_for(pqxx::work& txn, const ModelFile& file, const std::string& sql) {
    try {
        txn.exec_params(sql);
    } catch (const pqxx::sql_error& error) {
        fail_in(file, error);
    }
}

// The statement without a final semicolon (and comment lines after it), so
// that more can follow it.
std::string statement_of(std::string sql) {
    for (;;) {
        const auto end = sql.find_last_not_of(" \t\r\n");
        sql.erase(end == std::string::npos ? 0 : end + 1);
        const auto line_start = sql.rfind('\n');
        const auto last_line = sql.substr(line_start == std::string::npos ? 0 : line_start + 1);
        const auto first = last_line.find_first_not_of(" \t");
        if (first == std::string::npos || last_line.compare(first, 2, "--") != 0) break;
        sql.erase(line_start == std::string::npos ? 0 : line_start);
    }
    if (!sql.empty() && sql.back() == ';') sql.pop_back();
    return sql;
}

// "cannot drop columns from view" and its kin: CREATE OR REPLACE VIEW keeps a
// view's columns, and only adds new ones at the end.
constexpr const char* kChangedViewColumns = "42P16";

// "cannot drop view ... because other objects depend on it".
constexpr const char* kDependentObjects = "2BP01";

// Points `view` at `table`: CREATE OR REPLACE VIEW, or, when the columns
// changed, the view made anew. Its definition is made here, not read from a
// file, so the simple protocol (which a savepoint's rollback needs in
// libpqxx 6.4) runs nothing but it.
void point_view(pqxx::work& txn, const ModelFile& file, const std::string& view,
                const std::string& table) {
    const auto definition = " AS SELECT * FROM " + table;
    try {
        pqxx::subtransaction attempt(txn, "replace_" + file.name);
        attempt.exec("CREATE OR REPLACE VIEW " + view + definition);
        attempt.commit();
        return;
    } catch (const pqxx::sql_error& error) {
        if (error.sqlstate() != kChangedViewColumns) fail_in(file, error);
    }
    txn.exec("DROP VIEW IF EXISTS " + view);
    run_for(txn, file, "CREATE VIEW " + view + definition);
}

// Drops `buffer`.`name`, table or view: it is made anew. Views of the buffer
// that read it go with it; each is made again in its turn, after what it
// reads.
void drop_existing(pqxx::work& txn, const std::string& buffer, const std::string& name) {
    const auto found = txn.exec_params(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        buffer, name);
    if (found.empty()) return;
    txn.exec((found[0][0].as<std::string>() == "v" ? "DROP VIEW " : "DROP TABLE ") +
             txn.quote_name(buffer) + "." + txn.quote_name(name) + " CASCADE");
}

// The names of the files `keep` selects, as a text[] literal.
template <typename Keep>
std::string names_where(const Catalog& catalog, Keep keep) {
    std::string names = "{";
    for (const auto& file : catalog.files)
        if (keep(file)) names += (names.size() > 1 ? "," : "") + file.name;
    return names + "}";
}

std::vector<std::string> vanished_models(pqxx::work& txn, const Catalog& catalog) {
    const auto names =
        names_where(catalog, [](const ModelFile& f) { return f.kind != Kind::function; });
    // A view of the models' role in `models` whose rule reads a buffer's
    // relation of its own name: what switch_view makes.
    static constexpr const char* kSwitchedViews = R"sql(
SELECT c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'models' AND c.relkind = 'v'
  AND pg_get_userbyid(c.relowner) = $1 AND c.relname <> ALL($2::text[])
  AND EXISTS (SELECT 1 FROM pg_rewrite r
              JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
              JOIN pg_class t ON t.oid = d.refobjid
              JOIN pg_namespace tn ON tn.oid = t.relnamespace
              WHERE r.ev_class = c.oid AND tn.nspname IN ('models_a', 'models_b')
                AND t.relname = c.relname)
ORDER BY 1)sql";
    std::vector<std::string> vanished;
    for (const auto& row : txn.exec_params(kSwitchedViews, kModelsRole, names))
        vanished.push_back(row[0].as<std::string>());
    return vanished;
}

std::vector<std::string> vanished_functions(pqxx::work& txn, const Catalog& catalog) {
    const auto functions =
        names_where(catalog, [](const ModelFile& f) { return f.kind == Kind::function; });
    const auto buffered = names_where(catalog, [](const ModelFile& f) { return f.buffered; });
    // Functions of the models' role: in `models`, those of function files;
    // in a buffer, those of buffered ones.
    static constexpr const char* kOwnFunctions = R"sql(
SELECT p.oid::regprocedure::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE pg_get_userbyid(p.proowner) = $1
  AND ((n.nspname = 'models' AND p.proname <> ALL($2::text[]))
       OR (n.nspname IN ('models_a', 'models_b') AND p.proname <> ALL($3::text[])))
ORDER BY 1)sql";
    std::vector<std::string> vanished;
    for (const auto& row : txn.exec_params(kOwnFunctions, kModelsRole, functions, buffered))
        vanished.push_back(row[0].as<std::string>());
    return vanished;
}

// Runs a DROP in a savepoint. Only a view of someone's own depending on
// what it drops keeps it (false); anything else (a cancelled refresh among
// them) stops the refresh.
bool drop_unless_used(pqxx::work& txn, const std::string& statement) {
    try {
        pqxx::subtransaction attempt(txn, "drop_vanished");
        attempt.exec(statement);
        attempt.commit();
        return true;
    } catch (const pqxx::sql_error& error) {
        if (error.sqlstate() != kDependentObjects) throw;
        return false;
    }
}

}  // namespace

std::string other_buffer(pqxx::work& txn) {
    return txn
        .exec(
            "SELECT CASE current WHEN 'models_a' THEN 'models_b' ELSE 'models_a' END "
            "FROM models.state")[0][0]
        .as<std::string>();
}

void make_function(pqxx::work& txn, const ModelFile& file) { run_for(txn, file, file.sql); }

void drop_function(pqxx::work& txn, const ModelFile& file) {
    txn.exec("DROP FUNCTION IF EXISTS models." + txn.quote_name(file.name));
}

void make_model(pqxx::work& txn, const Catalog& catalog, const ModelFile& file,
                const std::string& buffer, Fill fill) {
    const auto target = txn.quote_name(buffer) + "." + txn.quote_name(file.name);
    if (file.kind == Kind::function) {
        // Made anew, so that its result's columns may change; what in the
        // buffer uses it comes after it and is made again in its turn.
        txn.exec("DROP FUNCTION IF EXISTS " + target + " CASCADE");
        return run_for(txn, file, in_buffer(file, catalog, buffer));
    }
    const auto sql = statement_of(in_buffer(file, catalog, buffer));
    drop_existing(txn, buffer, file.name);
    if (file.kind == Kind::view) return run_for(txn, file, "CREATE VIEW " + target + " AS " + sql);
    if (fill == Fill::rows_distributed && !file.distribute.empty()) {
        // Made empty, distributed (co-located with every table distributed
        // by a column of the same type), then filled on the workers.
        run_for(txn, file, "CREATE UNLOGGED TABLE " + target + " AS " + sql + "\nWITH NO DATA");
        run_for(txn, file,
                "SELECT create_distributed_table(" + txn.quote(target) + ", " +
                    txn.quote(file.distribute) + ")");
        run_for(txn, file, "INSERT INTO " + target + " " + sql);
    } else {
        // CREATE TABLE AS may use parallel workers; INSERT may not.
        run_for(txn, file,
                "CREATE UNLOGGED TABLE " + target + " AS " + sql +
                    (fill == Fill::empty ? "\nWITH NO DATA" : "\n"));
    }
    for (const auto& index : file.indexes)
        run_for(txn, file,
                std::string(index.unique ? "CREATE UNIQUE INDEX ON " : "CREATE INDEX ON ") +
                    target + " " + index.columns);
    // The next models' plans depend on these rows' statistics.
    if (fill != Fill::empty) txn.exec("ANALYZE " + target);
}

std::vector<Vanished> vanished(pqxx::work& txn, const Catalog& catalog) {
    std::vector<Vanished> gone;
    for (auto& name : vanished_models(txn, catalog)) gone.push_back({std::move(name), false});
    for (auto& signature : vanished_functions(txn, catalog))
        gone.push_back({std::move(signature), true});
    return gone;
}

bool drop_vanished(pqxx::work& txn, const Vanished& gone) {
    if (gone.function) return drop_unless_used(txn, "DROP FUNCTION " + gone.name);
    if (!drop_unless_used(txn, "DROP VIEW models." + txn.quote_name(gone.name))) return false;
    for (const char* buffer : {"models_a", "models_b"}) drop_existing(txn, buffer, gone.name);
    return true;
}

void switch_view(pqxx::work& txn, const ModelFile& file, const std::string& buffer) {
    // Without CASCADE: an analyst's own view on models.<name> stops the
    // refresh (with PostgreSQL's message naming it) rather than going.
    point_view(txn, file, "models." + txn.quote_name(file.name),
               txn.quote_name(buffer) + "." + txn.quote_name(file.name));
}

}  // namespace funnelhouse::models::build
