#include "funnelhouse/db/connection.hpp"

#include <pqxx/pqxx>

namespace funnelhouse::db {

namespace {

// Unless the URL says otherwise: give up connecting after 10 s, and let TCP
// keepalives notice a peer that went silent.
std::string with_connection_defaults(const std::string& url) {
    const bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
    std::string out = url;
    for (const auto& [name, value] : {std::pair{"connect_timeout", "10"},
                                      {"keepalives_idle", "30"},
                                      {"keepalives_interval", "10"}}) {
        if (url.find(std::string(name) + "=") != std::string::npos) continue;
        if (uri)
            out +=
                (out.find('?') == std::string::npos ? '?' : '&') + std::string(name) + "=" + value;
        else
            out += std::string(out.empty() ? "" : " ") + name + "=" + value;
    }
    return out;
}

}  // namespace

std::unique_ptr<pqxx::connection> connect(const std::string& url,
                                          std::chrono::milliseconds statement_timeout) {
    auto connection = std::make_unique<pqxx::connection>(with_connection_defaults(url));
    pqxx::nontransaction setup(*connection);
    setup.exec("SET client_encoding TO 'UTF8'");
    setup.exec("SET TIME ZONE 'UTC'");
    if (statement_timeout.count() > 0) {
        const auto ms = std::to_string(statement_timeout.count());
        // Covers lock waits too; a lock_timeout, if the URL's options set
        // one, is the caller's to handle.
        setup.exec("SET statement_timeout = " + ms);
    }
    return connection;
}

}  // namespace funnelhouse::db
