#include "funnelhouse/common/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace funnelhouse::common {
namespace {

std::string quoted(std::string_view text) {
    return nlohmann::json(std::string(text))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The names FUNNELHOUSE_LOG_LEVEL uses (spdlog's own say "warning").
std::string_view level_name(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace: return "trace";
        case spdlog::level::debug: return "debug";
        case spdlog::level::info: return "info";
        case spdlog::level::warn: return "warn";
        case spdlog::level::err: return "error";
        case spdlog::level::critical: return "critical";
        default: return "off";
    }
}

class JsonFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto time =
            std::chrono::time_point_cast<std::chrono::microseconds>(msg.time);
        const auto line = json_log_line(timestamp{time.time_since_epoch()}, level_name(msg.level),
                                        std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(line.data(), line.data() + line.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonFormatter>();
    }
};

}  // namespace

std::string json_log_line(timestamp time, std::string_view level, std::string_view message) {
    std::string line = "{\"time\":\"" + format_timestamp(time) + "\",\"level\":" + quoted(level) +
                       ",\"message\":" + quoted(message) + "}\n";
    return line;
}

void setup_logging(const std::string& level, bool json) {
    auto logger = spdlog::get("funnelhouse");
    if (!logger) logger = spdlog::stderr_logger_mt("funnelhouse");
    if (json)
        logger->set_formatter(std::make_unique<JsonFormatter>());
    else
        logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace funnelhouse::common
