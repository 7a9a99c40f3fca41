#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "funnelhouse/activation/conversion.hpp"
#include "funnelhouse/activation/destinations.hpp"
#include "funnelhouse/common/time.hpp"

namespace funnelhouse::activation {

// How a row of the outbox is sent, as pure functions: what the committed
// event becomes for a destination, what the platform's answer means, and
// when to try again.

enum class What { order, refund, micro };

std::string_view to_string(What what);
std::optional<What> what_from(std::string_view text);

// An event as the sender reads it from PostgreSQL when its turn comes: the
// row as it is then (both copies merged), its person, and the value the
// models observe for its name.
struct StoredEvent {
    std::string event_id;
    std::string event_name;
    What what = What::micro;
    common::timestamp occurred_at{};
    std::string properties;  // JSON text
    std::string context;     // JSON text
    std::optional<std::string> user_id;
    std::optional<std::string> person_id;
    std::optional<double> expected_revenue;  // models.event_value, per occurrence
    // When the event's context has no adIds: those of the person's latest
    // event with them (JSON text), up to 90 days before.
    std::optional<std::string> person_ad_ids;
};

// A notice of an alert's change (docs/alerts.md), enqueued by a refresh.
struct Notice {
    bool resolved = false;  // else raised
    std::string alert;      // the alert's row as JSON (alerts/notice.hpp reads it)
};

// The conversion a destination is sent, or why nothing is (`skipped`).
struct Prepared {
    std::optional<Conversion> conversion;
    std::string skipped;
};

// Consent first (the destination's category, granted in the event's
// context), then the value rule (orders: revenue or gross profit; refunds:
// the amount; micro-conversions: the fixed value or the expected revenue per
// occurrence), the name the platform knows it by, and what the event's
// context holds to match its person on (context.adIds: gclid, gbraid,
// wbraid, fbc, fbp, gaClientId; context.ip, userAgent, page.url; an email
// or phone in the properties or context.traits when they are kept); the
// person's latest ad ids when the event has none.
Prepared prepare(const StoredEvent& event, const Destination& destination);

// The name a platform knows an event by: Meta's standard "Purchase" and
// GA4's "purchase" and "refund" for orders and refunds; micro-conversions
// by their own name.
std::string platform_event_name(Kind kind, What what, std::string_view event_name);

// A webhook delivery: its id (the same on every retry, unique per
// destination and event) and its body, {"type", "timestamp", "data"} as the
// Standard Webhooks specification suggests.
std::string webhook_id(std::string_view destination, std::string_view event_id);
std::string webhook_body(const Conversion& conversion, What what, std::string_view destination,
                         common::timestamp now);

// What a platform answered: status 0 when it did not (the error says why:
// refused connection, timeout, TLS).
struct Answer {
    int status = 0;
    std::string body;
    std::string error;
    std::optional<std::chrono::seconds> retry_after;
};

enum class Verdict { sent, retry, failed };

// The meaning of an answer for the conversions of one request: retried
// (429, 408, 5xx, no answer, or an error the platform calls transient),
// failed (any other refusal, with the platform's own message), or sent,
// when some of them may still have failed one by one (Google Ads' partial
// failures: by their index in the request).
struct Judgement {
    Verdict verdict = Verdict::sent;
    std::string message;
    std::map<std::size_t, std::string> failed;
};

Judgement judge(Kind kind, const Answer& answer);

// A Retry-After header: seconds, or an HTTP date, at most a day; nullopt
// when neither.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      common::timestamp now);

// When to try again after `attempts` attempts: `first` doubled each time up
// to `longest`, scaled by a random factor in [0.5, 1] so that retries of
// many rows spread, and never before what Retry-After asked.
std::chrono::milliseconds retry_delay(int attempts, std::chrono::milliseconds first,
                                      std::chrono::milliseconds longest,
                                      std::optional<std::chrono::seconds> retry_after,
                                      std::mt19937_64& random);

}  // namespace funnelhouse::activation
