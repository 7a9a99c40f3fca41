// `funnelhouse dictionary`: the data dictionary on stdout.
#include "funnelhouse/dictionary/dictionary.hpp"

#include <pqxx/pqxx>

#include "funnelhouse/cli/commands.hpp"
#include "funnelhouse/dashboard/query.hpp"
#include "funnelhouse/db/connection.hpp"

namespace funnelhouse::cli {

int run_dictionary(const config::Config& config, std::ostream& out) {
    const auto registry = schema::SchemaRegistry::load(config.schemas_dir);
    auto entries = dictionary::entries(registry);
    if (!config.database_url.empty()) {
        const auto connection = db::connect(config.database_url);
        pqxx::read_transaction txn(*connection);
        if (txn.exec("SELECT to_regproc('models.dashboard_dictionary') IS NULL")[0][0].as<bool>())
            throw std::runtime_error(
                "the models are not built in this database: run `funnelhouse refresh` first, "
                "or leave FUNNELHOUSE_DATABASE_URL unset for the contracts alone");
        const auto& panel = *dashboard::find_panel("dictionary");
        const auto rows = txn.exec_params(dashboard::panel_sql(panel), "", "", "all", "");
        dictionary::add_facts(entries, rows[0][0].as<std::string>());
    }
    if (config.dictionary_format == "md")
        out << dictionary::markdown(entries);
    else if (config.dictionary_format == "csv")
        out << dictionary::csv(entries);
    else
        out << dictionary::html_document(entries);
    return out ? 0 : 1;
}

}  // namespace funnelhouse::cli
