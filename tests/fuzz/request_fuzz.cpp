// Fuzz target: any bytes as the body of any ingest route. Built two ways:
// with libFuzzer (scripts/fuzz, clang) to search for inputs, and as a plain
// program that replays the seed corpus under ctest, so every input that
// once mattered keeps being checked.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/ingest/json_spans.hpp"
#include "funnelhouse/ingest/request.hpp"

namespace {

using namespace funnelhouse;

struct Fixture {
    schema::SchemaRegistry registry =
        schema::SchemaRegistry::load(std::filesystem::path(FUNNELHOUSE_SOURCE_DIR) / "schemas");
    ingest::WriteKeyRing keys = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"web","key":"k","source":"browser"}])", "fuzz");
    std::string authorization = "Basic " + common::base64_encode("k:");
};

using fuzz::require;

void check(std::string_view body) {
    static const Fixture fixture;
    const auto received_at = *common::parse_timestamp("2024-05-01T12:00:00Z");
    for (std::string_view route : {"/v1/batch", "/v1/track", "/v1/identify"}) {
        const auto outcome = ingest::process_request(
            {route, body, fixture.authorization, received_at}, fixture.keys, fixture.registry, {});
        fuzz::check_outcome(outcome);
        if (outcome.error) continue;
        const auto answer = nlohmann::json::parse(
            ingest::accepted_body(outcome.events.size(), 0, 0, outcome), nullptr, false);
        require(answer.is_object() && answer["rejected"].size() == outcome.bad_events.size(),
                "the answer lists every rejection");
    }
    if (nlohmann::json::accept(body)) {
        const auto stripped = ingest::without_member(body, "writeKey");
        require(nlohmann::json::accept(stripped), "removing a member keeps JSON valid");
    }
}

}  // namespace

FUNNELHOUSE_FUZZ_TARGET(check)
