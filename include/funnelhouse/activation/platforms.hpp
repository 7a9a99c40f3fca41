#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "funnelhouse/activation/conversion.hpp"

namespace funnelhouse::activation {

// Request bodies in each platform's documented format, as pure functions.
// The caller splits conversions into requests of at most the platform's
// limit; a conversion the platform would refuse is left out with the
// reason, never sent.

constexpr std::size_t kMetaMaxEvents = 1000;
constexpr std::size_t kGoogleAdsMaxConversions = 2000;
constexpr std::size_t kGa4MaxEvents = 25;

struct LeftOut {
    std::size_t index;   // into the conversions given
    std::string reason;  // names the field or the limit
};

struct Body {
    std::string json;               // empty when every conversion was left out
    std::vector<std::size_t> sent;  // indexes of the conversions in it
    std::vector<LeftOut> left_out;
};

// Meta's Conversions API, `POST /{version}/{pixel_id}/events`: `data` with
// one event each (action_source "website", event_id for deduplication with
// the browser pixel, user_data hashed as Meta documents, custom_data's value
// and currency), and `test_event_code` when given. Events that happened more
// than 7 days before `now` are left out: one of them fails the whole
// request.
Body meta_events(const std::vector<Conversion>& conversions, common::timestamp now,
                 const std::optional<std::string>& test_event_code,
                 std::string_view phone_country_code);

// Google Ads' `customers/{id}:uploadClickConversions`: ClickConversion
// objects for `conversion_action` (a resource name,
// customers/{id}/conversionActions/{id}), with partial failure on. A
// conversion without a click id (gclid, gbraid or wbraid) is left out.
Body google_ads_click_conversions(const std::vector<Conversion>& conversions,
                                  std::string_view conversion_action);

// The same conversions as Google Ads' CSV for manual upload, in UTC.
std::string google_ads_csv(const std::vector<Conversion>& conversions,
                           std::string_view conversion_name);

// GA4's Measurement Protocol, `/mp/collect`: one request per client id (the
// first conversion's; one with another is left out), events with their time
// (GA4 takes them up to 72 hours late). An event whose name or parameters
// break GA4's rules is left out with the rule it breaks.
Body ga4_events(const std::vector<Conversion>& conversions, common::timestamp now);

// The rule an event name breaks (GA4: 1 to 40 letters, digits and
// underscores, a letter first, no reserved prefix or name); nullopt when it
// breaks none.
std::optional<std::string> ga4_name_error(std::string_view name, bool event);

}  // namespace funnelhouse::activation
