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
// Appends the records the loader set aside in the spool's quarantine to the
// spool again (after the cause, say a missing migration, is fixed).
int run_requeue_quarantine(const config::Config& config, std::ostream& out);
// Refreshes the analytics models (models/, FUNNELHOUSE_CUSTOM_MODELS_DIR).
int run_refresh(const config::Config& config, std::ostream& out);
// Prints the model files in the order a refresh builds them.
int run_models_list(const config::Config& config, std::ostream& out);
// Compiles every model file in a transaction it rolls back; 1 (with file
// and line) when one does not compile.
int run_models_check(const config::Config& config, std::ostream& out);
// Erases the person of --user-id or --anonymous-id (funnelhouse_forget() in
// migrations/0006_privacy_and_roles.sql) and prints what was removed,
// without the identifier.
int run_forget(const config::Config& config, std::ostream& out);
// Asks the local server's /healthz (at FUNNELHOUSE_LISTEN; a wildcard
// address is reached on loopback) within 3 s: 0 when it answers 200, else 1.
// The container image's HEALTHCHECK.
int run_healthcheck(const config::Config& config, std::ostream& out);
// Posts a synthetic shop's traffic to a running server (docs/analytics.md).
int run_simulate(const config::Config& config, std::ostream& out);
// Writes the conversions waiting for a google_ads destination with upload
// "csv" as Google Ads' CSV for a manual upload, and records them as sent
// (docs/activation.md).
int run_conversions_csv(const config::Config& config, std::ostream& out);
// Writes the data dictionary of the contracts in FUNNELHOUSE_SCHEMAS_DIR as
// FUNNELHOUSE_DICTIONARY_FORMAT, with the database's facts when
// FUNNELHOUSE_DATABASE_URL is set (docs/dashboard.md, "The data dictionary").
int run_dictionary(const config::Config& config, std::ostream& out);

}  // namespace funnelhouse::cli
