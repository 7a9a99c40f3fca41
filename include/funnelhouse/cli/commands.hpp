#pragma once

#include <iosfwd>
#include <string>

#include "funnelhouse/config/config.hpp"

namespace funnelhouse::cli {

// Each command returns the process exit code: 0 success, 1 when the input or
// the database state is wrong (invalid events, lint findings, a changed
// migration), 2 when it cannot run (unreadable input, bad configuration).
int run_serve(const config::Config& config);
int run_migrate(const config::Config& config);
int run_validate(const config::Config& config, const std::string& input, std::ostream& out);
int run_schemas_lint(const config::Config& config, std::ostream& out);
int run_reprocess(const config::Config& config);

}  // namespace funnelhouse::cli
