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
        if (outcome.error) {
            require(!outcome.error_message.empty(), "a refusal says why");
            require(!nlohmann::json::parse(ingest::error_body(outcome.error, outcome.error_message),
                                           nullptr, false)
                         .is_discarded(),
                    "error bodies are JSON");
            continue;
        }
        // Every message ends up in exactly one place: nothing is dropped.
        require(outcome.events.size() + outcome.bad_events.size() +
                        outcome.dropped_without_consent ==
                    outcome.message_count,
                "every message is accepted, rejected or dropped for want of consent");
        for (const auto& bad : outcome.bad_events) {
            const auto errors = nlohmann::json::parse(bad.errors, nullptr, false);
            require(errors.is_array() && !errors.empty(), "a rejection carries its errors");
            require(bad.errors.find("\\u0000") == std::string::npos, "errors are storable");
            require(ingest::invalid_utf8_offsets(bad.raw_event).empty(),
                    "a rejected message is stored as UTF-8");
        }
        for (const auto& event : outcome.events) {
            require(!event.event_id.empty(), "events have ids");
            require(nlohmann::json::parse(event.properties, nullptr, false).is_object(),
                    "properties are an object");
            require(event.properties.find("\\u0000") == std::string::npos &&
                        event.context.find("\\u0000") == std::string::npos,
                    "what PostgreSQL cannot store never reaches it");
        }
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

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}

#ifndef FUNNELHOUSE_LIBFUZZER
int main(int argc, char** argv) { return funnelhouse::fuzz::replay(argc, argv, check); }
#endif
