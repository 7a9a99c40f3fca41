#include "test_database.hpp"

#include <cstdlib>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/db/migrate.hpp"
#include "temp_dir.hpp"

namespace funnelhouse::test {

namespace {

// The scale tier (FH_TEST_TIER=scale) runs the same tests on a Citus
// cluster that scripts/test starts: the base URL is then the coordinator's
// (FH_SCALE_DATABASE_URL), and FH_SCALE_WORKER_URLS lists the workers'
// (separated by spaces).
bool scale_tier() {
    const char* tier = std::getenv("FH_TEST_TIER");
    return tier && std::string_view(tier) == "scale";
}

std::string required_env(const char* name) {
    const char* value = std::getenv(name);
    if (!value || !*value)
        throw std::runtime_error(std::string(name) +
                                 " is not set: run the tests with scripts/test, which "
                                 "starts a throwaway PostgreSQL");
    return value;
}

std::vector<std::string> worker_urls() {
    std::vector<std::string> urls;
    std::istringstream list(required_env("FH_SCALE_WORKER_URLS"));
    for (std::string url; list >> url;) urls.push_back(url);
    return urls;
}

}  // namespace

std::string base_database_url() {
    return required_env(scale_tier() ? "FH_SCALE_DATABASE_URL" : "FH_TEST_DATABASE_URL");
}

std::vector<std::string> node_urls() {
    std::vector<std::string> urls{base_database_url()};
    if (scale_tier())
        for (auto& worker : worker_urls()) urls.push_back(std::move(worker));
    return urls;
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

namespace {

// The host and port of a postgresql:// URL, as citus_add_node takes them.
std::pair<std::string, int> host_and_port(const std::string& url) {
    const auto at = url.find('@');
    const auto start = at == std::string::npos ? url.find("://") + 3 : at + 1;
    const auto slash = url.find('/', start);
    const auto colon = url.rfind(':', slash);
    if (colon == std::string::npos || colon < start)
        throw std::runtime_error("a scale-tier URL needs a port: " + url);
    return {url.substr(start, colon - start), std::stoi(url.substr(colon + 1, slash - colon - 1))};
}

void exec_on(const std::string& url, const std::string& sql) {
    auto connection = db::connect(url);
    pqxx::nontransaction(*connection).exec(sql);
}

// The test's database on every node, laid out as one Citus database.
void make_distributed(const std::string& name) {
    std::vector<std::string> workers;
    for (const auto& worker : worker_urls()) {
        exec_on(worker, "CREATE DATABASE " + name);
        workers.push_back(with_database(worker, name));
    }
    join_citus(with_database(base_database_url(), name), workers);
}

}  // namespace

void join_citus(const std::string& coordinator, const std::vector<std::string>& workers) {
    exec_on(coordinator, "CREATE EXTENSION citus");
    const auto [host, port] = host_and_port(coordinator);
    auto connection = db::connect(coordinator);
    pqxx::nontransaction(*connection)
        .exec_params("SELECT citus_set_coordinator_host($1, $2)", host, port);
    for (const auto& worker : workers) join_citus_worker(coordinator, worker);
}

void join_citus_worker(const std::string& coordinator, const std::string& worker) {
    exec_on(worker, "CREATE EXTENSION citus");
    const auto [host, port] = host_and_port(worker);
    auto connection = db::connect(coordinator);
    pqxx::nontransaction(*connection).exec_params("SELECT citus_add_node($1, $2)", host, port);
}

TestSchema::TestSchema(Placement placement)
    : distributed_(scale_tier() && placement == Placement::tier),
      base_(distributed_ ? base_database_url() : required_env("FH_TEST_DATABASE_URL")) {
    std::random_device device;
    name_ = "t_" + std::to_string(device()) + "_" + std::to_string(device());
    exec_on(base_, "CREATE DATABASE " + name_);
    if (distributed_) make_distributed(name_);
}

TestSchema::~TestSchema() {
    try {
        exec_on(base_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        if (distributed_)
            for (const auto& worker : worker_urls())
                exec_on(worker, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
}

std::string TestSchema::url() const {
    auto url = with_database(base_, name_);
    url += url.find('?') == std::string::npos ? '?' : '&';
    // Spelled out so that tests can append further -c options.
    url += "options=-csearch_path%3Dpublic";
    return url;
}

std::unique_ptr<pqxx::connection> TestSchema::connect() const { return db::connect(url()); }

void TestSchema::migrate() const {
    // On a Citus cluster, migrations of different databases at once update
    // the same roles on the workers ("tuple concurrently updated"): the
    // scale tier's tests migrate one at a time (a lock on the coordinator).
    std::unique_ptr<pqxx::connection> turn;
    if (distributed_) {
        turn = db::connect(base_database_url());
        pqxx::nontransaction(*turn).exec("SELECT pg_advisory_lock(20261207)");
    }
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
