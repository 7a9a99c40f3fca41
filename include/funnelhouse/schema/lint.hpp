#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace funnelhouse::schema {

struct LintFinding {
    std::filesystem::path file;
    std::string message;
};

// Checks a schema folder: every file loads (path agrees with metadata, schema
// compiles), and every ADDITION bump is backward compatible with the version
// before it. Returns one finding per problem; empty means the folder is clean.
std::vector<LintFinding> lint_schemas(const std::filesystem::path& dir);

// Why `newer` is not a backward-compatible addition to `older` (both draft-07
// object schemas); empty when it is. Exposed for unit tests.
std::vector<std::string> addition_incompatibilities(const nlohmann::json& older,
                                                    const nlohmann::json& newer);

}  // namespace funnelhouse::schema
