#include "funnelhouse/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "funnelhouse/common/logging.hpp"
#include "funnelhouse/metrics/instruments.hpp"
#include "funnelhouse/metrics/process.hpp"

#include <nlohmann/json.hpp>

using namespace funnelhouse;
using namespace funnelhouse::metrics;

TEST(Metrics, CountersAndGaugesRenderInTheTextFormat) {
    Registry registry;
    auto& requests = registry.counter("app_requests_total", "Requests.", {"route", "status"});
    requests.with({"/v1/track", "200"}).inc();
    requests.with({"/v1/track", "200"}).inc(2);
    requests.with({"/v1/batch", "503"}).inc();
    auto& depth = registry.gauge("app_queue_depth", "Items\nwaiting \\ now.").get();
    depth.set(7.5);
    depth.add(-2);
    EXPECT_EQ(registry.render(),
              "# HELP app_requests_total Requests.\n"
              "# TYPE app_requests_total counter\n"
              "app_requests_total{route=\"/v1/batch\",status=\"503\"} 1\n"
              "app_requests_total{route=\"/v1/track\",status=\"200\"} 3\n"
              "# HELP app_queue_depth Items\\nwaiting \\\\ now.\n"
              "# TYPE app_queue_depth gauge\n"
              "app_queue_depth 5.5\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
    Registry registry;
    auto& latency = registry.histogram("app_latency_seconds", "Latency.", {"route"}, {0.01, 0.1, 1});
    auto& track = latency.with({"/t"});
    for (const double value : {0.005, 0.01, 0.05, 0.5, 2.0}) track.observe(value);
    EXPECT_EQ(registry.render(),
              "# HELP app_latency_seconds Latency.\n"
              "# TYPE app_latency_seconds histogram\n"
              "app_latency_seconds_bucket{route=\"/t\",le=\"0.01\"} 2\n"
              "app_latency_seconds_bucket{route=\"/t\",le=\"0.1\"} 3\n"
              "app_latency_seconds_bucket{route=\"/t\",le=\"1\"} 4\n"
              "app_latency_seconds_bucket{route=\"/t\",le=\"+Inf\"} 5\n"
              "app_latency_seconds_sum{route=\"/t\"} 2.565\n"
              "app_latency_seconds_count{route=\"/t\"} 5\n");
}

TEST(Metrics, LabelValuesAreEscaped) {
    EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    Registry registry;
    registry.counter("app_events_total", "Events.", {"event"}).with({"say \"hi\"\n"}).inc();
    EXPECT_NE(registry.render().find("app_events_total{event=\"say \\\"hi\\\"\\n\"} 1\n"),
              std::string::npos)
        << registry.render();
}

TEST(Metrics, ValuesFormatAsPrometheusReadsThem) {
    EXPECT_EQ(format_value(0), "0");
    EXPECT_EQ(format_value(1795453983), "1795453983");
    EXPECT_EQ(format_value(0.25), "0.25");
    EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
    EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
    EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
    EXPECT_EQ(std::stod(format_value(1e300)), 1e300);
}

TEST(Metrics, BadNamesLabelsAndBoundsAreRefused) {
    Registry registry;
    EXPECT_THROW(registry.counter("2xx_total", "x"), std::invalid_argument);
    EXPECT_THROW(registry.counter("app-requests_total", "x"), std::invalid_argument);
    EXPECT_THROW(registry.counter("app_total", "x", {"le"}), std::invalid_argument);
    EXPECT_THROW(registry.counter("app_total", "x", {"__name"}), std::invalid_argument);
    EXPECT_THROW(registry.counter("app_total", "x", {"a", "a"}), std::invalid_argument);
    EXPECT_THROW(registry.histogram("app_seconds", "x", {}, {1, 1}), std::invalid_argument);
    registry.counter("app_total", "x");
    EXPECT_THROW(registry.gauge("app_total", "again"), std::invalid_argument);
    auto& family = registry.counter("app_labelled_total", "x", {"a", "b"});
    EXPECT_THROW(family.with({"only one"}), std::invalid_argument);
}

TEST(Metrics, CollectorsRunBeforeEachRender) {
    Registry registry;
    auto& gauge = registry.gauge("app_value", "x").get();
    int calls = 0;
    registry.on_collect([&] { gauge.set(++calls); });
    EXPECT_NE(registry.render().find("app_value 1\n"), std::string::npos);
    EXPECT_NE(registry.render().find("app_value 2\n"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
    Registry registry;
    auto& family = registry.counter("app_hits_total", "x", {"thread"});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&family, t] {
            for (int i = 0; i < 10'000; ++i) {
                family.with({"shared"}).inc();
                family.with({std::to_string(t % 2)}).inc();
            }
        });
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(family.with({"shared"}).value(), 40'000);
    EXPECT_EQ(family.with({"0"}).value(), 20'000);
}

TEST(Metrics, ProcessMetricsReadProc) {
    Registry registry;
    add_process_metrics(registry);
    const auto text = registry.render();
    const auto value_of = [&](const std::string& name) {
        const auto at = text.find("\n" + name + " ");
        EXPECT_NE(at, std::string::npos) << name;
        return at == std::string::npos ? 0.0 : std::stod(text.substr(at + name.size() + 2));
    };
    EXPECT_GT(value_of("process_resident_memory_bytes"), 1024 * 1024);
    EXPECT_GE(value_of("process_virtual_memory_bytes"), value_of("process_resident_memory_bytes"));
    EXPECT_GE(value_of("process_open_fds"), 3);
    const double now = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    const double started = value_of("process_start_time_seconds");
    EXPECT_LE(started, now + 1);
    EXPECT_GT(started, now - 24 * 3600);
}

TEST(Metrics, InstrumentsRegisterEveryFamilyOnce) {
    Registry registry;
    Instruments instruments(registry);
    instruments.events_accepted.with({"browser", "add_to_cart"}).inc();
    const auto text = registry.render();
    for (const char* name :
         {"funnelhouse_http_requests_total", "funnelhouse_http_request_duration_seconds",
          "funnelhouse_events_rejected_total", "funnelhouse_events_deduplicated_total",
          "funnelhouse_identity_links_total", "funnelhouse_identity_conflicts_total",
          "funnelhouse_loader_batch_events", "funnelhouse_loader_commit_duration_seconds",
          "funnelhouse_loader_errors_total", "funnelhouse_database_connected",
          "funnelhouse_model_refresh_duration_seconds"})
        EXPECT_NE(text.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
    EXPECT_NE(text.find("funnelhouse_events_accepted_total{source=\"browser\",event=\"add_to_cart\"} 1"),
              std::string::npos);
    // A second set on the same registry would register the names twice.
    EXPECT_THROW(Instruments again(registry), std::invalid_argument);
}

TEST(Logging, JsonLinesAreValidJsonWhateverTheMessage) {
    const auto time = common::parse_timestamp("2026-11-23T10:00:00.123456Z").value();
    EXPECT_EQ(common::json_log_line(time, "info", "loader connected"),
              "{\"time\":\"2026-11-23T10:00:00.123456Z\",\"level\":\"info\","
              "\"message\":\"loader connected\"}\n");
    const std::string awkward = std::string("quote \" backslash \\ tab \t newline \n nul ") +
                                '\0' + " bad utf-8 \xff\xfe end";
    const auto line = common::json_log_line(time, "error", awkward);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
    const auto parsed = nlohmann::json::parse(line.substr(0, line.size() - 1));
    EXPECT_EQ(parsed["level"], "error");
    const auto message = parsed["message"].get<std::string>();
    EXPECT_EQ(message.substr(0, 38), awkward.substr(0, 38));
    EXPECT_NE(message.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD for the bad bytes
    EXPECT_NE(message.find(" end"), std::string::npos);
}
