#include "funnelhouse/dashboard/error.hpp"
#include "funnelhouse/dashboard/query.hpp"
#include "funnelhouse/http/error.hpp"
#include "funnelhouse/http/handlers.hpp"

namespace funnelhouse::http {

// The query runs on a reader thread, which answers.
void answer_panel(Services& services, const Incoming& request, Reply reply) {
    const auto name = request.path.substr(kApiPrefix.size());
    const auto* panel = dashboard::find_panel(name);
    if (!panel) {
        std::string known;
        for (const auto& each : dashboard::panels())
            known += (known.empty() ? "" : ", ") + std::string(each.name);
        return reply(refusal(errc::not_found, "no such dashboard panel: '" +
                                                  std::string{name.substr(0, 64)} +
                                                  "' (known: " + known + ")"));
    }
    auto parsed = dashboard::parse_filter(request.query);
    if (!parsed.error.empty()) return reply(refusal(dashboard::errc::invalid_filter, parsed.error));
    const bool queued =
        services.reader.submit(*panel, std::move(parsed.filter), [reply](dashboard::Answer answer) {
            if (answer.error) return reply(refusal(answer.error, answer.body));
            reply(json(std::move(answer.body)).with("Cache-Control", "no-store"));
        });
    if (!queued) reply(readers_busy(services.config));
}

Outgoing readers_busy(const config::Config& config) {
    return refusal(dashboard::errc::busy, "FUNNELHOUSE_DASHBOARD_QUEUE (" +
                                              std::to_string(config.dashboard_queue) +
                                              ") dashboard queries are already waiting; "
                                              "retry later");
}

}  // namespace funnelhouse::http
