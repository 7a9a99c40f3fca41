// `funnelhouse healthcheck`: one GET /healthz over a plain socket, so that a
// container needs no HTTP client of its own to check the server.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ostream>
#include <string>

#include "funnelhouse/cli/commands.hpp"

namespace funnelhouse::cli {
namespace {

using clock_type = std::chrono::steady_clock;

// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_ready(int fd, short events, clock_type::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                            clock_type::now());
    if (left.count() <= 0) return false;
    pollfd entry{fd, events, 0};
    return poll(&entry, 1, static_cast<int>(left.count())) == 1;
}

// The status code of GET /healthz, or an explanation of why there is none.
std::string probe(const std::string& host, std::uint16_t port, int& status) {
    const auto deadline = clock_type::now() + std::chrono::seconds(3);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
        return "cannot resolve " + host;
    const int fd = socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        freeaddrinfo(found);
        return std::string("socket: ") + std::strerror(errno);
    }
    std::string error;
    const int connected = connect(fd, found->ai_addr, found->ai_addrlen);
    const int connect_errno = errno;
    freeaddrinfo(found);
    if (connected != 0 && connect_errno != EINPROGRESS) error = std::strerror(connect_errno);
    if (error.empty() && connected != 0) {
        int code = 0;
        socklen_t length = sizeof code;
        if (!wait_ready(fd, POLLOUT, deadline))
            error = "connect timed out";
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) != 0 || code != 0)
            error = std::strerror(code);
    }
    if (error.empty()) {
        const std::string request = "GET /healthz HTTP/1.1\r\nHost: " + host +
                                    "\r\nConnection: close\r\n\r\n";
        if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size()))
            error = "cannot send the request";
    }
    std::string answer;
    while (error.empty() && answer.find("\r\n") == std::string::npos) {
        if (!wait_ready(fd, POLLIN, deadline)) {
            error = "no answer within 3 s";
            break;
        }
        char buffer[512];
        const auto got = recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0) {
            error = "connection closed without an answer";
            break;
        }
        answer.append(buffer, static_cast<std::size_t>(got));
    }
    close(fd);
    if (!error.empty()) return error;
    // "HTTP/1.1 200 OK"
    const auto space = answer.find(' ');
    if (answer.rfind("HTTP/", 0) != 0 || space == std::string::npos)
        return "not an HTTP answer";
    status = std::atoi(answer.c_str() + space + 1);
    return {};
}

}  // namespace

int run_healthcheck(const config::Config& config, std::ostream& out) {
    std::string host = config.listen_host;
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    int status = 0;
    const auto error = probe(host, config.listen_port, status);
    const std::string where =
        (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
        std::to_string(config.listen_port);
    if (!error.empty()) {
        out << "unhealthy: " << where << ": " << error << "\n";
        return 1;
    }
    if (status != 200) {
        out << "unhealthy: " << where << "/healthz answered " << status << "\n";
        return 1;
    }
    out << "healthy: " << where << "\n";
    return 0;
}

}  // namespace funnelhouse::cli
