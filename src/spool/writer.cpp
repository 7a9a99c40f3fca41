// The writer: appends from the io threads, grouped by one thread into one
// write and one sync, reported durable together.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "funnelhouse/spool/error.hpp"
#include "funnelhouse/spool/file.hpp"
#include "funnelhouse/spool/spool.hpp"

namespace funnelhouse::spool {

namespace fs = std::filesystem;

void Spool::open_new_segment(std::uint64_t segment) {
    const auto path = segment_path(segment);
    auto file = open_file(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND);
    if (!file) throw system_failure("cannot create spool segment " + path.string());
    const auto header = segment_header(segment);
    if (!write_all(file.get(), header) || (settings_.sync && ::fdatasync(file.get()) != 0))
        throw system_failure("cannot write spool segment " + path.string());
    // The new file's name must be durable before any record in it is.
    sync_dir();
    active_fd_ = std::move(file);
    active_segment_ = segment;
    active_size_ = header.size();
    std::lock_guard lock(mutex_);
    segment_sizes_[segment] = header.size();
    bytes_ += header.size();
    durable_end_ = {segment, header.size()};
}

std::uint64_t Spool::free_disk() const {
    struct statvfs info {};
    if (::statvfs(settings_.dir.c_str(), &info) != 0) return 0;
    return static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
}

std::error_code Spool::refusal(std::uint64_t extra) const {
    if (failed_) return errc::write_failed;
    if (closing_) return errc::shutting_down;
    const auto after = bytes_ + pending_bytes_buffer_.size() + extra;
    if (after > settings_.max_bytes) return errc::spool_full;
    const auto needed = settings_.min_free_bytes + pending_bytes_buffer_.size() + extra;
    // The cached figure is refreshed after every write; look again before
    // refusing so that space freed elsewhere is noticed at once.
    if (free_disk_cache_ < needed) free_disk_cache_ = free_disk();
    if (free_disk_cache_ < needed) return errc::disk_full;
    return {};
}

std::error_code Spool::append(const std::string& payload, Durable on_durable) {
    if (payload.size() > kMaxPayloadBytes) return errc::record_too_large;
    std::string framed;
    framed.reserve(payload.size() + kRecordHeaderBytes);
    append_record(framed, payload);
    {
        std::lock_guard lock(mutex_);
        if (const auto refused = refusal(framed.size())) {
            last_refused_bytes_ = framed.size();
            return refused;
        }
        last_refused_bytes_ = 0;
        pending_bytes_buffer_.append(framed);
        pending_.push_back({framed.size(), std::move(on_durable)});
    }
    wake_writer_.notify_one();
    return {};
}

// Writes one group of appends: one write per segment it touches and one
// sync. Each segment it finishes is published as it goes (`published`
// counts the group's records published so far).
std::error_code Spool::write_group(const std::string& buffer,
                                   const std::vector<PendingAppend>& group,
                                   std::size_t& published) {
    std::size_t offset = 0;
    std::size_t start = 0;
    try {
        for (std::size_t i = 0; i < group.size(); ++i) {
            const auto bytes = group[i].framed_bytes;
            if (active_size_ + bytes > settings_.segment_bytes &&
                active_size_ > kSegmentHeaderBytes) {
                if (!write_all(active_fd_.get(),
                               std::string_view(buffer).substr(start, offset - start)) ||
                    (settings_.sync && ::fdatasync(active_fd_.get()) != 0))
                    throw system_failure("cannot write spool segment " +
                                         segment_path(active_segment_).string());
                {
                    // The finished segment is complete and durable: the
                    // reader may read it to its end and move on.
                    std::lock_guard lock(mutex_);
                    bytes_ += active_size_ - segment_sizes_[active_segment_];
                    segment_sizes_[active_segment_] = active_size_;
                    unloaded_records_ += i - published;
                    published = i;
                }
                start = offset;
                open_new_segment(active_segment_ + 1);
            }
            offset += bytes;
            active_size_ += bytes;
        }
        if (!write_all(active_fd_.get(), std::string_view(buffer).substr(start, offset - start)))
            throw system_failure("cannot write spool segment " +
                                 segment_path(active_segment_).string());
        if (settings_.sync && ::fdatasync(active_fd_.get()) != 0)
            throw system_failure("cannot sync spool segment " +
                                 segment_path(active_segment_).string());
    } catch (const std::exception& error) {
        spdlog::critical("spool: {}; refusing new events until restarted", error.what());
        return errc::write_failed;
    }
    return {};
}

void Spool::write_loop() {
    std::string buffer;
    std::vector<PendingAppend> group;
    bool already_failed = false;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_writer_.wait(lock, [this] { return closing_ || !pending_.empty(); });
            if (pending_.empty()) break;  // closing, and everything is written
            buffer.swap(pending_bytes_buffer_);
            group.swap(pending_);
            already_failed = failed_;
        }
        // Every request that arrived while the previous sync ran shares this
        // group's write and sync. Queued before an earlier group failed: never
        // written after it.
        std::size_t published = 0;
        const std::error_code failure = already_failed ? make_error_code(errc::write_failed)
                                                       : write_group(buffer, group, published);
        {
            std::lock_guard lock(mutex_);
            if (failure) {
                // After a failed write or sync the file's content is unknown:
                // stop appending to it. A restart recovers what is intact.
                failed_ = true;
            } else {
                bytes_ += active_size_ - segment_sizes_[active_segment_];
                segment_sizes_[active_segment_] = active_size_;
                durable_end_ = {active_segment_, active_size_};
                unloaded_records_ += group.size() - published;
            }
            free_disk_cache_ = free_disk();
        }
        wake_reader_.notify_all();
        for (auto& item : group) item.on_durable(failure);
        buffer.clear();
        group.clear();
    }
    if (active_fd_) {
        if (settings_.sync) ::fdatasync(active_fd_.get());
        active_fd_.reset();
    }
}

void Spool::close() {
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
    }
    wake_writer_.notify_all();
    if (writer_.joinable()) writer_.join();
}

}  // namespace funnelhouse::spool
