#include "funnelhouse/http/handlers.hpp"

namespace funnelhouse::http {

void answer_health(Services& services, const Incoming& request, Reply reply) {
    if (request.path == "/healthz") return reply(json(R"({"status":"ok"})"));
    auto [status, body] = services.intake.readiness();
    auto outgoing = json(std::move(body));
    outgoing.status = status;
    reply(std::move(outgoing));
}

void answer_metrics(Services& services, const Incoming&, Reply reply) {
    auto outgoing = json(services.metrics.registry.render());
    outgoing.content_type = "text/plain; version=0.0.4; charset=utf-8";
    reply(std::move(outgoing));
}

}  // namespace funnelhouse::http
