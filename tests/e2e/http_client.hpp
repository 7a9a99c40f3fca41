#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace funnelhouse::test {

struct HttpResponse {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lowercase names
};

// A keep-alive HTTP/1.1 client (Boost.Beast) for end-to-end tests. It
// reconnects when the server closed the connection.
class HttpClient {
  public:
    explicit HttpClient(unsigned short port);
    ~HttpClient();

    HttpResponse request(const std::string& method, const std::string& target,
                         const std::string& body = "",
                         const std::map<std::string, std::string>& headers = {});

    // POST with HTTP Basic auth (write key as user name, empty password).
    HttpResponse post(const std::string& target, const std::string& body,
                      const std::string& write_key);

    // Writes raw bytes and reads until the server closes the connection (or
    // 30 s pass), for malformed HTTP and slow-client tests.
    std::string raw(const std::string& bytes);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

// Polls /readyz until the spool holds no unloaded record (everything
// acknowledged is in PostgreSQL); false when `limit` passes first.
bool wait_until_loaded(unsigned short port, std::chrono::seconds limit = std::chrono::seconds(30));

}  // namespace funnelhouse::test
