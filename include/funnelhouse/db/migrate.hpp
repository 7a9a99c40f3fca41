#pragma once

#include <filesystem>
#include <pqxx/connection>
#include <string>
#include <vector>

namespace funnelhouse::db {

struct MigrationFile {
    std::string version;  // "0001"
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

// Applies every migration not yet recorded in schema_migrations, each in its
// own transaction together with its record. Refuses (std::runtime_error) when
// an applied file's checksum changed or an applied version has no file.
// Concurrent runs serialise on an advisory lock.
MigrationReport migrate(pqxx::connection& connection, const std::filesystem::path& dir);

}  // namespace funnelhouse::db
