// Google Ads click conversions: the API's request body and the CSV for
// manual upload.
#include <nlohmann/json.hpp>

#include "funnelhouse/activation/matching.hpp"
#include "funnelhouse/activation/platforms.hpp"
#include "funnelhouse/common/text.hpp"
#include "funnelhouse/common/sha256.hpp"

namespace funnelhouse::activation {
namespace {

// "yyyy-mm-dd hh:mm:ss" in UTC.
std::string date_time(common::timestamp value) {
    const auto text = common::format_timestamp(value);  // YYYY-MM-DDTHH:MM:SS.ffffffZ
    return text.substr(0, 10) + " " + text.substr(11, 8);
}

}  // namespace

Body google_ads_click_conversions(const std::vector<Conversion>& conversions,
                                  std::string_view conversion_action) {
    Body body;
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = 0; i < conversions.size(); ++i) {
        const auto& c = conversions[i];
        nlohmann::json conversion = {{"conversionAction", conversion_action},
                                     {"conversionDateTime", date_time(c.occurred_at) + "+00:00"}};
        // One click id, the most precise there is.
        if (c.gclid)
            conversion["gclid"] = *c.gclid;
        else if (c.gbraid)
            conversion["gbraid"] = *c.gbraid;
        else if (c.wbraid)
            conversion["wbraid"] = *c.wbraid;
        else {
            body.left_out.push_back({i,
                                     "gclid: no click id (gclid, gbraid or wbraid) to "
                                     "attribute the conversion to"});
            continue;
        }
        if (c.value) conversion["conversionValue"] = *c.value;
        if (c.currency) conversion["currencyCode"] = *c.currency;
        if (c.order_id) conversion["orderId"] = *c.order_id;
        if (c.email)
            if (const auto email = normalized_email_for_google(*c.email))
                conversion["userIdentifiers"] =
                    nlohmann::json::array({{{"hashedEmail", common::sha256_hex(*email)}}});
        list.push_back(std::move(conversion));
        body.sent.push_back(i);
    }
    if (!list.empty())
        body.json =
            nlohmann::json{{"conversions", std::move(list)}, {"partialFailure", true}}.dump();
    return body;
}

std::string google_ads_csv(const std::vector<Conversion>& conversions,
                           std::string_view conversion_name) {
    std::string csv =
        "Parameters:TimeZone=+0000\n"
        "Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency\n";
    for (const auto& c : conversions) {
        if (!c.gclid) continue;  // the upload matches on the click id alone
        csv += common::csv_field(*c.gclid) + ',' + common::csv_field(conversion_name) + ',' +
               date_time(c.occurred_at) + ',' + (c.value ? nlohmann::json(*c.value).dump() : "") +
               ',' + (c.currency ? common::csv_field(*c.currency) : "") + '\n';
    }
    return csv;
}

}  // namespace funnelhouse::activation
