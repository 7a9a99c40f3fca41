#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace funnelhouse::activation {

// The values ad platforms match persons on, normalised as the platforms
// document before they are hashed (common::sha256_hex of the result), so
// that a hash sent from here equals the platform's hash of the same value.

// An email address: surrounding whitespace removed, ASCII letters
// lower-cased. nullopt when no address with an '@' inside is left.
std::optional<std::string> normalized_email(std::string_view raw);

// The same, and for Google (gmail.com and googlemail.com addresses) without
// the dots before the '@', which Gmail ignores.
std::optional<std::string> normalized_email_for_google(std::string_view raw);

// A phone number as digits, country code first (Meta's form): a leading '+'
// or "00" says the country code is there; otherwise leading zeros (a
// national prefix) are dropped and `country_code` (digits, "49") is put
// first. nullopt when that is not an E.164 number (a country code starting
// with 0, more than 15 digits, none at all), or the country is needed and
// `country_code` is empty.
std::optional<std::string> normalized_phone(std::string_view raw, std::string_view country_code);

// The same in E.164, '+' then the digits (Google's form).
std::optional<std::string> normalized_phone_e164(std::string_view raw,
                                                 std::string_view country_code);

}  // namespace funnelhouse::activation
