#pragma once

// The settings of a `funnelhouse serve` a test starts, in one place: the
// repository's contracts, migrations and models, the test's database, keys
// file and spool folder, a free loopback port; `extra` on top of (and
// replacing) them.
#include <filesystem>
#include <string>

#include "process.hpp"
#include "temp_dir.hpp"

namespace funnelhouse::test {

inline Env serve_env(const std::string& database_url, const std::filesystem::path& keys_file,
                     const std::filesystem::path& spool_dir, const Env& extra = {}) {
    Env env{{"FUNNELHOUSE_DATABASE_URL", database_url},
            {"FUNNELHOUSE_LISTEN", "127.0.0.1:0"},
            {"FUNNELHOUSE_KEYS_FILE", keys_file.string()},
            {"FUNNELHOUSE_SCHEMAS_DIR", (source_dir() / "schemas").string()},
            {"FUNNELHOUSE_MIGRATIONS_DIR", (source_dir() / "migrations").string()},
            {"FUNNELHOUSE_MODELS_DIR", (source_dir() / "models").string()},
            {"FUNNELHOUSE_SPOOL_DIR", spool_dir.string()}};
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
}

}  // namespace funnelhouse::test
