#include "test_database.hpp"

#include <cstdlib>
#include <random>
#include <stdexcept>

#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/db/migrate.hpp"
#include "temp_dir.hpp"

namespace funnelhouse::test {

std::string base_database_url() {
    const char* url = std::getenv("FH_TEST_DATABASE_URL");
    if (!url || !*url)
        throw std::runtime_error(
            "FH_TEST_DATABASE_URL is not set: run the tests with scripts/test, which "
            "starts a throwaway PostgreSQL");
    return url;
}

namespace {

// The base URL with its database name replaced.
std::string with_database(const std::string& url, const std::string& name) {
    const auto scheme = url.find("://");
    const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    if (scheme == std::string::npos || slash == std::string::npos)
        throw std::runtime_error("FH_TEST_DATABASE_URL must be a postgresql:// URL with "
                                 "a database name");
    const auto query = url.find('?', slash);
    return url.substr(0, slash + 1) + name + (query == std::string::npos ? "" : url.substr(query));
}

}  // namespace

TestSchema::TestSchema() {
    std::random_device device;
    name_ = "t_" + std::to_string(device()) + "_" + std::to_string(device());
    auto connection = db::connect(base_database_url());
    pqxx::nontransaction txn(*connection);
    txn.exec("CREATE DATABASE " + name_);
}

TestSchema::~TestSchema() {
    try {
        auto connection = db::connect(base_database_url());
        pqxx::nontransaction txn(*connection);
        txn.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
}

std::string TestSchema::url() const {
    auto url = with_database(base_database_url(), name_);
    url += url.find('?') == std::string::npos ? '?' : '&';
    // Spelled out so that tests can append further -c options.
    url += "options=-csearch_path%3Dpublic";
    return url;
}

std::unique_ptr<pqxx::connection> TestSchema::connect() const { return db::connect(url()); }

void TestSchema::migrate() const {
    auto connection = connect();
    db::migrate(*connection, source_dir() / "migrations");
}

std::string TestSchema::scalar(const std::string& sql) const {
    auto connection = connect();
    pqxx::nontransaction txn(*connection);
    const auto result = txn.exec(sql);
    if (result.empty() || result[0][0].is_null()) return "";
    return result[0][0].as<std::string>();
}

}  // namespace funnelhouse::test
