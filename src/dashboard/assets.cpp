#include "funnelhouse/dashboard/assets.hpp"

#include <system_error>

#include "funnelhouse/common/file.hpp"
#include "funnelhouse/common/sha256.hpp"

namespace funnelhouse::dashboard {
namespace {

constexpr std::uintmax_t kMaxTotalBytes = 64ull * 1024 * 1024;

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

std::string_view content_type_for(std::string_view name) {
    if (ends_with(name, ".html")) return "text/html; charset=utf-8";
    if (ends_with(name, ".js")) return "text/javascript; charset=utf-8";
    if (ends_with(name, ".css")) return "text/css; charset=utf-8";
    if (ends_with(name, ".json")) return "application/json";
    if (ends_with(name, ".svg")) return "image/svg+xml";
    if (ends_with(name, ".png")) return "image/png";
    if (ends_with(name, ".txt")) return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

namespace {

Asset make_asset(std::string_view name, std::string body) {
    Asset asset;
    asset.content_type = content_type_for(name);
    asset.etag = "\"" + common::sha256_hex(body).substr(0, 32) + "\"";
    asset.body = std::move(body);
    return asset;
}

}  // namespace

std::optional<Asset> read_asset(const std::filesystem::path& file, std::string& problem) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec || !std::filesystem::is_regular_file(file, ec)) {
        problem = "cannot read '" + file.string() + "': " + (ec ? ec.message() : "not a file");
        return std::nullopt;
    }
    if (size > kMaxTotalBytes) {
        problem = "'" + file.string() + "' is over " + std::to_string(kMaxTotalBytes) + " bytes";
        return std::nullopt;
    }
    auto body = common::read_file(file);
    if (!body) {
        problem = "cannot read '" + file.string() + "'";
        return std::nullopt;
    }
    return make_asset(file.filename().string(), std::move(*body));
}

Assets Assets::load(const std::filesystem::path& dir) {
    Assets assets;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(dir / "index.html", ec)) {
        assets.problem_ = "the dashboard page is not built: no index.html in '" + dir.string() +
                          "' (scripts/build makes it; FUNNELHOUSE_DASHBOARD_DIR points elsewhere)";
        return assets;
    }
    std::uintmax_t total = 0;
    for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        total += it->file_size(ec);
        if (total > kMaxTotalBytes) {
            assets.files_.clear();
            assets.problem_ = "the dashboard folder '" + dir.string() + "' holds more than " +
                              std::to_string(kMaxTotalBytes) + " bytes";
            return assets;
        }
        const auto relative = std::filesystem::relative(it->path(), dir, ec).generic_string();
        auto body = common::read_file(it->path());
        if (!body) {
            assets.files_.clear();
            assets.problem_ = "cannot read '" + it->path().string() + "'";
            return assets;
        }
        assets.files_.emplace(relative, make_asset(relative, std::move(*body)));
    }
    if (ec) {
        assets.files_.clear();
        assets.problem_ = "cannot read the dashboard folder '" + dir.string() + "': " + ec.message();
    }
    return assets;
}

const Asset* Assets::find(std::string_view relative) const {
    const auto found = files_.find(relative);
    return found == files_.end() ? nullptr : &found->second;
}

}  // namespace funnelhouse::dashboard
