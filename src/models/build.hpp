#pragma once

// The statements a refresh runs for each model file (src/models/refresh.cpp
// orders them).
#include <pqxx/pqxx>
#include <string>

#include "funnelhouse/models/catalog.hpp"

namespace funnelhouse::models::build {

// The buffer a refresh builds: the one the views in `models` do not show.
std::string other_buffer(pqxx::work& txn);

// Creates (or replaces) a function file's function in `models`.
void make_function(pqxx::work& txn, const ModelFile& file);

// Drops a function file's function from `models`, if it is there: so that
// it can be made with another result (maybe the rows of a model whose
// columns changed). A view of someone's own that calls it stops the refresh.
void drop_function(pqxx::work& txn, const ModelFile& file);

// What a table is made with: nothing (which still plans the statement, so
// it finds every error but those of the data), its rows and statistics, or
// on a Citus coordinator its rows spread over the workers by the column its
// file names (tables without one stay on the coordinator).
enum class Fill { empty, rows, rows_distributed };

// Makes a table or view in `buffer` anew, a table filled as `fill` says. A
// buffered function is made in `buffer` anew.
void make_model(pqxx::work& txn, const Catalog& catalog, const ModelFile& file,
                const std::string& buffer, Fill fill);

// What a refresh made earlier whose file is gone: a model (by name: its
// view in `models` and its tables or views in both buffers), or a function
// (by signature, "models_a.f(integer)"; in a buffer, one no model uses any
// more).
struct Vanished {
    std::string name;
    bool function = false;
};
std::vector<Vanished> vanished(pqxx::work& txn, const Catalog& catalog);

// Drops it; not when a view of someone's own uses it: then it stays, and
// false is returned.
bool drop_vanished(pqxx::work& txn, const Vanished& gone);

// Points models.<name> at `buffer`.<name>. When the columns changed the view
// is made anew (which an analyst's own view on it prevents, with
// PostgreSQL's message naming it).
void switch_view(pqxx::work& txn, const ModelFile& file, const std::string& buffer);

}  // namespace funnelhouse::models::build
