#include "funnelhouse/simulate/shop.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

namespace funnelhouse::simulate {
namespace {

using nlohmann::json;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr auto kDay = std::chrono::hours(24);
constexpr const char* kSite = "https://shop.example";

// Draws from one engine in a fixed way, so that a seed gives the same shop
// on every machine.
class Random {
  public:
    explicit Random(std::uint64_t seed) : engine_(seed) {}
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
    bool chance(double p) { return uniform() < p; }
    int between(int low, int high) {
        return low + static_cast<int>(uniform() * static_cast<double>(high - low + 1));
    }
    double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }

  private:
    std::mt19937_64 engine_;
};

struct Device {
    std::string anonymous_id;
    std::string type;  // mobile, tablet, desktop
    std::string user_agent;
};

Device make_device(Random& random, const std::string& anonymous_id) {
    const double roll = random.uniform();
    if (roll < 0.55)
        return {anonymous_id, "mobile",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"};
    if (roll < 0.65)
        return {anonymous_id, "tablet",
                "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                "Gecko) Version/17.4 Safari/604.1"};
    return {anonymous_id, "desktop",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0 Safari/537.36"};
}

// How a person first arrives, and what that does to them.
struct Channel {
    std::string name;
    std::string landing;
    double repeat_factor;
};

Channel pick_channel(Random& random) {
    const double roll = random.uniform();
    if (roll < 0.35) return {"google", "/", 1.0};
    if (roll < 0.50) return {"newsletter", "/new-arrivals", 2.0};
    if (roll < 0.80) return {"ads", "/sale", 0.5};
    return {"direct", "/", 1.0};
}

const std::vector<std::string> kProducts{"trail-runner", "city-sneaker", "wool-sock",
                                         "rain-jacket",  "linen-shirt",  "canvas-bag"};
const std::vector<double> kPrices{89.0, 69.0, 12.0, 149.0, 59.0, 35.0};

// The messages of one person.
class Person {
  public:
    Person(std::vector<Message>& out, Random& random, std::uint64_t seed, std::size_t index)
        : out_(out), random_(random) {
        prefix_ = "sim-" + std::to_string(seed) + "-" + std::to_string(index) + "-";
        user_id_ = "customer-" + std::to_string(seed) + "-" + std::to_string(index);
        device_ = make_device(random_, prefix_ + "device-1");
    }

    std::string next_id() { return prefix_ + std::to_string(sequence_++); }

    json browser_context(const std::string& path, const std::string& referrer,
                         const std::string& search) const {
        json page{
            {"path", path}, {"url", std::string(kSite) + path + search}, {"referrer", referrer}};
        if (!search.empty()) page["search"] = search;
        return {{"page", page},
                {"userAgent", device_.user_agent},
                {"library", {{"name", "funnelhouse-simulate"}, {"version", "1"}}}};
    }

    void emit(common::Source sender, common::timestamp at, json message) {
        message["timestamp"] = common::format_timestamp(at);
        out_.push_back({sender, at, message.dump()});
    }

    json ids(json message) const {
        message["anonymousId"] = device_.anonymous_id;
        if (logged_in_) message["userId"] = user_id_;
        return message;
    }

    void page(common::timestamp at, const std::string& path, const std::string& referrer,
              const std::string& search = "", json campaign = nullptr) {
        auto context = browser_context(path, referrer, search);
        if (!campaign.is_null()) context["campaign"] = campaign;
        page_path_ = path;
        emit(common::Source::browser, at,
             ids({{"type", "page"},
                  {"messageId", next_id()},
                  {"properties",
                   {{"path", path},
                    {"url", std::string(kSite) + path + search},
                    {"referrer", referrer}}},
                  {"context", context}}));
    }

    void track(common::timestamp at, const std::string& event, json properties) {
        emit(common::Source::browser, at,
             ids({{"type", "track"},
                  {"messageId", next_id()},
                  {"event", event},
                  {"properties", properties},
                  {"context", browser_context(page_path_, std::string(kSite) + "/", "")}}));
    }

    void identify(common::timestamp at) {
        logged_in_ = true;
        emit(common::Source::browser, at,
             ids({{"type", "identify"},
                  {"messageId", next_id()},
                  {"traits", {{"email", user_id_ + "@example.com"}}},
                  {"context", browser_context(page_path_, std::string(kSite) + "/", "")}}));
    }

    // The backend's copy of an order, and (unless an ad blocker stops it)
    // the browser's copy under the same id.
    void order(common::timestamp at, const std::string& order_id, double revenue, double cost,
               const std::string& coupon) {
        json properties{{"order_id", order_id},
                        {"revenue", revenue},
                        {"currency", "EUR"},
                        {"products", json::array({{{"product_id", product_}}})}};
        if (random_.chance(0.9)) properties["cost"] = cost;  // some orders lack a cost
        if (!coupon.empty()) properties["coupon"] = coupon;
        const auto id = next_id();
        emit(common::Source::server, at,
             {{"type", "track"},
              {"messageId", id},
              {"event", "order_completed"},
              {"userId", user_id_},
              {"properties", properties},
              {"context", {{"library", {{"name", "shop-backend"}}}}}});
        if (random_.chance(0.7))
            emit(common::Source::browser, at + seconds(1),
                 ids({{"type", "track"},
                      {"messageId", id},
                      {"event", "order_completed"},
                      {"properties", properties},
                      {"context",
                       browser_context("/checkout/done", std::string(kSite) + "/", "")}}));
    }

    void refund(common::timestamp at, const std::string& order_id, double amount) {
        emit(common::Source::server, at,
             {{"type", "track"},
              {"messageId", next_id()},
              {"event", "refund_issued"},
              {"userId", user_id_},
              {"properties",
               {{"order_id", order_id},
                {"amount", amount},
                {"currency", "EUR"},
                {"reason", "return"}}},
              {"context", {{"library", {{"name", "shop-backend"}}}}}});
    }

    std::vector<Message>& out_;
    Random& random_;
    std::string prefix_;
    std::string user_id_;
    Device device_;
    bool logged_in_ = false;
    std::string page_path_ = "/";
    std::string product_ = kProducts[0];
    int sequence_ = 0;
};

// What a first visit did, which decides what the person does later.
struct FirstVisit {
    bool compared = false;
    bool compared_after_cart = false;
    bool size_guide = false;
    bool coupon = false;
    bool ordered = false;
    std::string variant;  // checkout_v2 exposure, if reached
};

// One person's time in the shop, step by step. Every draw from `random`
// comes in the same order as the events, so a seed always gives the same
// shop.
class Journey {
  public:
    Journey(std::vector<Message>& out, Random& random, const ShopSettings& settings,
            std::size_t index)
        : person_(out, random, settings.seed, index),
          random_(random),
          settings_(settings),
          index_(index),
          last_(settings.end) {
        const auto span = std::chrono::duration_cast<microseconds>(kDay * settings.days);
        t_ = settings.end - span +
             microseconds(
                 static_cast<long long>(random.uniform() * static_cast<double>(span.count())));
        channel_ = pick_channel(random);
        product_index_ = static_cast<std::size_t>(random.between(0, 5));
        person_.product_ = kProducts[product_index_];
        price_ = kPrices[product_index_];
    }

    void run() {
        if (browse() && checkout()) orders();
    }

  private:
    bool button_broken() const {
        const auto& defects = settings_.defects;
        return !defects.broken_device.empty() && person_.device_.type == defects.broken_device &&
               t_ >= defects.broken_from;
    }

    // Time passes; false once it passes the end of the shop's history.
    bool step(int low_seconds, int high_seconds) {
        t_ += seconds(random_.between(low_seconds, high_seconds));
        return t_ < last_;
    }

    // The landing page and the first look around. False when the time ran
    // out before the product was seen.
    bool browse() {
        json campaign = nullptr;
        std::string referrer;
        std::string search;
        if (channel_.name == "google") referrer = "https://www.google.com/";
        if (channel_.name == "newsletter") search = "?utm_source=newsletter&utm_medium=email";
        if (channel_.name == "ads")
            campaign = {{"source", "ads"}, {"medium", "cpc"}, {"name", "spring"}};
        person_.page(t_, channel_.landing, referrer, search, campaign);
        if (!step(10, 60)) return false;
        person_.track(t_, "product_viewed",
                      {{"product_id", person_.product_}, {"price", price_}, {"currency", "EUR"}});
        micro_conversions();
        return true;
    }

    void micro_conversions() {
        // A tracking defect: the tablet page sends results_count as a
        // string, which the contract refuses (about a tenth of search_used).
        if (random_.chance(0.3) && step(5, 40))
            person_.track(
                t_, "search_used",
                {{"query", "shoes"},
                 {"results_count", person_.device_.type == "tablet" ? json("12") : json(12)}});
        if (random_.chance(0.25) && step(5, 40))
            person_.track(t_, "filter_applied", {{"filter_name", "size"}, {"filter_value", "42"}});
        if (random_.chance(0.25) && step(10, 60)) {
            visit_.size_guide = true;
            json properties{{"product_id", person_.product_}};
            if (settings_.defects.size_system)
                properties["size_system"] = person_.device_.type == "mobile" ? "eu" : "EU";
            person_.track(t_, "size_guide_opened", properties);
        }
        if (random_.chance(0.2) && step(10, 90)) {
            visit_.compared = true;
            track_compare();
        }
        if (random_.chance(0.1) && step(5, 30))
            person_.track(t_, "wishlist_added", {{"product_id", person_.product_}});
        if (random_.chance(0.08) && step(5, 30))
            person_.track(t_, "newsletter_signup", {{"list", "weekly"}});
    }

    // The cart and the checkout, with the checkout_v2 experiment. True when
    // the first order is placed.
    bool checkout() {
        const double cart_chance = 0.35 + (visit_.compared ? 0.25 : 0.0);
        if (!random_.chance(cart_chance) || !step(20, 120) || button_broken()) return false;
        person_.track(t_, "add_to_cart",
                      {{"product_id", person_.product_},
                       {"price", price_},
                       {"currency", "EUR"},
                       {"quantity", 1}});
        if (random_.chance(0.2) && step(10, 60)) {
            visit_.coupon = true;
            person_.track(t_, "coupon_applied",
                          {{"coupon", "SPRING20"}, {"discount", price_ * 0.2}});
        }
        compare_after_cart();
        if (!random_.chance(0.75) || !step(30, 300)) return false;
        person_.identify(t_);
        person_.track(t_, "checkout_started", {{"value", price_}, {"currency", "EUR"}});
        // Experiment checkout_v2: half see the new checkout.
        visit_.variant = random_.chance(0.5) ? "B" : "control";
        if (step(1, 5))
            person_.track(t_, "experiment_viewed",
                          {{"experiment_id", "checkout_v2"}, {"variant", visit_.variant}});
        double order_chance = 0.55;
        if (visit_.coupon) order_chance += 0.25;              // a coupon wins first orders
        if (visit_.variant == "B") order_chance += 0.2;       // the new checkout converts better
        if (visit_.compared_after_cart) order_chance *= 0.5;  // doubt: half as many orders
        if (!step(20, 120)) return false;
        person_.track(t_, "payment_attempted",
                      {{"payment_method", "card"}, {"success", random_.chance(order_chance)}});
        return random_.chance(order_chance) && step(2, 20);
    }

    // The planted path: some who did not compare before adding to the cart
    // compare afterwards, and order half as often as those who compared
    // first (checkout's order chance).
    void compare_after_cart() {
        if (visit_.compared || !random_.chance(0.25) || !step(10, 90)) return;
        visit_.compared = true;
        visit_.compared_after_cart = true;
        track_compare();
    }

    void track_compare() {
        person_.track(t_, "product_compare_opened",
                      {{"product_ids",
                        json::array({person_.product_, kProducts[(product_index_ + 1) % 6]})}});
    }

    // Orders: the first now, repeat orders later, some refunded.
    void orders() {
        visit_.ordered = true;
        double repeat_chance = 0.3 * channel_.repeat_factor;
        if (visit_.compared) repeat_chance *= 3.0;        // comparing makes loyal customers
        if (visit_.coupon) repeat_chance *= 0.3;          // coupon hunters rarely return
        if (visit_.variant == "B") repeat_chance *= 0.3;  // the new checkout disappoints later
        repeat_chance = std::min(repeat_chance, 0.9);
        for (int order = 0; order < 5; ++order) {
            place_order(order);
            if (!random_.chance(repeat_chance)) break;
            if (!come_back(order)) break;
        }
    }

    void place_order(int order) {
        const double margin = visit_.coupon ? 0.1 : 0.4;              // a coupon eats the margin
        const double refund_chance = visit_.size_guide ? 0.04 : 0.2;  // the right size stays
        const double revenue = std::round(price_ * (order == 0 && visit_.coupon ? 0.8 : 1.0) *
                                          random_.between(1, 2) * 100.0) /
                               100.0;
        const double cost = std::round(revenue * (1.0 - margin) * 100.0) / 100.0;
        const auto order_id = "order-" + std::to_string(settings_.seed) + "-" +
                              std::to_string(index_) + "-" + std::to_string(order);
        person_.order(t_, order_id, revenue, cost, order == 0 && visit_.coupon ? "SPRING20" : "");
        if (random_.chance(refund_chance)) {
            const auto refund_at =
                t_ +
                microseconds(static_cast<long long>(random_.exponential(8.0) * 86400e6 + 3600e6));
            if (refund_at < last_) person_.refund(refund_at, order_id, revenue);
        }
    }

    // The next visit, weeks later, ends in another order. A third of the
    // returns happen on another device, anonymous until the person logs in
    // there. False when the time runs out on the way.
    bool come_back(int order) {
        t_ += microseconds(static_cast<long long>((random_.exponential(25.0) + 2.0) * 86400e6));
        if (t_ >= last_) return false;
        const bool new_device = random_.chance(0.33);
        if (new_device) {
            person_.device_ =
                make_device(random_, person_.prefix_ + "device-" + std::to_string(order + 2));
            person_.logged_in_ = false;
        }
        person_.page(t_, "/", "");
        if (new_device && step(10, 60)) person_.identify(t_);
        if (!step(10, 60)) return false;
        person_.track(t_, "product_viewed",
                      {{"product_id", person_.product_}, {"price", price_}, {"currency", "EUR"}});
        if (!step(20, 120) || button_broken()) return false;
        person_.track(t_, "add_to_cart",
                      {{"product_id", person_.product_},
                       {"price", price_},
                       {"currency", "EUR"},
                       {"quantity", 1}});
        if (!step(30, 200)) return false;
        person_.track(t_, "checkout_started", {{"value", price_}, {"currency", "EUR"}});
        if (!step(20, 120)) return false;
        person_.track(t_, "payment_attempted", {{"payment_method", "card"}, {"success", true}});
        return step(2, 20);
    }

    Person person_;
    Random& random_;
    const ShopSettings& settings_;
    std::size_t index_;
    common::timestamp last_;
    common::timestamp t_;
    Channel channel_;
    std::size_t product_index_ = 0;
    double price_ = 0;
    FirstVisit visit_;
};

void simulate_person(std::vector<Message>& out, Random& random, const ShopSettings& settings,
                     std::size_t index) {
    Journey(out, random, settings, index).run();
}

// The flood: persons from one campaign who land, seldom look at a product,
// and leave. Drawn after the shop's own persons, who stay as they were.
void simulate_flood(std::vector<Message>& out, Random& random, const ShopSettings& settings) {
    const auto& defects = settings.defects;
    if (defects.flood_per_day == 0 || defects.flood_from >= settings.end) return;
    const auto span = settings.end - defects.flood_from;
    const auto count =
        static_cast<std::size_t>(static_cast<double>(defects.flood_per_day) *
                                 std::chrono::duration<double>(span).count() / 86400.0);
    const json campaign{{"source", "megadeal"}, {"medium", "display"}, {"name", "flash"}};
    for (std::size_t i = 0; i < count; ++i) {
        Person person(out, random, settings.seed, settings.persons + i);
        auto t = defects.flood_from +
                 microseconds(static_cast<long long>(
                     random.uniform() *
                     static_cast<double>(std::chrono::duration_cast<microseconds>(span).count())));
        person.page(t, "/deal", "", "", campaign);
        t += seconds(random.between(5, 40));
        if (random.chance(0.15) && t < settings.end)
            person.track(
                t, "product_viewed",
                {{"product_id", person.product_}, {"price", kPrices[0]}, {"currency", "EUR"}});
    }
}

}  // namespace

std::vector<Message> generate_shop(const ShopSettings& settings) {
    std::vector<Message> messages;
    Random random(settings.seed);
    for (std::size_t index = 0; index < settings.persons; ++index)
        simulate_person(messages, random, settings, index);
    simulate_flood(messages, random, settings);
    std::stable_sort(messages.begin(), messages.end(),
                     [](const Message& a, const Message& b) { return a.at < b.at; });
    return messages;
}

Defects all_defects(const ShopSettings& settings, int days_before_end) {
    Defects defects;
    const auto from = settings.end - kDay * days_before_end;
    defects.broken_device = "mobile";
    defects.broken_from = from;
    defects.flood_per_day = std::max<std::size_t>(1, settings.persons / std::max(settings.days, 1));
    defects.flood_from = from;
    defects.size_system = true;
    return defects;
}

std::vector<Batch> batch_messages(const std::vector<Message>& messages, std::size_t per_batch) {
    std::vector<Batch> batches;
    Batch browser{common::Source::browser, {}, 0};
    Batch server{common::Source::server, {}, 0};
    const auto flush = [&](Batch& batch) {
        if (batch.messages == 0) return;
        batch.body += "]}";
        batches.push_back(std::move(batch));
        batch.body.clear();
        batch.messages = 0;
    };
    for (const auto& message : messages) {
        auto& batch = message.sender == common::Source::browser ? browser : server;
        batch.body += batch.messages == 0 ? "{\"batch\":[" : ",";
        batch.body += message.json;
        if (++batch.messages == per_batch) flush(batch);
    }
    flush(browser);
    flush(server);
    return batches;
}

}  // namespace funnelhouse::simulate
