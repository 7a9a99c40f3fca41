#pragma once

#include <memory>
#include <pqxx/connection>
#include <string>

namespace funnelhouse::db {

// Opens a connection with the session settings the loader relies on (UTF-8,
// UTC). Throws pqxx::broken_connection when the server cannot be reached.
std::unique_ptr<pqxx::connection> connect(const std::string& url);

// The connection URL with any password replaced, for logs and errors.
std::string redact_url(const std::string& url);

}  // namespace funnelhouse::db
