#include "funnelhouse/db/migrate.hpp"

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <stdexcept>

#include "funnelhouse/common/file.hpp"
#include "funnelhouse/common/sha256.hpp"
#include "funnelhouse/db/locks.hpp"

namespace funnelhouse::db {
namespace {

bool parse_name(const std::string& file_name, std::string& version, std::string& name) {
    if (file_name.size() < 10 || file_name.substr(file_name.size() - 4) != ".sql") return false;
    if (file_name[4] != '_') return false;
    for (int i = 0; i < 4; ++i)
        if (file_name[i] < '0' || file_name[i] > '9') return false;
    version = file_name.substr(0, 4);
    name = file_name.substr(5, file_name.size() - 9);
    if (name.empty()) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

}  // namespace

std::vector<MigrationFile> read_migrations(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw std::runtime_error("migrations directory '" + dir.string() + "' does not exist");
    std::map<std::string, MigrationFile> by_version;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
        MigrationFile file;
        const auto file_name = entry.path().filename().string();
        if (!parse_name(file_name, file.version, file.name))
            throw std::runtime_error("migration '" + entry.path().string() +
                                     "' must be named NNNN_name.sql (lowercase, digits, '_')");
        auto text = common::read_file(entry.path());
        if (!text) throw std::runtime_error("cannot read '" + entry.path().string() + "'");
        file.path = entry.path();
        file.sql = std::move(*text);
        file.checksum = common::sha256_hex(file.sql);
        if (by_version.count(file.version))
            throw std::runtime_error("migrations '" + by_version[file.version].path.string() +
                                     "' and '" + file.path.string() + "' share version " +
                                     file.version);
        by_version.emplace(file.version, std::move(file));
    }
    std::vector<MigrationFile> files;
    for (auto& [version, file] : by_version) files.push_back(std::move(file));
    return files;
}

namespace {

// Concurrent runs (several instances starting at once) take turns: the
// lock covers creating the bookkeeping table too.
class SessionLock {
  public:
    explicit SessionLock(pqxx::connection& connection) : connection_(connection) {
        pqxx::nontransaction(connection_)
            .exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")");
    }
    ~SessionLock() {
        try {
            pqxx::nontransaction(connection_)
                .exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")");
        } catch (...) {
            // The lock ends with the session anyway.
        }
    }
    SessionLock(const SessionLock&) = delete;
    SessionLock& operator=(const SessionLock&) = delete;

  private:
    pqxx::connection& connection_;
};

void create_bookkeeping(pqxx::connection& connection) {
    pqxx::nontransaction(connection)
        .exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY,"
            " name text NOT NULL,"
            " checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())");
}

// Every migration the database records must still have its file.
void check_recorded(pqxx::connection& connection, const std::vector<MigrationFile>& files,
                    const std::filesystem::path& dir) {
    pqxx::nontransaction check(connection);
    for (const auto& row : check.exec("SELECT version FROM schema_migrations ORDER BY version")) {
        const auto version = row[0].as<std::string>();
        const bool known = std::any_of(files.begin(), files.end(), [&](const MigrationFile& file) {
            return file.version == version;
        });
        if (!known)
            throw std::runtime_error("migration " + version +
                                     " is recorded as applied but has no file in '" + dir.string() +
                                     "'");
    }
}

// Applies one file in a transaction of its own, unless it is recorded
// already (then its checksum must match). True when it was applied.
bool apply(pqxx::connection& connection, const MigrationFile& file) {
    pqxx::work txn(connection);
    const auto existing =
        txn.exec_params("SELECT checksum FROM schema_migrations WHERE version = $1", file.version);
    if (!existing.empty()) {
        const auto recorded = existing[0][0].as<std::string>();
        if (recorded != file.checksum)
            throw std::runtime_error("migration " + file.version + "_" + file.name + ".sql" +
                                     " was changed after it was applied (checksum " +
                                     recorded.substr(0, 12) + "... recorded, " +
                                     file.checksum.substr(0, 12) +
                                     "... now); add a new migration instead of editing it");
        txn.abort();
        return false;
    }
    try {
        txn.exec(file.sql);
    } catch (const pqxx::sql_error& error) {
        throw std::runtime_error("migration " + file.version + "_" + file.name + ".sql failed: " +
                                 error.what());
    }
    txn.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    file.version, file.name, file.checksum);
    txn.commit();
    return true;
}

}  // namespace

bool is_citus(pqxx::transaction_base& txn) {
    return txn.exec("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")[0][0]
        .as<bool>();
}

bool is_citus(pqxx::connection& connection) {
    pqxx::nontransaction txn(connection);
    return is_citus(txn);
}

std::vector<MigrationFile> expected_migrations(pqxx::connection& connection,
                                               const std::filesystem::path& dir) {
    auto files = read_migrations(dir);
    if (!is_citus(connection)) return files;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir / "citus", ec))
        throw std::runtime_error("the database is a Citus coordinator (it has the citus extension), "
                                 "and '" + (dir / "citus").string() +
                                 "', the distributed layout's migrations, does not exist");
    for (auto& file : read_migrations(dir / "citus")) {
        file.version = "citus/" + file.version;
        files.push_back(std::move(file));
    }
    return files;
}

MigrationReport migrate(pqxx::connection& connection, const std::filesystem::path& dir,
                        config::DatabaseLayout layout) {
    if (layout == config::DatabaseLayout::citus && !is_citus(connection))
        throw std::runtime_error(
            "the distributed layout needs a Citus coordinator, and this database has no citus "
            "extension: run CREATE EXTENSION citus in it (and in the same database on each "
            "worker) and add the workers first (docs/operations.md, \"Citus\")");
    const auto files = expected_migrations(connection, dir);
    MigrationReport report;
    SessionLock lock(connection);
    create_bookkeeping(connection);
    check_recorded(connection, files, dir);
    for (const auto& file : files) {
        if (apply(connection, file))
            report.applied.push_back(file.path.lexically_relative(dir).string());
        else
            ++report.already_applied;
    }
    return report;
}

}  // namespace funnelhouse::db
