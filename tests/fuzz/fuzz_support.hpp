#pragma once
// What every fuzz target shares: a failed invariant aborts (libFuzzer keeps
// the input), and without libFuzzer the target is a program that replays a
// corpus folder, so that ctest checks every input that once mattered.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>

#include "funnelhouse/common/utf8.hpp"
#include "funnelhouse/ingest/json_spans.hpp"
#include "funnelhouse/ingest/request.hpp"

namespace funnelhouse::fuzz {

inline void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant broken: %s\n", what);
        std::abort();
    }
}

// Runs `check` on every file under the folders named by the arguments; fails
// when there was none (an empty corpus checks nothing).
template <typename Check>
int replay(int argc, char** argv, Check check) {
    std::size_t replayed = 0;
    for (int i = 1; i < argc; ++i) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(argv[i])) {
            if (!entry.is_regular_file()) continue;
            std::ifstream in(entry.path(), std::ios::binary);
            std::ostringstream text;
            text << in.rdbuf();
            check(text.str());
            ++replayed;
        }
    }
    std::printf("%zu inputs replayed\n", replayed);
    return replayed > 0 ? 0 : 1;
}

// What any processed request must satisfy: a refusal says why in a JSON
// body; otherwise every message is accepted, rejected or dropped for want of
// consent, and whatever reaches PostgreSQL can be stored there.
inline void check_outcome(const ingest::RequestOutcome& outcome) {
    if (outcome.error) {
        require(!outcome.error_message.empty(), "a refusal says why");
        require(!nlohmann::json::parse(ingest::error_body(outcome.error, outcome.error_message),
                                       nullptr, false)
                     .is_discarded(),
                "error bodies are JSON");
        return;
    }
    require(outcome.events.size() + outcome.bad_events.size() + outcome.dropped_without_consent ==
                outcome.message_count,
            "every message is accepted, rejected or dropped for want of consent");
    for (const auto& bad : outcome.bad_events) {
        const auto errors = nlohmann::json::parse(bad.errors, nullptr, false);
        require(errors.is_array() && !errors.empty(), "a rejection carries its errors");
        require(bad.errors.find("\\u0000") == std::string::npos, "errors are storable");
        require(common::invalid_utf8_offsets(bad.raw_event).empty(),
                "a rejected message is stored as UTF-8");
    }
    for (const auto& event : outcome.events) {
        require(!event.event_id.empty(), "events have ids");
        require(nlohmann::json::parse(event.properties, nullptr, false).is_object() &&
                    nlohmann::json::parse(event.context, nullptr, false).is_object(),
                "properties and context are objects");
        require(event.properties.find("\\u0000") == std::string::npos &&
                    event.context.find("\\u0000") == std::string::npos,
                "what PostgreSQL cannot store never reaches it");
    }
}

}  // namespace funnelhouse::fuzz

// The libFuzzer entry point, or (without libFuzzer) a main() that replays
// the corpus folders given as arguments, both calling `check`.
#ifdef FUNNELHOUSE_LIBFUZZER
#define FUNNELHOUSE_FUZZ_TARGET(check)                                                  \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
        check(std::string_view(reinterpret_cast<const char*>(data), size));            \
        return 0;                                                                       \
    }
#else
#define FUNNELHOUSE_FUZZ_TARGET(check) \
    int main(int argc, char** argv) { return funnelhouse::fuzz::replay(argc, argv, check); }
#endif
