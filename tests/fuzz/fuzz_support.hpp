#pragma once
// What every fuzz target shares: a failed invariant aborts (libFuzzer keeps
// the input), and without libFuzzer the target is a program that replays a
// corpus folder, so that ctest checks every input that once mattered.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

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

}  // namespace funnelhouse::fuzz
