#include "funnelhouse/db/connection.hpp"

#include <pqxx/pqxx>

namespace funnelhouse::db {

std::unique_ptr<pqxx::connection> connect(const std::string& url) {
    auto connection = std::make_unique<pqxx::connection>(url);
    pqxx::nontransaction setup(*connection);
    setup.exec("SET client_encoding TO 'UTF8'");
    setup.exec("SET TIME ZONE 'UTC'");
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
