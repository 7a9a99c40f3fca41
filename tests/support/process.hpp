#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace funnelhouse::test {

using Env = std::map<std::string, std::string>;

struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs the funnelhouse binary to completion (killed after `timeout`), with
// `env` added to the current environment and `input` on stdin.
RunResult run_funnelhouse(const std::vector<std::string>& args, const Env& env = {},
                          const std::string& input = "",
                          std::chrono::seconds timeout = std::chrono::seconds(60));

// Any program (a bare name is looked up in PATH), likewise.
RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const Env& env = {}, const std::string& input = "",
                      std::chrono::seconds timeout = std::chrono::seconds(60));

// `funnelhouse serve` as a child process. start() waits until it prints the
// address it listens on; the destructor kills it if it is still running.
class ServerProcess {
  public:
    ServerProcess() = default;
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    // Throws with the server's stderr when it exits or stays silent.
    void start(const Env& env, std::chrono::seconds timeout = std::chrono::seconds(30));
    unsigned short port() const { return port_; }
    // The admin listener's port (FUNNELHOUSE_ADMIN_LISTEN), else 0.
    unsigned short admin_port() const { return admin_port_; }
    // Sends SIGTERM and returns the exit code (-1 when it had to be killed).
    int stop(std::chrono::seconds timeout = std::chrono::seconds(20));
    // SIGKILL, as a crash or the OOM killer would: no chance to clean up.
    void kill_now();
    // The server's pid while it runs, else -1.
    pid_t pid() const { return pid_; }
    std::string stderr_text() const;

  private:
    pid_t pid_ = -1;
    unsigned short port_ = 0;
    unsigned short admin_port_ = 0;
    std::filesystem::path out_file_;
    std::filesystem::path err_file_;
};

// Any program running in the background (nginx in the scale-out test), its
// output in files; the destructor stops it (SIGTERM, then SIGKILL).
class BackgroundProgram {
  public:
    BackgroundProgram(const std::string& program, const std::vector<std::string>& args,
                      const Env& env = {});
    ~BackgroundProgram();
    BackgroundProgram(const BackgroundProgram&) = delete;
    BackgroundProgram& operator=(const BackgroundProgram&) = delete;

    // Sends SIGTERM and returns the exit code (-1 when it had to be killed).
    int stop(std::chrono::seconds timeout = std::chrono::seconds(10));
    std::string stderr_text() const;

  private:
    pid_t pid_ = -1;
    std::filesystem::path out_file_;
    std::filesystem::path err_file_;
};

// A loopback TCP port that was free a moment ago (bound, read and closed).
unsigned short free_port();

}  // namespace funnelhouse::test
