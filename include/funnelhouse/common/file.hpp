#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace funnelhouse::common {

// A whole file's bytes; nullopt when it cannot be opened or read (errno
// says why). Each caller names the file, and its own setting, in its error.
std::optional<std::string> read_file(const std::filesystem::path& path);

}  // namespace funnelhouse::common
