#include "postgres_cluster.hpp"

#include <pqxx/pqxx>
#include <random>
#include <stdexcept>

#include "funnelhouse/db/connection.hpp"
#include "funnelhouse/db/migrate.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "test_database.hpp"

namespace funnelhouse::test {
namespace {

std::string script() { return (source_dir() / "tests/support/pg_cluster.sh").string(); }

constexpr ClusterOptions kCitusNode{true, false};

}  // namespace

PostgresCluster::PostgresCluster(std::filesystem::path dir, ClusterOptions options)
    : dir_(std::move(dir)), citus_(options.citus) {
    // Tests run in parallel: start the search for a free port at a random
    // place so that two clusters do not race for the same one. Below the
    // kernel's ephemeral ports (32768 and up): a cluster stopped and started
    // again in a test keeps its port, which a server listening on port 0 or
    // a client's connection could otherwise take meanwhile.
    std::random_device device;
    port_ = static_cast<unsigned short>(20000 + device() % 12000);
    start();
    if (!options.migrate) return;
    auto connection = db::connect(url());
    db::migrate(*connection, source_dir() / "migrations");
}

PostgresCluster::~PostgresCluster() {
    try {
        stop();
    } catch (...) {
    }
}

void PostgresCluster::start() {
    const auto result =
        run_program("bash", {script(), "start", dir_.string(), std::to_string(port_)},
                    citus_ ? Env{{"PG_CITUS", "1"}, {"CITUS_SHARD_COUNT", "4"}} : Env{}, "",
                    std::chrono::seconds(120));
    if (result.exit_code != 0)
        throw std::runtime_error("cannot start PostgreSQL in " + dir_.string() + ": " + result.err);
    const auto port = static_cast<unsigned short>(std::stoi(result.out));
    // A restart must come back where the server under test looks for it.
    if (started_once_ && port != port_)
        throw std::runtime_error("PostgreSQL restarted on port " + std::to_string(port) +
                                 " instead of " + std::to_string(port_));
    port_ = port;
    started_once_ = true;
    running_ = true;
}

void PostgresCluster::stop() {
    if (!running_) return;
    const auto result =
        run_program("bash", {script(), "stop", dir_.string()}, {}, "", std::chrono::seconds(120));
    if (result.exit_code != 0)
        throw std::runtime_error("cannot stop PostgreSQL in " + dir_.string() + ": " + result.err);
    running_ = false;
}

std::string PostgresCluster::url() const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/funnelhouse";
}

std::string PostgresCluster::scalar(const std::string& sql) const {
    auto connection = db::connect(url());
    pqxx::nontransaction txn(*connection);
    const auto result = txn.exec(sql);
    if (result.empty() || result[0][0].is_null()) return "";
    return result[0][0].c_str();
}

CitusCluster::CitusCluster(const std::filesystem::path& dir)
    : dir_(dir), coordinator_(dir / "coordinator", kCitusNode) {
    std::vector<std::string> worker_urls;
    for (const char* name : {"worker1", "worker2"}) {
        workers_.push_back(std::make_unique<PostgresCluster>(dir / name, kCitusNode));
        worker_urls.push_back(workers_.back()->url());
    }
    join_citus(url(), worker_urls);
    auto connection = db::connect(url());
    db::migrate(*connection, source_dir() / "migrations", config::DatabaseLayout::citus);
}

void CitusCluster::add_worker() {
    const auto name = "worker" + std::to_string(workers_.size() + 1);
    workers_.push_back(std::make_unique<PostgresCluster>(dir_ / name, kCitusNode));
    join_citus_worker(url(), workers_.back()->url());
}

}  // namespace funnelhouse::test
