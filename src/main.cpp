// funnelhouse: the command line. Parses arguments into the one typed
// configuration and hands over to a command.
#include <cstdlib>
#include <iostream>

#include "funnelhouse/cli/commands.hpp"
#include "funnelhouse/common/logging.hpp"
#include "funnelhouse/config/config.hpp"

extern char** environ;

int main(int argc, char** argv) {
    using namespace funnelhouse;
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<std::string> environment_names;
    for (char** entry = environ; *entry; ++entry) {
        const std::string_view text = *entry;
        environment_names.emplace_back(text.substr(0, text.find('=')));
    }
    config::ParsedArgs parsed;
    try {
        parsed = config::parse(
            args, [](const char* name) { return std::getenv(name); }, environment_names);
    } catch (const std::exception& error) {
        std::cerr << "funnelhouse: " << error.what() << "\n";
        return 2;
    }
    const auto& positional = parsed.positional;
    if (parsed.help || positional.empty()) {
        std::cout << config::help_text();
        return positional.empty() && !parsed.help ? 2 : 0;
    }

    common::setup_logging(parsed.config.log_level,
                          parsed.config.log_format == config::LogFormat::json);

    const std::string& command = positional[0];
    try {
        if (command == "serve" && positional.size() == 1) return cli::run_serve(parsed.config);
        if (command == "migrate" && positional.size() == 1) return cli::run_migrate(parsed.config);
        if (command == "reprocess" && positional.size() == 1)
            return cli::run_reprocess(parsed.config);
        if (command == "simulate" && positional.size() == 1)
            return cli::run_simulate(parsed.config, std::cout);
        if (command == "healthcheck" && positional.size() == 1)
            return cli::run_healthcheck(parsed.config, std::cout);
        if (command == "refresh" && positional.size() == 1)
            return cli::run_refresh(parsed.config, std::cout);
        if (command == "forget" && positional.size() == 1)
            return cli::run_forget(parsed.config, std::cout);
        if (command == "requeue-quarantine" && positional.size() == 1)
            return cli::run_requeue_quarantine(parsed.config, std::cout);
        if (command == "validate" && positional.size() == 2)
            return cli::run_validate(parsed.config, positional[1], std::cout);
        if (command == "models" && positional.size() == 2 && positional[1] == "list")
            return cli::run_models_list(parsed.config, std::cout);
        if (command == "models" && positional.size() == 2 && positional[1] == "check")
            return cli::run_models_check(parsed.config, std::cout);
        if (command == "schemas" && positional.size() == 2 && positional[1] == "lint")
            return cli::run_schemas_lint(parsed.config, std::cout);
    } catch (const std::invalid_argument& error) {
        std::cerr << "funnelhouse " << command << ": " << error.what() << "\n";
        return 2;
    } catch (const std::exception& error) {
        std::cerr << "funnelhouse " << command << ": " << error.what() << "\n";
        return 1;
    }
    std::cerr << "funnelhouse: unknown command '";
    for (std::size_t i = 0; i < positional.size(); ++i)
        std::cerr << (i ? " " : "") << positional[i];
    std::cerr << "' (see --help)\n";
    return 2;
}
