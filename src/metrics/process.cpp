#include "funnelhouse/metrics/process.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace funnelhouse::metrics {
namespace {

// Fields of /proc/self/stat after the command name (which may hold spaces).
std::vector<std::string> stat_fields() {
    std::ifstream in("/proc/self/stat");
    std::string line;
    std::getline(in, line);
    const auto close = line.rfind(')');
    std::vector<std::string> fields;
    if (close == std::string::npos) return fields;
    std::istringstream rest(line.substr(close + 1));
    for (std::string field; rest >> field;) fields.push_back(field);
    return fields;
}

double open_fds() {
    std::error_code ec;
    double count = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++count;
    return count;
}

// Boot time (/proc/stat btime) plus the process's start in clock ticks after
// boot; the time of this call if /proc cannot tell.
double start_time_seconds() {
    const auto fields = stat_fields();
    std::ifstream in("/proc/stat");
    for (std::string key; in >> key;) {
        if (key == "btime" && fields.size() > 19) {
            double boot = 0;
            in >> boot;
            return boot + std::stod(fields[19]) / static_cast<double>(sysconf(_SC_CLK_TCK));
        }
    }
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

void add_process_metrics(Registry& registry) {
    auto& resident = registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.").get();
    auto& virtual_memory =
        registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.").get();
    auto& fds = registry.gauge("process_open_fds", "Number of open file descriptors.").get();
    auto& start = registry
                      .gauge("process_start_time_seconds",
                             "Start time of the process since the Unix epoch in seconds.")
                      .get();
    start.set(start_time_seconds());
    registry.on_collect([&resident, &virtual_memory, &fds] {
        // Fields after the name: state is [0], starttime [19], vsize [20],
        // rss in pages [21] (proc(5) numbers them 3, 22, 23, 24).
        const auto fields = stat_fields();
        if (fields.size() > 21) {
            virtual_memory.set(std::stod(fields[20]));
            resident.set(std::stod(fields[21]) * static_cast<double>(sysconf(_SC_PAGESIZE)));
        }
        fds.set(open_fds());
    });
}

}  // namespace funnelhouse::metrics
