#pragma once

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace funnelhouse::test {

// The database scripts/test starts (FH_TEST_DATABASE_URL). Throws
// when it is not set: these tests never fall back to anything but a real
// PostgreSQL.
std::string base_database_url();

// The base URL of every PostgreSQL server a test's database lives on: the
// test database's alone, or in the scale tier (a Citus cluster) the
// coordinator's and then each worker's. Roles, which are per server, are
// made on each.
std::vector<std::string> node_urls();

// Makes one Citus database of databases on separate PostgreSQL servers
// (each with citus preloaded): the extension in each, the workers added to
// the coordinator's. Arguments are the databases' URLs.
void join_citus(const std::string& coordinator, const std::vector<std::string>& workers);
// Adds one more worker's database to a Citus database (the extension in it).
void join_citus_worker(const std::string& coordinator, const std::string& worker);

// A database of its own for one test (named name()), so tests never see
// each other's rows or schemas; it is dropped afterwards.
// Where a test's database lives: as the tier says (one PostgreSQL, or in
// the scale tier a Citus cluster), or on one PostgreSQL whatever the tier
// (for comparing the two).
enum class Placement { tier, single };

class TestSchema {
  public:
    explicit TestSchema(Placement placement = Placement::tier);
    ~TestSchema();
    TestSchema(const TestSchema&) = delete;
    TestSchema& operator=(const TestSchema&) = delete;

    const std::string& name() const { return name_; }
    std::string url() const;
    std::unique_ptr<pqxx::connection> connect() const;
    void migrate() const;  // applies the repository's migrations

    // Runs a query and returns the first column of the first row as text
    // ("" when NULL), for assertions.
    std::string scalar(const std::string& sql) const;

  private:
    std::string name_;
    bool distributed_;
    std::string base_;  // the server's base URL it lives on (the coordinator's)
};

}  // namespace funnelhouse::test
