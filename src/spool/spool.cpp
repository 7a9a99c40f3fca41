// The spool: its folder, lock and paths, and its state for /readyz and
// /metrics. Writing (writer.cpp), reading (reader.cpp), recovery at start
// (recovery.cpp) and the quarantine (quarantine.cpp) are files of their own.
#include "funnelhouse/spool/spool.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "funnelhouse/spool/error.hpp"
#include "funnelhouse/spool/file.hpp"

namespace funnelhouse::spool {

namespace fs = std::filesystem;

Spool::Spool(SpoolSettings settings) : settings_(std::move(settings)) {
    if (settings_.segment_bytes < 4096)
        throw std::invalid_argument("FUNNELHOUSE_SPOOL_SEGMENT_BYTES must be at least 4096");
    // The active segment may be fully loaded yet still on disk: the quota must
    // leave room for at least one more.
    if (settings_.max_bytes < 2 * settings_.segment_bytes)
        throw std::invalid_argument("FUNNELHOUSE_SPOOL_MAX_BYTES (" +
                                    std::to_string(settings_.max_bytes) +
                                    ") must be at least twice FUNNELHOUSE_SPOOL_SEGMENT_BYTES (" +
                                    std::to_string(settings_.segment_bytes) + ")");
    std::error_code ec;
    fs::create_directories(settings_.dir, ec);
    if (ec)
        throw std::runtime_error("cannot create the spool folder " + settings_.dir.string() + ": " +
                                 ec.message());
    dir_fd_ = open_file(settings_.dir, O_RDONLY | O_DIRECTORY);
    if (!dir_fd_) throw system_failure("cannot open the spool folder " + settings_.dir.string());
    const auto lock_path = settings_.dir / "lock";
    lock_fd_ = open_file(lock_path, O_RDWR | O_CREAT);
    if (!lock_fd_) throw system_failure("cannot open " + lock_path.string());
    if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0)
        throw std::runtime_error("the spool folder " + settings_.dir.string() +
                                 " is in use by another funnelhouse process");
    recover();
    writer_ = std::thread([this] { write_loop(); });
}

Spool::~Spool() { close(); }

fs::path Spool::segment_path(std::uint64_t segment) const {
    return settings_.dir / segment_name(segment);
}

fs::path Spool::aside_path(const std::string& name) const {
    const auto folder = settings_.dir / "corrupt";
    fs::create_directories(folder);
    auto path = folder / name;
    for (int i = 1; fs::exists(path); ++i) path = folder / (name + "." + std::to_string(i));
    return path;
}

void Spool::sync_dir() {
    if (settings_.sync && ::fsync(dir_fd_.get()) != 0)
        throw system_failure("cannot sync the spool folder " + settings_.dir.string());
}

SpoolStatus Spool::status() const {
    std::lock_guard lock(mutex_);
    SpoolStatus status;
    status.bytes = bytes_;
    status.segments = segment_sizes_.size();
    status.unloaded_records = unloaded_records_;
    for (const auto& [segment, size] : segment_sizes_) {
        const auto end = segment == durable_end_.segment ? durable_end_.offset : size;
        if (segment > committed_.segment)
            status.unloaded_bytes += end - kSegmentHeaderBytes;
        else if (segment == committed_.segment && end > committed_.offset)
            status.unloaded_bytes += end - committed_.offset;
    }
    status.max_bytes = settings_.max_bytes;
    status.free_disk_bytes = free_disk_cache_;
    status.min_free_bytes = settings_.min_free_bytes;
    // Refusing as long as the last refused record would still not fit: this
    // clears by itself once the loader makes room.
    status.refusing = refusal(last_refused_bytes_);
    status.quarantined_records = quarantined_;
    status.damaged_at_runtime = damaged_at_runtime_;
    status.recovery = recovery_;
    return status;
}

}  // namespace funnelhouse::spool
