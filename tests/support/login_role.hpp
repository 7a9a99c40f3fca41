#pragma once

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "funnelhouse/db/connection.hpp"
#include "test_database.hpp"

namespace funnelhouse::test {

// A login role, member of one of the roles the migrations make, for one
// test; dropped afterwards.
class LoginRole {
  public:
    LoginRole(const TestSchema& schema, const std::string& member_of)
        : name_(schema.name() + "_" + member_of.substr(member_of.find('_') + 1)),
          url_(schema.url()) {
        const auto at = url_.find("postgres@");
        url_.replace(at, 8, name_);
        for (const auto& node : node_urls())
            pqxx::nontransaction(*db::connect(node))
                .exec("CREATE ROLE " + name_ + " LOGIN IN ROLE " + member_of);
    }
    ~LoginRole() {
        try {
            for (const auto& node : node_urls()) {
                auto admin = db::connect(node);
                pqxx::nontransaction txn(*admin);
                txn.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" +
                         name_ + "'");
                txn.exec("DROP ROLE IF EXISTS " + name_);
            }
        } catch (...) {
        }
    }
    std::unique_ptr<pqxx::connection> connect() const { return db::connect(url_); }
    const std::string& url() const { return url_; }

  private:
    std::string name_;
    std::string url_;
};

}  // namespace funnelhouse::test
