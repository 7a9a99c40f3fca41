// `funnelhouse conversions csv`: a destination's conversions as Google Ads'
// CSV, for shops that upload them by hand.
#include <algorithm>
#include <chrono>
#include <map>
#include <ostream>
#include <stdexcept>

#include "funnelhouse/activation/outbox.hpp"
#include "funnelhouse/activation/platforms.hpp"
#include "funnelhouse/cli/commands.hpp"
#include "funnelhouse/db/connection.hpp"

namespace funnelhouse::cli {
namespace {

activation::Destination csv_destination(const config::Config& config) {
    if (config.export_destination.empty())
        throw std::invalid_argument("--destination (FUNNELHOUSE_EXPORT_DESTINATION) is required");
    const auto all = activation::load_destinations(config.destinations_file);
    const auto found = std::find_if(
        all.begin(), all.end(), [&](const auto& d) { return d.name == config.export_destination; });
    if (found == all.end())
        throw std::invalid_argument("no destination '" + config.export_destination + "' in " +
                                    (config.destinations_file.empty()
                                         ? std::string("(no FUNNELHOUSE_DESTINATIONS_FILE)")
                                         : config.destinations_file.string()));
    if (!found->csv_upload)
        throw std::invalid_argument("destination '" + found->name +
                                    "' is not a google_ads destination with upload \"csv\"");
    return *found;
}

}  // namespace

int run_conversions_csv(const config::Config& config, std::ostream& out) {
    const auto destination = csv_destination(config);
    auto connection = db::connect(config.database_url);
    activation::store_destinations(*connection,
                                   activation::load_destinations(config.destinations_file));
    // The rows due, claimed (leased) batch by batch, for half a lease at
    // most (what is left waits for the next export): a second export at the
    // same time takes none of them, and none is claimed twice.
    const auto started = std::chrono::steady_clock::now();
    std::vector<activation::Claimed> claimed;
    while (std::chrono::steady_clock::now() - started < config.activation_lease / 2) {
        auto batch =
            activation::claim(*connection, destination.name, activation::kGoogleAdsMaxConversions,
                              config.activation_settle, config.activation_lease);
        if (batch.empty()) break;
        std::move(batch.begin(), batch.end(), std::back_inserter(claimed));
    }
    std::vector<activation::Conversion> conversions;
    std::map<std::string, std::vector<activation::Outcome>> outcomes;  // by claim
    for (const auto& row : claimed) {
        activation::Outcome o;
        o.event_id = row.event.event_id;
        auto prepared = row.gone
                            ? activation::Prepared{std::nullopt, "the event is no longer stored"}
                            : activation::prepare(row.event, destination);
        if (prepared.conversion && !prepared.conversion->gclid) {
            o.state = activation::State::failed;
            o.error = "gclid: the CSV upload matches on the Google click id, and it has none";
        } else if (!prepared.conversion) {
            o.state = activation::State::skipped;
            o.error = prepared.skipped;
        } else {
            o.value = prepared.conversion->value;
            o.currency = prepared.conversion->currency;
            conversions.push_back(std::move(*prepared.conversion));
        }
        outcomes[row.claim_id].push_back(std::move(o));
    }
    out << activation::google_ads_csv(conversions, destination.conversion_name) << std::flush;
    // Recorded as sent once written: when writing failed they are claimed
    // again after their lease.
    if (!out) return 1;
    for (const auto& [claim_id, of_claim] : outcomes)
        activation::finish(*connection, destination.name, claim_id, of_claim);
    return 0;
}

}  // namespace funnelhouse::cli
