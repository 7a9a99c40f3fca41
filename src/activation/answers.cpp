// What a platform's answer means, and when to try again.
#include <algorithm>
#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "funnelhouse/activation/delivery.hpp"

namespace funnelhouse::activation {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMessageMax = 500;
// A destination asking to wait longer is waited for a day, then tried.
constexpr std::chrono::seconds kRetryAfterMax{86'400};

// A platform's message as stored: at most kMessageMax bytes, cut between
// characters, without NULs (which PostgreSQL's text refuses).
std::string shortened(std::string text) {
    std::erase(text, '\0');
    if (text.size() <= kMessageMax) return text;
    std::size_t cut = kMessageMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return text.substr(0, cut) + "...";
}

// Meta's error codes for throttling and temporary trouble (the Graph API's
// documented rate limit codes, and its unknown and service errors).
bool meta_transient(const json& error) {
    const auto transient = error.find("is_transient");
    if (transient != error.end() && transient->is_boolean() && transient->get<bool>()) return true;
    const auto found = error.find("code");
    if (found == error.end() || !found->is_number_integer()) return false;
    const auto code = found->get<long long>();
    return code == 1 || code == 2 || code == 4 || code == 17 || code == 32 || code == 341 ||
           code == 613;
}

// The platform's own words for a refusal.
std::string platform_message(Kind kind, const json& body, const std::string& raw) {
    if (!body.is_object()) return shortened(raw);
    const auto& error = body.contains("error") ? body["error"] : body;
    if (!error.is_object()) return shortened(raw);
    const auto text = error.find("message");
    std::string message = text != error.end() && text->is_string() ? text->get<std::string>() : "";
    if (kind == Kind::meta && error.contains("error_user_msg") &&
        error["error_user_msg"].is_string())
        message += ": " + error["error_user_msg"].get<std::string>();
    if (kind == Kind::meta && error.contains("code"))
        message += " (code " + error["code"].dump() + ")";
    if (kind == Kind::google_ads && error.contains("status") && error["status"].is_string())
        message = error["status"].get<std::string>() + ": " + message;
    return shortened(message.empty() ? raw : message);
}

// Google Ads' partial failures: each error's message, by the index of the
// conversion it names.
std::map<std::size_t, std::string> google_ads_failed(const json& body) {
    std::map<std::size_t, std::string> failed;
    if (!body.is_object() || !body.contains("partialFailureError")) return failed;
    const auto& partial = body["partialFailureError"];
    if (!partial.is_object() || !partial.contains("details") || !partial["details"].is_array())
        return failed;
    for (const auto& detail : partial["details"]) {
        if (!detail.is_object() || !detail.contains("errors") || !detail["errors"].is_array())
            continue;
        for (const auto& error : detail["errors"]) {
            if (!error.is_object()) continue;
            const auto elements = error.value("/location/fieldPathElements"_json_pointer, json());
            if (!elements.is_array()) continue;
            for (const auto& element : elements) {
                if (!element.is_object() || element.value("fieldName", "") != "conversions" ||
                    !element.contains("index") || !element["index"].is_number_unsigned())
                    continue;
                const auto index = element["index"].get<std::size_t>();
                auto& message = failed[index];
                if (!message.empty()) message += "; ";
                const auto& text = error.contains("message") && error["message"].is_string()
                                       ? error["message"].get_ref<const std::string&>()
                                       : std::string("refused");
                message += shortened(text);
            }
        }
    }
    return failed;
}

}  // namespace

Judgement judge(Kind kind, const Answer& answer) {
    Judgement out;
    if (answer.status == 0) {
        out.verdict = Verdict::retry;
        out.message = "no answer: " + answer.error;
        return out;
    }
    const auto body = json::parse(answer.body, nullptr, false);
    const auto status = std::to_string(answer.status);
    if (answer.status >= 200 && answer.status < 300) {
        if (kind == Kind::google_ads) out.failed = google_ads_failed(body);
        return out;
    }
    out.message = "HTTP " + status + ": " + platform_message(kind, body, answer.body);
    const bool transient = answer.status == 429 || answer.status == 408 || answer.status >= 500 ||
                           (kind == Kind::meta && body.is_object() && body.contains("error") &&
                            body["error"].is_object() && meta_transient(body["error"]));
    out.verdict = transient ? Verdict::retry : Verdict::failed;
    return out;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      common::timestamp now) {
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (value.size() > 9) return kRetryAfterMax;
        return std::min(kRetryAfterMax, std::chrono::seconds{std::stoll(std::string(value))});
    }
    // An HTTP date: "Sun, 06 Nov 1994 08:49:37 GMT".
    std::tm tm{};
    std::istringstream in{std::string(value)};
    in.imbue(std::locale::classic());
    in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S GMT");
    if (in.fail()) return std::nullopt;
    const auto at = std::chrono::sys_seconds{std::chrono::seconds{timegm(&tm)}};
    const auto wait = std::chrono::ceil<std::chrono::seconds>(at - now);
    return std::clamp(wait, std::chrono::seconds{0}, kRetryAfterMax);
}

std::chrono::milliseconds retry_delay(int attempts, std::chrono::milliseconds first,
                                      std::chrono::milliseconds longest,
                                      std::optional<std::chrono::seconds> retry_after,
                                      std::mt19937_64& random) {
    auto delay = first;
    for (int i = 1; i < attempts && delay < longest; ++i) delay *= 2;
    delay = std::min(delay, longest);
    std::uniform_real_distribution<double> spread(0.5, 1.0);
    auto jittered = std::chrono::milliseconds{static_cast<std::chrono::milliseconds::rep>(
        static_cast<double>(delay.count()) * spread(random))};
    if (retry_after) jittered = std::max<std::chrono::milliseconds>(jittered, *retry_after);
    return jittered;
}

}  // namespace funnelhouse::activation
