#include "test_database.hpp"

#include <cstdlib>
#include <random>
#include <stdexcept>

#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/db/migrate.hpp"
#include "temp_dir.hpp"

namespace funnelhouse::test {

std::string base_database_url() {
    const char* url = std::getenv("FUNNELHOUSE_TEST_DATABASE_URL");
    if (!url || !*url)
        throw std::runtime_error(
            "FUNNELHOUSE_TEST_DATABASE_URL is not set: run the tests with scripts/test, which "
            "starts a throwaway PostgreSQL");
    return url;
}

TestSchema::TestSchema() {
    std::random_device device;
    name_ = "t_" + std::to_string(device()) + "_" + std::to_string(device());
    auto connection = db::connect(base_database_url());
    pqxx::nontransaction txn(*connection);
    txn.exec("CREATE SCHEMA " + name_);
}

TestSchema::~TestSchema() {
    try {
        auto connection = db::connect(base_database_url());
        pqxx::nontransaction txn(*connection);
        txn.exec("DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
    } catch (...) {
    }
}

std::string TestSchema::url() const {
    auto url = base_database_url();
    url += url.find('?') == std::string::npos ? '?' : '&';
    url += "options=-csearch_path%3D" + name_;
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
