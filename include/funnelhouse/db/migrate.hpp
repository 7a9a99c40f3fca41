#pragma once

#include <filesystem>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "funnelhouse/config/config.hpp"

namespace funnelhouse::db {

struct MigrationFile {
    std::string version;  // "0001"; "citus/0001" for the distributed layout's files
    std::string name;     // "events"
    std::filesystem::path path;
    std::string sql;
    std::string checksum;  // SHA-256 of the file, hex
};

// The migrations of a folder, in version order. Only files named
// NNNN_name.sql count; a duplicated version or a badly named .sql file is an
// error (std::runtime_error naming the file).
std::vector<MigrationFile> read_migrations(const std::filesystem::path& dir);

struct MigrationReport {
    std::vector<std::string> applied;  // file names applied by this run
    std::size_t already_applied = 0;
};

// Whether the database has the citus extension.
bool is_citus(pqxx::connection& connection);
bool is_citus(pqxx::transaction_base& txn);

// The migrations a database needs: those of `dir`, and on a Citus
// coordinator those of dir/citus after them (the distributed layout,
// recorded as citus/NNNN).
std::vector<MigrationFile> expected_migrations(pqxx::connection& connection,
                                               const std::filesystem::path& dir);

// Applies every migration not yet recorded in schema_migrations, each in its
// own transaction together with its record. Refuses (std::runtime_error) when
// an applied file's checksum changed or an applied version has no file.
// Concurrent runs serialise on an advisory lock. The layout
// (config::DatabaseLayout): `automatic` is distributed when the database
// has the citus extension (a Citus coordinator), else one PostgreSQL's as
// always; `citus` refuses a database without the extension.
MigrationReport migrate(pqxx::connection& connection, const std::filesystem::path& dir,
                        config::DatabaseLayout layout = config::DatabaseLayout::automatic);

}  // namespace funnelhouse::db
