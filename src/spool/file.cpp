#include "funnelhouse/spool/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "funnelhouse/common/file.hpp"

namespace funnelhouse::spool {
namespace {

constexpr std::string_view kSegmentSuffix = ".seg";

}  // namespace

void FileDescriptor::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

FileDescriptor open_file(const std::filesystem::path& path, int flags, mode_t mode) {
    return FileDescriptor(::open(path.c_str(), flags | O_CLOEXEC, mode));
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::size_t read_all(int fd, char* data, std::size_t size, std::uint64_t offset) {
    std::size_t got = 0;
    while (got < size) {
        const auto n = ::pread(fd, data + got, size - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    return got;
}

std::runtime_error system_failure(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

std::string read_whole(const std::filesystem::path& path) {
    auto bytes = common::read_file(path);
    if (!bytes) throw system_failure("cannot read " + path.string());
    return std::move(*bytes);
}

void replace_file(const std::filesystem::path& path, std::string_view bytes, bool sync) {
    const auto temporary = std::filesystem::path(path.string() + ".tmp");
    const auto file = open_file(temporary, O_WRONLY | O_CREAT | O_TRUNC);
    if (!file) throw system_failure("cannot create " + temporary.string());
    if (!write_all(file.get(), bytes)) throw system_failure("cannot write " + temporary.string());
    if (sync && ::fdatasync(file.get()) != 0)
        throw system_failure("cannot sync " + temporary.string());
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        throw system_failure("cannot rename " + temporary.string());
}

std::string segment_name(std::uint64_t segment) {
    char name[32];
    std::snprintf(name, sizeof name, "%020llu", static_cast<unsigned long long>(segment));
    return std::string(name) + std::string(kSegmentSuffix);
}

std::optional<std::uint64_t> parse_segment_name(const std::string& name) {
    if (name.size() != 20 + kSegmentSuffix.size() || !name.ends_with(kSegmentSuffix))
        return std::nullopt;
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 20; ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(name[i] - '0');
    }
    return value;
}

}  // namespace funnelhouse::spool
