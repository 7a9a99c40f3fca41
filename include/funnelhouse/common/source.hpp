#pragma once

#include <optional>
#include <string_view>

namespace funnelhouse::common {

// Where a copy of an event came from: a page (public write key) or a backend
// (secret write key). Contracts say which sources may send an event.
enum class Source { browser, server };

constexpr std::string_view to_string(Source source) {
    return source == Source::browser ? "browser" : "server";
}

constexpr std::optional<Source> parse_source(std::string_view text) {
    if (text == "browser") return Source::browser;
    if (text == "server") return Source::server;
    return std::nullopt;
}

}  // namespace funnelhouse::common
