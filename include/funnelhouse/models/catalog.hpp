#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// The models as files (models/, docs/analytics.md): one SQL file per model
// or function, its header saying what it is, the order of refresh following
// from what each file reads. Reading and ordering the files is pure: no
// database is needed, so a broken folder is found before a refresh starts.
namespace funnelhouse::models {

// A problem with the model files, naming the file (and the line when there
// is one): "models/orders.sql:12: ...".
class CatalogError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class Kind {
    table,     // an unlogged table in the buffer, rebuilt by each refresh
    view,      // a view in the buffer (computed when read)
    function,  // a function in `models` (CREATE OR REPLACE FUNCTION ...)
};
std::string_view to_string(Kind kind);

// A `models.<name>` in a file's SQL, outside comments and string literals.
struct Reference {
    std::string name;        // folded to lower case unless quoted
    std::size_t offset = 0;  // of the schema's name ("models" or "\"models\"") in the SQL
    std::size_t length = 6;  // of the schema's name as written
    int line = 0;            // in the file, from 1
};

// The references in `sql`: comments, string literals and dollar-quoted
// literals skipped; with `dollar_body_is_sql` (function files), the first
// dollar-quoted body is read as SQL. `first_line` is the file line `sql`
// starts on.
std::vector<Reference> find_references(std::string_view sql, int first_line = 1,
                                       bool dollar_body_is_sql = true);

struct Index {
    bool unique = false;
    std::string columns;  // "(person_id, occurred_at)"
};

struct ModelFile {
    std::string name;  // the file's name without .sql: the model's or function's name
    std::filesystem::path path;
    Kind kind = Kind::table;
    std::string grain;               // "one row per order_id" (tables and views)
    std::vector<Index> indexes;      // tables only
    // The column a table is distributed by on Citus ("" for none: the table
    // stays on the coordinator); ignored on one PostgreSQL.
    std::string distribute;
    std::vector<std::string> reads;  // the models it reads, as its header lists them
    std::string sql;                 // the statement: everything after the header
    int sql_line = 1;                // the file line the statement starts on
    std::vector<Reference> references;
    bool reads_models = false;  // a function that reads models, maybe through others
    // A function that reads models and that a model uses: made in the
    // buffer too, before the models that use it (and in `models` after the
    // switch, as every function that reads models).
    bool buffered = false;

    // Made in the buffer a refresh builds (tables, views, buffered
    // functions); references to it there point at that buffer.
    bool made_in_buffer() const { return kind != Kind::function || buffered; }
};

// Parses one file: a header of `--` comment lines with `kind:`, `grain:`,
// `index:` (tables; repeatable), `distribute:` (tables: the column their
// rows are spread by on Citus; every unique index includes it) and `reads:`
// (models, comma-separated, or "(no model)"), then the statement: a plain
// SELECT for tables and views, a CREATE OR REPLACE FUNCTION models.<name>
// for functions.
ModelFile parse_model_file(std::string_view text, const std::filesystem::path& path);

// Every file, in the order a refresh builds them: functions that read no
// model, then the models (each after those it reads, and after the
// functions reading models that it uses), then the functions that read
// models (they read the views a refresh switches).
struct Catalog {
    std::vector<ModelFile> files;

    const ModelFile* find(std::string_view name) const;
    std::size_t model_count() const;
};

// Orders parsed files. Throws CatalogError naming the files for: two files
// of one name, a read naming no model file (nor function reading models), a
// reference the header does not list (or a listed read never made), and a
// cycle.
Catalog order_files(std::vector<ModelFile> files);

// Reads every *.sql file under each folder (recursively; a folder that does
// not exist is an error) and orders them.
Catalog load_catalog(const std::vector<std::filesystem::path>& folders);

// A table's, view's or buffered function's statement with its references
// to models and buffered functions (its own name among them) pointed at
// `buffer` (models_a or models_b), where a refresh builds them.
std::string in_buffer(const ModelFile& file, const Catalog& catalog, std::string_view buffer);

}  // namespace funnelhouse::models
