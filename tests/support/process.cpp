#include "process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace funnelhouse::test {
namespace {

std::string read_all(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::filesystem::path temp_file(const std::string& stem) {
    std::random_device device;
    return std::filesystem::temp_directory_path() /
           ("funnelhouse-" + stem + "-" + std::to_string(device()) + std::to_string(device()));
}

// fork + exec with stdin, stdout and stderr redirected to files.
pid_t spawn(const std::string& program, const std::vector<std::string>& args, const Env& env,
            const std::filesystem::path& in, const std::filesystem::path& out,
            const std::filesystem::path& err) {
    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry; ++entry) {
        const std::string text = *entry;
        const auto name = text.substr(0, text.find('='));
        if (!env.count(name)) env_strings.push_back(text);
    }
    for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    std::vector<std::string> argv_strings{program};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
    if (pid == 0) {
        const int in_fd = open(in.c_str(), O_RDONLY);
        const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(127);
        dup2(in_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execvpe(argv[0], argv.data(), envp.data());  // searches PATH for a bare name
        _exit(127);
    }
    return pid;
}

// Waits for the child up to `timeout`; returns its exit code, or -1 after
// killing it.
int wait_for(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
        const pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            return 128 + WTERMSIG(status);
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

// SIGTERM, then the exit code (-1 after killing it at the timeout); forgets
// the pid.
int terminate(pid_t& pid, std::chrono::seconds timeout) {
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    const int code = wait_for(pid, timeout);
    pid = -1;
    return code;
}

}  // namespace

RunResult run_funnelhouse(const std::vector<std::string>& args, const Env& env,
                          const std::string& input, std::chrono::seconds timeout) {
    return run_program(FUNNELHOUSE_BINARY, args, env, input, timeout);
}

RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const Env& env, const std::string& input, std::chrono::seconds timeout) {
    const auto in = temp_file("in");
    const auto out = temp_file("out");
    const auto err = temp_file("err");
    std::ofstream(in, std::ios::binary) << input;
    RunResult result;
    const pid_t pid = spawn(program, args, env, in, out, err);
    result.exit_code = wait_for(pid, timeout);
    result.out = read_all(out);
    result.err = read_all(err);
    std::filesystem::remove(in);
    std::filesystem::remove(out);
    std::filesystem::remove(err);
    return result;
}

ServerProcess::~ServerProcess() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        int status = 0;
        waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    if (!out_file_.empty()) std::filesystem::remove(out_file_, ec);
    if (!err_file_.empty()) std::filesystem::remove(err_file_, ec);
}

void ServerProcess::start(const Env& env, std::chrono::seconds timeout) {
    out_file_ = temp_file("server-out");
    err_file_ = temp_file("server-err");
    pid_ = spawn(FUNNELHOUSE_BINARY, {"serve"}, env, "/dev/null", out_file_, err_file_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // The main address is printed last, on a line of its own; an admin
    // listener's line comes before it.
    const auto port_after = [](const std::string& out, const std::string& marker) -> int {
        auto at = out.rfind("\n" + marker);
        at = at == std::string::npos ? (out.rfind(marker, 0) == 0 ? 0 : at) : at + 1;
        if (at == std::string::npos) return -1;
        const auto end = out.find('\n', at);
        if (end == std::string::npos) return -1;
        const auto line = out.substr(at + marker.size(), end - at - marker.size());
        return std::stoi(line.substr(line.rfind(':') + 1));
    };
    while (std::chrono::steady_clock::now() < deadline) {
        const auto out = read_all(out_file_);
        if (const int port = port_after(out, "listening on http://"); port >= 0) {
            port_ = static_cast<unsigned short>(port);
            if (const int admin = port_after(out, "admin listening on http://"); admin >= 0)
                admin_port_ = static_cast<unsigned short>(admin);
            return;
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("funnelhouse serve exited during start-up: " +
                                     read_all(err_file_));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("funnelhouse serve did not start in time: " + read_all(err_file_));
}

int ServerProcess::stop(std::chrono::seconds timeout) { return terminate(pid_, timeout); }

void ServerProcess::kill_now() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string ServerProcess::stderr_text() const { return read_all(err_file_); }

BackgroundProgram::BackgroundProgram(const std::string& program,
                                     const std::vector<std::string>& args, const Env& env)
    : out_file_(temp_file("program-out")), err_file_(temp_file("program-err")) {
    pid_ = spawn(program, args, env, "/dev/null", out_file_, err_file_);
}

BackgroundProgram::~BackgroundProgram() {
    stop(std::chrono::seconds(5));
    std::error_code ec;
    std::filesystem::remove(out_file_, ec);
    std::filesystem::remove(err_file_, ec);
}

int BackgroundProgram::stop(std::chrono::seconds timeout) { return terminate(pid_, timeout); }

std::string BackgroundProgram::stderr_text() const { return read_all(err_file_); }

unsigned short free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    close(fd);
    return ntohs(address.sin_port);
}

}  // namespace funnelhouse::test
