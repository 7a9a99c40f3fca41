#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "funnelhouse/activation/delivery.hpp"
#include "funnelhouse/activation/destinations.hpp"
#include "funnelhouse/activation/http_client.hpp"
#include "funnelhouse/activation/platforms.hpp"

namespace funnelhouse::activation {

// One request to a destination and the conversions in it, in the order of
// its body (Google Ads' partial failures name them by that position).
struct Planned {
    Post post;
    std::vector<std::size_t> conversions;  // indexes into the conversions given
};

struct Plan {
    std::vector<Planned> requests;
    std::vector<LeftOut> left_out;  // refused before sending, with the reason
};

// The requests that send `conversions` (each with its `whats`) to
// `destination`: each platform's URL, credentials and body, at most
// `batch` conversions a request (and never more than the platform takes).
// Pure: nothing is sent.
// Sets a webhook request's `webhook-timestamp` and `webhook-signature` for
// `now` (its `webhook-id` stays): receivers refuse old timestamps, so a
// request is signed again when it is sent.
void sign_webhook(Post& post, std::string_view key, common::timestamp now);

// The request that tells `destination` of an alert's change: a slack
// destination's {"text": ...}, a webhook's signed JSON whose webhook-id
// comes from the notice's outbox key (`key`). Links go to the dashboard at
// `dashboard`. Throws std::invalid_argument when the alert cannot be read.
Post notice_request(const Destination& destination, std::string_view key, const Notice& notice,
                    std::string_view dashboard, common::timestamp now);

Plan plan_requests(const Destination& destination, const std::vector<Conversion>& conversions,
                   const std::vector<What>& whats, std::size_t batch, common::timestamp now);

}  // namespace funnelhouse::activation
