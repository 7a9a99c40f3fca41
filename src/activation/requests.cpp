// The requests that carry conversions to each kind of destination.
#include "funnelhouse/activation/requests.hpp"

#include <algorithm>
#include <map>

#include "funnelhouse/activation/signature.hpp"
#include "funnelhouse/alerts/notice.hpp"

namespace funnelhouse::activation {
namespace {

std::string trimmed_base(const std::string& url) {
    auto base = url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base;
}

// Conversions in groups of at most `size`, by index.
std::vector<std::vector<std::size_t>> chunks(const std::vector<std::size_t>& indexes,
                                             std::size_t size) {
    std::vector<std::vector<std::size_t>> out;
    for (std::size_t i = 0; i < indexes.size(); i += size)
        out.emplace_back(
            indexes.begin() + static_cast<std::ptrdiff_t>(i),
            indexes.begin() + static_cast<std::ptrdiff_t>(std::min(indexes.size(), i + size)));
    return out;
}

std::vector<Conversion> pick(const std::vector<Conversion>& all,
                             const std::vector<std::size_t>& indexes) {
    std::vector<Conversion> out;
    out.reserve(indexes.size());
    for (const auto i : indexes) out.push_back(all[i]);
    return out;
}

// A body built from `chunk` (positions in it), its left-out ones mapped
// back to the conversions given.
void add(Plan& plan, Post post, const Body& body, const std::vector<std::size_t>& chunk) {
    for (const auto& left : body.left_out)
        plan.left_out.push_back({chunk[left.index], left.reason});
    if (body.sent.empty()) return;
    Planned planned{std::move(post), {}};
    planned.post.body = body.json;
    for (const auto position : body.sent) planned.conversions.push_back(chunk[position]);
    plan.requests.push_back(std::move(planned));
}

void plan_ga4(Plan& plan, const Destination& d, const std::vector<Conversion>& conversions,
              const std::vector<std::size_t>& all, std::size_t batch, common::timestamp now) {
    // One request per client id: GA4 takes one a request.
    std::map<std::string, std::vector<std::size_t>> by_client;
    for (const auto i : all) {
        if (conversions[i].ga_client_id)
            by_client[*conversions[i].ga_client_id].push_back(i);
        else
            plan.left_out.push_back(
                {i, "client_id: no GA4 client id (context.adIds.gaClientId, from the _ga cookie)"});
    }
    const auto url = trimmed_base(d.endpoint) + "/mp/collect?measurement_id=" + d.measurement_id +
                     "&api_secret=" + d.api_secret;
    for (const auto& [client, indexes] : by_client)
        for (const auto& chunk : chunks(indexes, std::min(batch, kGa4MaxEvents)))
            add(plan, Post{url, {}, {}}, ga4_events(pick(conversions, chunk), now), chunk);
}

void plan_webhook(Plan& plan, const Destination& d, const std::vector<Conversion>& conversions,
                  const std::vector<What>& whats, const std::vector<std::size_t>& all,
                  common::timestamp now) {
    for (const auto i : all) {
        Planned planned;
        planned.post.url = d.url;
        planned.post.body = webhook_body(conversions[i], whats[i], d.name, now);
        planned.post.headers = {{"webhook-id", webhook_id(d.name, conversions[i].event_id)}};
        sign_webhook(planned.post, d.signing_key, now);
        planned.conversions = {i};
        plan.requests.push_back(std::move(planned));
    }
}

}  // namespace

void sign_webhook(Post& post, std::string_view key, common::timestamp now) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
    std::string id;
    for (const auto& [name, value] : post.headers)
        if (name == "webhook-id") id = value;
    std::erase_if(post.headers, [](const auto& header) {
        return header.first == "webhook-timestamp" || header.first == "webhook-signature";
    });
    post.headers.emplace_back("webhook-timestamp", std::to_string(seconds));
    post.headers.emplace_back("webhook-signature", webhook_signature(key, id, seconds, post.body));
}

Post notice_request(const Destination& d, std::string_view key, const Notice& notice,
                    std::string_view dashboard, common::timestamp now) {
    const auto alert = alerts::parse_alert(notice.alert);
    Post post;
    post.url = d.url;
    if (d.kind != Kind::webhook) {
        post.body = alerts::chat_body(alert, notice.resolved, dashboard);
        return post;
    }
    post.body = alerts::webhook_body(alert, notice.resolved, dashboard, now);
    post.headers = {{"webhook-id", webhook_id(d.name, key)}};
    sign_webhook(post, d.signing_key, now);
    return post;
}

Plan plan_requests(const Destination& d, const std::vector<Conversion>& conversions,
                   const std::vector<What>& whats, std::size_t batch, common::timestamp now) {
    Plan plan;
    std::vector<std::size_t> all(conversions.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    batch = std::max<std::size_t>(batch, 1);
    const auto base = trimmed_base(d.endpoint);
    switch (d.kind) {
        case Kind::meta: {
            const auto url = base + "/" + d.api_version + "/" + d.pixel_id +
                             "/events?access_token=" + d.access_token;
            std::optional<std::string> test_code;
            if (!d.test_event_code.empty()) test_code = d.test_event_code;
            for (const auto& chunk : chunks(all, std::min(batch, kMetaMaxEvents)))
                add(plan, Post{url, {}, {}},
                    meta_events(pick(conversions, chunk), now, test_code, d.phone_country_code),
                    chunk);
            break;
        }
        case Kind::google_ads: {
            const auto url = base + "/" + d.api_version + "/customers/" + d.customer_id +
                             ":uploadClickConversions";
            const std::vector<std::pair<std::string, std::string>> headers = {
                {"authorization", "Bearer " + d.access_token},
                {"developer-token", d.developer_token}};
            for (const auto& chunk : chunks(all, std::min(batch, kGoogleAdsMaxConversions)))
                add(plan, Post{url, headers, {}},
                    google_ads_click_conversions(pick(conversions, chunk), d.conversion_action),
                    chunk);
            break;
        }
        case Kind::ga4:
            plan_ga4(plan, d, conversions, all, batch, now);
            break;
        case Kind::webhook:
            plan_webhook(plan, d, conversions, whats, all, now);
            break;
        case Kind::slack:  // alerts only: notice_request
            break;
    }
    return plan;
}

}  // namespace funnelhouse::activation
