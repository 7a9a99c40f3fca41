#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "funnelhouse/common/event.hpp"

// A synthetic shop's traffic, as pure data: the same settings and seed give
// the same messages, byte for byte. The effects planted in it are listed in
// docs/analytics.md ("A shop to run it on") and checked by the tests.
namespace funnelhouse::simulate {

struct ShopSettings {
    std::size_t persons = 1000;
    int days = 180;           // first visits spread over the `days` days before `end`
    std::uint64_t seed = 1;
    common::timestamp end{};  // the latest moment any event may have
};

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
