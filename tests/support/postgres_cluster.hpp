#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace funnelhouse::test {

struct ClusterOptions {
    bool citus = false;   // a Citus node (scripts/lib/pg.sh's citus_options, 4 shards)
    bool migrate = true;  // the repository's migrations, once started
};

// A throwaway PostgreSQL cluster in `dir` (via tests/support/pg_cluster.sh),
// for tests that stop and start the database under a running server. It is
// stopped when the object goes away.
class PostgresCluster {
  public:
    // Created and started, its database `funnelhouse` made (and migrated).
    explicit PostgresCluster(std::filesystem::path dir, ClusterOptions options = {});
    ~PostgresCluster();
    PostgresCluster(const PostgresCluster&) = delete;
    PostgresCluster& operator=(const PostgresCluster&) = delete;

    void stop();
    void start();  // on the same port as before
    std::string url() const;
    // First column of the first row ("" for NULL), like TestSchema::scalar.
    std::string scalar(const std::string& sql) const;

  private:
    std::filesystem::path dir_;
    bool citus_ = false;
    unsigned short port_ = 0;
    bool running_ = false;
    bool started_once_ = false;
};

// A Citus cluster of a test's own, for tests that stop a worker under a
// running server: a coordinator and two workers, each a PostgresCluster with
// citus preloaded (4 shards a table), their databases `funnelhouse` joined
// and migrated to the distributed layout.
class CitusCluster {
  public:
    explicit CitusCluster(const std::filesystem::path& dir);

    std::string url() const { return coordinator_.url(); }  // the coordinator's
    PostgresCluster& worker(std::size_t index) { return *workers_.at(index); }
    // Starts one more worker (in dir/workerN) and adds it to the cluster;
    // it holds no shard until they are rebalanced.
    void add_worker();
    std::string scalar(const std::string& sql) const { return coordinator_.scalar(sql); }

  private:
    std::filesystem::path dir_;
    PostgresCluster coordinator_;
    std::vector<std::unique_ptr<PostgresCluster>> workers_;
};

}  // namespace funnelhouse::test
