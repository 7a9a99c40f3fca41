#include "funnelhouse/activation/matching.hpp"

#include <algorithm>

#include "funnelhouse/common/text.hpp"

namespace funnelhouse::activation {

std::optional<std::string> normalized_email(std::string_view raw) {
    auto email = common::trim(raw);
    std::transform(email.begin(), email.end(), email.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    const auto at = email.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == email.size()) return std::nullopt;
    return email;
}

std::optional<std::string> normalized_email_for_google(std::string_view raw) {
    auto email = normalized_email(raw);
    if (!email) return email;
    const auto at = email->find('@');
    const auto domain = std::string_view(*email).substr(at + 1);
    if (domain != "gmail.com" && domain != "googlemail.com") return email;
    std::string local = email->substr(0, at);
    local.erase(std::remove(local.begin(), local.end(), '.'), local.end());
    if (local.empty()) return std::nullopt;
    return local + email->substr(at);
}

std::optional<std::string> normalized_phone(std::string_view raw, std::string_view country_code) {
    const auto text = common::trim(raw);
    std::string digits;
    for (const char c : text)
        if (c >= '0' && c <= '9') digits += c;
    bool international = !text.empty() && text.front() == '+';
    if (!international && digits.rfind("00", 0) == 0) {
        digits.erase(0, 2);
        international = true;
    }
    if (!international) {
        const auto first = digits.find_first_not_of('0');
        digits.erase(0, first == std::string::npos ? digits.size() : first);
        std::string code;
        for (const char c : country_code)
            if (c >= '0' && c <= '9') code += c;
        if (digits.empty() || code.empty()) return std::nullopt;
        digits.insert(0, code);
    }
    // E.164: a country code never starts with 0, and a number has at most
    // 15 digits.
    if (digits.empty() || digits.front() == '0' || digits.size() > 15) return std::nullopt;
    return digits;
}

std::optional<std::string> normalized_phone_e164(std::string_view raw,
                                                 std::string_view country_code) {
    auto digits = normalized_phone(raw, country_code);
    if (!digits) return digits;
    return "+" + *digits;
}

}  // namespace funnelhouse::activation
