#include "funnelhouse/config/config.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace funnelhouse::config;

namespace {

ParsedArgs parse_with(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {}) {
    return parse(args, [&](const char* name) -> const char* {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

std::string error_of(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env = {}) {
    try {
        parse_with(args, env);
    } catch (const std::invalid_argument& error) {
        return error.what();
    }
    return "";
}

}  // namespace

TEST(Config, DefaultsAreTheDocumentedOnes) {
    const auto parsed = parse_with({"serve"});
    EXPECT_EQ(parsed.config.listen_host, "127.0.0.1");
    EXPECT_EQ(parsed.config.listen_port, 8080);
    EXPECT_EQ(parsed.config.schemas_dir, "schemas");
    EXPECT_EQ(parsed.config.max_event_bytes, 32u * 1024);
    EXPECT_EQ(parsed.config.max_request_bytes, 500u * 1024);
    EXPECT_EQ(parsed.positional, std::vector<std::string>{"serve"});
}

TEST(Config, FlagsOverrideEnvironment) {
    const auto parsed = parse_with(
        {"serve", "--listen", "0.0.0.0:9000", "--schemas-dir=/x"},
        {{"FUNNELHOUSE_LISTEN", "127.0.0.1:7000"}, {"FUNNELHOUSE_KEYS_FILE", "/k.json"}});
    EXPECT_EQ(parsed.config.listen_host, "0.0.0.0");
    EXPECT_EQ(parsed.config.listen_port, 9000);
    EXPECT_EQ(parsed.config.schemas_dir, "/x");
    EXPECT_EQ(parsed.config.keys_file, "/k.json");
}

TEST(Config, BadValueNamesTheSettingAndTheValue) {
    EXPECT_EQ(error_of({}, {{"FUNNELHOUSE_LISTEN", "localhost"}}),
              "FUNNELHOUSE_LISTEN 'localhost': must be host:port, e.g. 127.0.0.1:8080");
    EXPECT_EQ(error_of({"--max-event-bytes", "lots"}),
              "--max-event-bytes 'lots': must be a whole number from 256 to 16777216");
    EXPECT_EQ(error_of({"--listen", "127.0.0.1:70000"}),
              "--listen '127.0.0.1:70000': port must be a number from 0 to 65535");
}

TEST(Config, UnknownFlagAndMissingValueAreErrors) {
    EXPECT_EQ(error_of({"serve", "--colour", "red"}), "unknown option --colour (see --help)");
    EXPECT_EQ(error_of({"serve", "--listen"}), "--listen needs a value");
}

TEST(Config, SecretValuesAreNotEchoed) {
    const auto message = error_of({"--database-url="});
    EXPECT_NE(message.find("(hidden)"), std::string::npos) << message;
}

TEST(Config, HelpListsEverySetting) {
    const auto help = help_text();
    for (const auto& setting : settings()) {
        EXPECT_NE(help.find(setting.env), std::string::npos) << setting.env;
        EXPECT_NE(help.find(setting.flag), std::string::npos) << setting.flag;
    }
}

TEST(Config, RefreshIntervalTakesSecondsOrAUnit) {
    EXPECT_EQ(parse_with({"serve"}).config.refresh_interval, std::chrono::seconds(300));
    EXPECT_EQ(parse_with({"serve", "--refresh-interval", "90"}).config.refresh_interval,
              std::chrono::seconds(90));
    EXPECT_EQ(parse_with({"serve", "--refresh-interval", "90s"}).config.refresh_interval,
              std::chrono::seconds(90));
    EXPECT_EQ(parse_with({"serve", "--refresh-interval", "2m"}).config.refresh_interval,
              std::chrono::seconds(120));
    EXPECT_EQ(parse_with({"serve"}, {{"FUNNELHOUSE_REFRESH_INTERVAL", "1h"}}).config.refresh_interval,
              std::chrono::seconds(3600));
    EXPECT_EQ(parse_with({"serve", "--refresh-interval", "0"}).config.refresh_interval,
              std::chrono::seconds(0));
    for (const char* bad : {"5x", "m", "-1", "25h", "1.5m"})
        EXPECT_NE(error_of({"serve", "--refresh-interval", bad}).find("--refresh-interval '"),
                  std::string::npos)
            << bad;
    EXPECT_NE(error_of({"serve"}, {{"FUNNELHOUSE_REFRESH_INTERVAL", "soon"}})
                  .find("FUNNELHOUSE_REFRESH_INTERVAL 'soon': must be a duration"),
              std::string::npos);
}

TEST(Config, SimulateSettingsAreChecked) {
    const auto parsed =
        parse_with({"simulate", "--url", "http://127.0.0.1:9000", "--persons", "50", "--days", "30",
                    "--seed", "9"});
    EXPECT_EQ(parsed.config.simulate_url, "http://127.0.0.1:9000");
    EXPECT_EQ(parsed.config.simulate_persons, 50u);
    EXPECT_EQ(parsed.config.simulate_days, 30u);
    EXPECT_EQ(parsed.config.simulate_seed, 9u);
    EXPECT_NE(error_of({"simulate", "--url", "https://x"}).find("--url 'https://x'"),
              std::string::npos);
    EXPECT_NE(error_of({"simulate", "--persons", "0"}).find("--persons '0'"),
              std::string::npos);
}
