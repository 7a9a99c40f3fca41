#include "funnelhouse/common/file.hpp"

#include <fstream>
#include <iterator>

namespace funnelhouse::common {

std::optional<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) return std::nullopt;
    // A read error (a folder, an I/O error) throws from the stream buffer.
    try {
        std::string bytes{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
        if (in.bad()) return std::nullopt;
        return bytes;
    } catch (const std::ios_base::failure&) {
        return std::nullopt;
    }
}

}  // namespace funnelhouse::common
