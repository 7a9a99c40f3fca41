#pragma once

#include "funnelhouse/ingest/write_keys.hpp"
#include "funnelhouse/schema/registry.hpp"
#include "temp_dir.hpp"

namespace funnelhouse::test {

// The repository's contracts, loaded once per test program.
inline const schema::SchemaRegistry& repository_contracts() {
    static const auto registry = schema::SchemaRegistry::load(source_dir() / "schemas");
    return registry;
}

// Two keys for pure ingest tests: "browser-key" (name "web", browser) and
// "server-key" (name "backend", server).
inline const ingest::WriteKeyRing& browser_and_server_keys() {
    static const auto keys = ingest::WriteKeyRing::from_json_text(
        R"([{"name":"web","key":"browser-key","source":"browser"},
            {"name":"backend","key":"server-key","source":"server"}])",
        "test");
    return keys;
}

}  // namespace funnelhouse::test
