#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

// The built dashboard page (index.html, its script, styles, the charting
// library and the rendered docs), read into memory when the server starts:
// only these files can ever be served, whatever the request path says.
namespace funnelhouse::dashboard {

struct Asset {
    std::string content_type;
    std::string body;
    std::string etag;  // a quoted hash of the body
};

class Assets {
  public:
    // Reads every regular file under `dir` (at most 64 MiB in all). When
    // there is no index.html, the set is empty and `problem()` says why.
    static Assets load(const std::filesystem::path& dir);

    // By path relative to the folder ("index.html", "docs/analytics.html").
    const Asset* find(std::string_view relative) const;
    bool empty() const { return files_.empty(); }
    const std::string& problem() const { return problem_; }

  private:
    std::map<std::string, Asset, std::less<>> files_;
    std::string problem_;
};

// One file read into memory (at most 64 MiB), with its Content-Type by
// extension: the tracker script the ingest listener serves. nullopt, and
// `problem` says why, when it cannot be read.
std::optional<Asset> read_asset(const std::filesystem::path& file, std::string& problem);

// The Content-Type of a file by its extension (octet-stream when unknown).
std::string_view content_type_for(std::string_view name);

}  // namespace funnelhouse::dashboard
