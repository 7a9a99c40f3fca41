#pragma once

#include <chrono>
#include <memory>
#include <pqxx/connection>
#include <string>

namespace funnelhouse::db {

// Opens a connection with the session settings the loader relies on (UTF-8,
// UTC). Unless the URL says otherwise, connecting gives up after 10 s and TCP
// keepalives detect a silent peer. A non-zero `statement_timeout` bounds
// every statement (and lock wait), so no call can block a thread forever.
// Throws pqxx::broken_connection when the server cannot be reached.
std::unique_ptr<pqxx::connection> connect(
    const std::string& url,
    std::chrono::milliseconds statement_timeout = std::chrono::milliseconds{0});

}  // namespace funnelhouse::db
