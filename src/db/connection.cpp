#include "funnelhouse/db/connection.hpp"

#include <pqxx/pqxx>

namespace funnelhouse::db {

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

std::unique_ptr<pqxx::connection> connect(const std::string& url,
                                          std::chrono::milliseconds statement_timeout) {
    auto connection = std::make_unique<pqxx::connection>(with_connection_defaults(url));
    pqxx::nontransaction setup(*connection);
    setup.exec("SET client_encoding TO 'UTF8'");
    setup.exec("SET TIME ZONE 'UTC'");
    if (statement_timeout.count() > 0) {
        const auto ms = std::to_string(statement_timeout.count());
        setup.exec("SET statement_timeout = " + ms);
        setup.exec("SET lock_timeout = " + ms);
    }
    return connection;
}

std::string redact_url(const std::string& url) {
    // postgresql://user:secret@host/db -> postgresql://user:***@host/db
    const auto scheme = url.find("://");
    if (scheme != std::string::npos) {
        const auto at = url.find('@', scheme + 3);
        const auto colon = url.find(':', scheme + 3);
        if (at != std::string::npos && colon != std::string::npos && colon < at)
            return url.substr(0, colon + 1) + "***" + url.substr(at);
        return url;
    }
    // key=value form: hide password=...
    const auto password = url.find("password=");
    if (password == std::string::npos) return url;
    const auto end = url.find(' ', password);
    return url.substr(0, password) + "password=***" +
           (end == std::string::npos ? std::string{} : url.substr(end));
}

}  // namespace funnelhouse::db
