#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "funnelhouse/common/event.hpp"

// A synthetic shop's traffic, as pure data: the same settings and seed give
// the same messages, byte for byte. The effects planted in it are listed in
// docs/analytics.md ("A shop to run it on") and checked by the tests.
namespace funnelhouse::simulate {

// Problems planted in the shop's traffic from a moment on, each of which
// the alerts must tell apart (docs/alerts.md, "The shop with problems").
struct Defects {
    // The add-to-cart button does nothing on this device type (mobile,
    // tablet or desktop): no add_to_cart, and nothing after it that visit.
    std::string broken_device;
    common::timestamp broken_from{};
    // A campaign (source "megadeal") brings this many more persons a day,
    // who look at its landing page, seldom at a product, and leave.
    std::size_t flood_per_day = 0;
    common::timestamp flood_from{};
    // size_guide_opened carries a size_system property, in lower case on
    // mobile: harmless until a contract version that lists its values
    // (tests/e2e/contracts/size_guide_opened/1-1-0.json) is deployed.
    bool size_system = false;
};

struct ShopSettings {
    std::size_t persons = 1000;
    int days = 180;  // first visits spread over the `days` days before `end`
    std::uint64_t seed = 1;
    common::timestamp end{};  // the latest moment any event may have
    Defects defects;
};

// The defects `simulate --defects` plants: the button broken on mobile and
// a flood of as many extra persons a day as the shop otherwise gets, from
// `days_before_end` days before `end`, and size_system sent all along.
Defects all_defects(const ShopSettings& settings, int days_before_end);

// One Segment message and who sends it: the site's JavaScript (browser
// key) or the shop's backend (server key).
struct Message {
    common::Source sender = common::Source::browser;
    common::timestamp at{};
    std::string json;  // the message object, with messageId and timestamp
};

// Every message of the shop, in time order.
std::vector<Message> generate_shop(const ShopSettings& settings);

// {"batch": [...]} bodies of at most `per_batch` messages from one sender,
// keeping time order within each sender.
struct Batch {
    common::Source sender = common::Source::browser;
    std::string body;
    std::size_t messages = 0;
};
std::vector<Batch> batch_messages(const std::vector<Message>& messages, std::size_t per_batch);

}  // namespace funnelhouse::simulate
