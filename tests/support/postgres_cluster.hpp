#pragma once

#include <filesystem>
#include <string>

namespace funnelhouse::test {

// A throwaway PostgreSQL cluster in `dir` (via tests/support/pg_cluster.sh),
// for tests that stop and start the database under a running server. It is
// stopped when the object goes away.
class PostgresCluster {
  public:
    explicit PostgresCluster(std::filesystem::path dir);  // created, started, migrated
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
    unsigned short port_ = 0;
    bool running_ = false;
    bool started_once_ = false;
};

}  // namespace funnelhouse::test
