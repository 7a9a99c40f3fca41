#include "funnelhouse/dictionary/dictionary.hpp"

#include <nlohmann/json.hpp>

#include "funnelhouse/dashboard/error.hpp"
#include "funnelhouse/http/error.hpp"
#include "funnelhouse/http/handlers.hpp"

namespace funnelhouse::http {

Outgoing dictionary_answer(const schema::SchemaRegistry& registry, std::string_view panel_body) {
    auto entries = dictionary::entries(registry);
    const auto body = nlohmann::json::parse(panel_body, nullptr, false);
    if (!body.is_object() || !body.contains("rows"))
        return refusal(errc::internal, "the dictionary's facts could not be read");
    dictionary::add_facts(entries, body["rows"].dump());
    Outgoing outgoing;
    outgoing.content_type = "text/html; charset=utf-8";
    outgoing.body = dictionary::html_fragment(entries);
    outgoing.with("Cache-Control", "no-store");
    outgoing.with("X-Content-Type-Options", "nosniff");
    return outgoing;
}

namespace {

// The fragment, or a 500 saying why it could not be written.
Outgoing dictionary_or_error(const schema::SchemaRegistry& registry,
                             const dashboard::Answer& facts) {
    if (facts.error) return refusal(facts.error, facts.body);
    try {
        return dictionary_answer(registry, facts.body);
    } catch (const std::exception& error) {
        return refusal(errc::internal,
                       std::string("the dictionary could not be written: ") + error.what());
    }
}

}  // namespace

// The facts are read on a reader thread, which writes the answer too.
void answer_dictionary(Services& services, const Incoming&, Reply reply) {
    const auto& registry = services.registry;
    const bool queued =
        services.reader.submit(*dashboard::find_panel("dictionary"), dashboard::Filter{},
                               [reply, &registry](dashboard::Answer facts) {
                                   reply(dictionary_or_error(registry, facts));
                               });
    if (!queued) reply(readers_busy(services.config));
}

}  // namespace funnelhouse::http
