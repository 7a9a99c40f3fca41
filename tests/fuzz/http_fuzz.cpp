// Fuzz target: any bytes as what a client sends on a connection. They go
// through the HTTP parser with the server's default limits, and each request
// that parses goes through ingest as the server would take it (route, body,
// Authorization, Content-Encoding, Origin, X-Forwarded-For). Nothing may
// crash or read out of bounds, and every answer must be well formed.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/config/config.hpp"
#include "funnelhouse/http/limits.hpp"
#include "funnelhouse/ingest/privacy.hpp"
#include "funnelhouse/ingest/request.hpp"

namespace {

using namespace funnelhouse;
using fuzz::require;
namespace bhttp = boost::beast::http;

struct Fixture {
    config::Config config;
    schema::SchemaRegistry registry =
        schema::SchemaRegistry::load(std::filesystem::path(FUNNELHOUSE_SOURCE_DIR) / "schemas");
    ingest::WriteKeyRing keys = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"web","key":"k","source":"browser","origins":["https://shop.example"]},
            {"name":"backend","key":"s","source":"server"}])",
        "fuzz");
    ingest::IngestSettings settings{config.max_event_bytes, config.max_request_bytes,
                                    config.junk_ids, ingest::privacy_settings(config),
                                    config.max_json_depth};
};

void check(std::string_view bytes) {
    static const Fixture fixture;
    const auto received_at = *common::parse_timestamp("2024-05-01T12:00:00Z");
    // Requests one after another on one connection, as a pipelining client
    // would send them; the parser stops at the first error.
    while (!bytes.empty()) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(fixture.config.max_header_bytes));
        parser.body_limit(fixture.config.max_request_bytes);
        parser.eager(true);
        boost::beast::error_code ec;
        const auto used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
        if (!ec && !parser.is_done()) parser.put_eof(ec);
        if (ec || !parser.is_done()) return;
        require(used > 0 && used <= bytes.size(), "the parser consumes what it was given");
        bytes.remove_prefix(used);
        const auto& request = parser.get();
        std::string_view target = request.target();
        const auto query = target.find('?');
        if (query != std::string_view::npos) target = target.substr(0, query);
        std::string client = "203.0.113.9";
        if (const auto forwarded = http::last_forwarded_address(request["X-Forwarded-For"]))
            client = *forwarded;
        ingest::RequestInput input{target,
                                   request.body(),
                                   request[bhttp::field::authorization],
                                   received_at,
                                   request[bhttp::field::content_encoding],
                                   request[bhttp::field::origin],
                                   client};
        const auto outcome =
            ingest::process_request(input, fixture.keys, fixture.registry, fixture.settings);
        fuzz::check_outcome(outcome);
        if (outcome.error) continue;
        for (const auto& event : outcome.events) {
            const auto context = nlohmann::json::parse(event.context, nullptr, false);
            // The default keeps a /24 of an IPv4 client: the last byte is 0.
            if (context.contains("ip") && event.source == common::Source::browser) {
                const auto ip = context["ip"].get<std::string>();
                require(ingest::truncate_address(ip, 24, 48) == ip,
                        "a stored address is already truncated");
            }
        }
    }
}

}  // namespace

FUNNELHOUSE_FUZZ_TARGET(check)
