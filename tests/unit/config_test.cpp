#include "funnelhouse/config/config.hpp"

#include <gtest/gtest.h>

#include <map>

#include "temp_dir.hpp"

using namespace funnelhouse::config;

namespace {

ParsedArgs parse_with(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> names;
    for (const auto& [name, value] : env) names.push_back(name);
    return parse(
        args,
        [&](const char* name) -> const char* {
            const auto it = env.find(name);
            return it == env.end() ? nullptr : it->second.c_str();
        },
        names);
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

TEST(Config, ConfigFileIsOverriddenByEnvironmentAndFlags) {
    funnelhouse::test::TempDir dir;
    const auto file = dir.write("funnelhouse.env",
                                "# settings for the test\n"
                                "\n"
                                "FUNNELHOUSE_LISTEN = 0.0.0.0:7000\n"
                                "FUNNELHOUSE_SPOOL_DIR=\"/var/lib/funnelhouse/spool\"\n"
                                "FUNNELHOUSE_MAX_EVENT_BYTES=4096\n"
                                "FUNNELHOUSE_LOG_FORMAT=text\n");
    const auto parsed = parse_with({"serve", "--max-event-bytes", "2048"},
                                   {{"FUNNELHOUSE_CONFIG", file.string()},
                                    {"FUNNELHOUSE_LISTEN", "127.0.0.1:7001"}});
    EXPECT_EQ(parsed.config.config_file, file);
    EXPECT_EQ(parsed.config.listen_port, 7001);  // the environment wins over the file
    EXPECT_EQ(parsed.config.spool_dir, "/var/lib/funnelhouse/spool");  // quotes removed
    EXPECT_EQ(parsed.config.max_event_bytes, 2048u);                   // the flag wins
    EXPECT_EQ(parsed.config.log_format, LogFormat::text);

    // --config names the file too.
    const auto flagged = parse_with({"serve", "--config", file.string()});
    EXPECT_EQ(flagged.config.listen_port, 7000);
    EXPECT_EQ(flagged.config.max_event_bytes, 4096u);
}

TEST(Config, ConfigFileProblemsNameTheFileAndLine) {
    funnelhouse::test::TempDir dir;
    const auto unknown = dir.write("a.env", "FUNNELHOUSE_LISTEN=127.0.0.1:1\nFUNNELHOUSE_SPOOL_MAXBYTES=9\n");
    EXPECT_EQ(error_of({"--config", unknown.string()}),
              unknown.string() + ":2: unknown setting 'FUNNELHOUSE_SPOOL_MAXBYTES' (see --help)");
    const auto bad = dir.write("b.env", "\n\nFUNNELHOUSE_ACK=sometimes\n");
    EXPECT_EQ(error_of({"--config", bad.string()}),
              bad.string() + ":3 FUNNELHOUSE_ACK 'sometimes': must be durable or loaded");
    const auto shapeless = dir.write("c.env", "listen 127.0.0.1:1\n");
    EXPECT_EQ(error_of({"--config", shapeless.string()}),
              shapeless.string() + ":1: expected NAME=value");
    // A value written without its name is not echoed: it may hold a password.
    const auto nameless =
        dir.write("e.env", "postgresql://fh:pa55word@db/fh?sslmode=require\n");
    EXPECT_EQ(error_of({"--config", nameless.string()}),
              nameless.string() + ":1: expected NAME=value");
    const auto secret = dir.write("d.env", "FUNNELHOUSE_ADMIN_TOKEN=short\n");
    const auto message = error_of({"--config", secret.string()});
    EXPECT_EQ(message, secret.string() +
                           ":1 FUNNELHOUSE_ADMIN_TOKEN (hidden): must be at least 16 characters");
    EXPECT_EQ(error_of({"--config", (dir.path() / "missing.env").string()}),
              "FUNNELHOUSE_CONFIG: cannot read '" + (dir.path() / "missing.env").string() + "'");
}

TEST(Config, UnknownFunnelhouseEnvironmentVariableIsAnError) {
    EXPECT_EQ(error_of({"serve"}, {{"FUNNELHOUSE_SPOOL_MAXBYTES", "1"}}),
              "unknown environment variable FUNNELHOUSE_SPOOL_MAXBYTES (see --help)");
    // Other variables are none of its business, nor what Kubernetes and
    // Docker links inject for a service named funnelhouse.
    EXPECT_EQ(error_of({"serve"}, {{"PATH", "/bin"},
                                   {"FUNNELHOUSEX", "1"},
                                   {"FUNNELHOUSE_SERVICE_HOST", "10.0.0.1"},
                                   {"FUNNELHOUSE_PORT", "tcp://10.0.0.1:8080"},
                                   {"FUNNELHOUSE_PORT_8080_TCP_ADDR", "10.0.0.1"}}),
              "");
    // --help works whatever the environment holds.
    EXPECT_TRUE(parse_with({"--help"}, {{"FUNNELHOUSE_SPOOL_MAXBYTES", "1"}}).help);
}

TEST(Config, AdminListenerTokenAndLogFormat) {
    const auto defaults = parse_with({"serve"});
    EXPECT_FALSE(defaults.config.admin_listen_set);
    EXPECT_TRUE(defaults.config.admin_token.empty());
    EXPECT_EQ(defaults.config.log_format, LogFormat::json);

    const auto parsed =
        parse_with({"serve", "--admin-listen", "[::1]:9100", "--log-format", "text"},
                   {{"FUNNELHOUSE_ADMIN_TOKEN", "0123456789abcdef-token"}});
    EXPECT_TRUE(parsed.config.admin_listen_set);
    EXPECT_EQ(parsed.config.admin_listen_host, "::1");
    EXPECT_EQ(parsed.config.admin_listen_port, 9100);
    EXPECT_EQ(parsed.config.admin_token, "0123456789abcdef-token");
    EXPECT_EQ(parsed.config.log_format, LogFormat::text);

    EXPECT_EQ(error_of({"--admin-token", "has a space in it, see"}),
              "--admin-token (hidden): must be printable ASCII without spaces");
    EXPECT_EQ(error_of({"--log-format", "xml"}), "--log-format 'xml': must be json or text");
    EXPECT_EQ(error_of({"--admin-listen", "9100"}),
              "--admin-listen '9100': must be host:port, e.g. 127.0.0.1:8080");
}

TEST(Config, TrustedProxiesAreAddressesOrNetworks) {
    const auto proxies =
        parse_with({}, {{"FUNNELHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7"}})
            .config.trusted_proxies;
    EXPECT_EQ(proxies.size(), 2u);
    EXPECT_TRUE(proxies.contains("10.20.30.40"));
    EXPECT_TRUE(proxies.contains("192.0.2.7"));
    EXPECT_FALSE(proxies.contains("192.0.2.8"));
    EXPECT_TRUE(parse_with({}).config.trusted_proxies.empty());
    EXPECT_EQ(error_of({"--trusted-proxies", "10.0.0.0/8,lb.internal"}),
              "--trusted-proxies '10.0.0.0/8,lb.internal': 'lb.internal' is not an IP address or "
              "network such as 10.0.0.0/8");
    // The old switch believed the header from anyone: refused, with what
    // replaces it.
    EXPECT_EQ(error_of({"serve"}, {{"FUNNELHOUSE_TRUST_FORWARDED_FOR", "true"}}),
              "FUNNELHOUSE_TRUST_FORWARDED_FOR is replaced by FUNNELHOUSE_TRUSTED_PROXIES: list the "
              "addresses of the proxies in front (such as 10.0.0.0/8); X-Forwarded-For is "
              "believed from them only");
}

TEST(Config, DatabaseLayoutIsAutomaticUnlessCitusIsAskedFor) {
    EXPECT_EQ(parse_with({"migrate"}).config.database_layout, DatabaseLayout::automatic);
    EXPECT_EQ(parse_with({"migrate", "--database-layout", "citus"}).config.database_layout,
              DatabaseLayout::citus);
    EXPECT_EQ(parse_with({"migrate"}, {{"FUNNELHOUSE_DATABASE_LAYOUT", "auto"}})
                  .config.database_layout,
              DatabaseLayout::automatic);
    EXPECT_EQ(error_of({"migrate", "--database-layout", "sharded"}),
              "--database-layout 'sharded': must be auto or citus");
}
