// funnelhouse: the command line. Parses arguments into the one typed
// configuration and hands over to a command.
#include <cstdlib>
#include <iostream>

#include "funnelhouse/cli/commands.hpp"
#include "funnelhouse/common/logging.hpp"
#include "funnelhouse/config/config.hpp"

extern char** environ;

namespace {

using namespace funnelhouse;

// The commands: their words (a command and its subcommand), how many
// words of their own they take, and what runs them.
struct Command {
    const char* name;
    const char* subcommand;  // null: none
    std::size_t words;       // the command's words, its argument included
    int (*run)(const config::Config& config, const std::vector<std::string>& positional);
};

constexpr Command kCommands[] = {
    {"serve", nullptr, 1, [](const auto& c, const auto&) { return cli::run_serve(c); }},
    {"migrate", nullptr, 1, [](const auto& c, const auto&) { return cli::run_migrate(c); }},
    {"reprocess", nullptr, 1, [](const auto& c, const auto&) { return cli::run_reprocess(c); }},
    {"simulate", nullptr, 1,
     [](const auto& c, const auto&) { return cli::run_simulate(c, std::cout); }},
    {"healthcheck", nullptr, 1,
     [](const auto& c, const auto&) { return cli::run_healthcheck(c, std::cout); }},
    {"refresh", nullptr, 1,
     [](const auto& c, const auto&) { return cli::run_refresh(c, std::cout); }},
    {"forget", nullptr, 1,
     [](const auto& c, const auto&) { return cli::run_forget(c, std::cout); }},
    {"requeue-quarantine", nullptr, 1,
     [](const auto& c, const auto&) { return cli::run_requeue_quarantine(c, std::cout); }},
    {"validate", nullptr, 2,
     [](const auto& c, const auto& p) { return cli::run_validate(c, p[1], std::cout); }},
    {"models", "list", 2,
     [](const auto& c, const auto&) { return cli::run_models_list(c, std::cout); }},
    {"models", "check", 2,
     [](const auto& c, const auto&) { return cli::run_models_check(c, std::cout); }},
    {"conversions", "csv", 2,
     [](const auto& c, const auto&) { return cli::run_conversions_csv(c, std::cout); }},
    {"dictionary", nullptr, 1,
     [](const auto& c, const auto&) { return cli::run_dictionary(c, std::cout); }},
    {"schemas", "lint", 2,
     [](const auto& c, const auto&) { return cli::run_schemas_lint(c, std::cout); }},
};

const Command* find_command(const std::vector<std::string>& positional) {
    for (const auto& command : kCommands)
        if (positional[0] == command.name && positional.size() == command.words &&
            (!command.subcommand || positional[1] == command.subcommand))
            return &command;
    return nullptr;
}

// The names of the variables in the environment, for the settings' check
// of unknown FUNNELHOUSE_ ones.
std::vector<std::string> environment_names() {
    std::vector<std::string> names;
    for (char** entry = environ; *entry; ++entry) {
        const std::string_view text = *entry;
        names.emplace_back(text.substr(0, text.find('=')));
    }
    return names;
}

}  // namespace

int main(int argc, char** argv) {
    config::ParsedArgs parsed;
    try {
        parsed = config::parse(
            std::vector<std::string>(argv + 1, argv + argc),
            [](const char* name) { return std::getenv(name); }, environment_names());
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
    const auto* command = find_command(positional);
    if (!command) {
        std::cerr << "funnelhouse: unknown command '";
        for (std::size_t i = 0; i < positional.size(); ++i)
            std::cerr << (i ? " " : "") << positional[i];
        std::cerr << "' (see --help)\n";
        return 2;
    }
    try {
        return command->run(parsed.config, positional);
    } catch (const std::invalid_argument& error) {
        std::cerr << "funnelhouse " << positional[0] << ": " << error.what() << "\n";
        return 2;
    } catch (const std::exception& error) {
        std::cerr << "funnelhouse " << positional[0] << ": " << error.what() << "\n";
        return 1;
    }
}
