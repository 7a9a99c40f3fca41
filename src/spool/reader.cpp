// The reader: the loader's side, in order from the persisted position.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "funnelhouse/spool/error.hpp"
#include "funnelhouse/spool/file.hpp"
#include "funnelhouse/spool/spool.hpp"

namespace funnelhouse::spool {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kReadChunk = 1024 * 1024;

}  // namespace

void Spool::interrupt() {
    {
        std::lock_guard lock(mutex_);
        interrupted_ = true;
    }
    wake_reader_.notify_all();
}

bool Spool::read_into(std::uint64_t offset, std::size_t need, std::uint64_t end) {
    if (offset >= read_buffer_offset_ && offset + need <= read_buffer_offset_ + read_buffer_.size())
        return true;
    if (offset + need > end) return false;
    const auto want =
        std::min<std::uint64_t>(std::max<std::uint64_t>(need, kReadChunk), end - offset);
    read_buffer_.resize(want);
    const auto got = read_all(read_fd_.get(), read_buffer_.data(), want, offset);
    read_buffer_.resize(got);
    read_buffer_offset_ = offset;
    return got >= need;
}

void Spool::skip_damage(std::uint64_t end) {
    // Bytes that were durable and checked are not a record any more: the
    // disk changed under us. Keep a link to the segment for inspection and
    // continue at the next intact record, or after the durable end when
    // there is none (the file may also have been cut short).
    const auto path = segment_path(read_.segment);
    std::string rest(end - read_.offset, '\0');
    rest.resize(read_all(read_fd_.get(), rest.data(), rest.size(), read_.offset));
    const auto scan = scan_records(rest, 0);
    if (!scan.records.empty() && scan.records.front().offset == 0) {
        // Read again, the record is intact: the first read failed, not the
        // bytes. Try once more shortly.
        spdlog::warn("spool: reading offset {} of segment {} failed once; retrying", read_.offset,
                     path.string());
        read_buffer_.clear();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return;
    }
    std::uint64_t skip = end - read_.offset;
    if (!scan.records.empty()) skip = scan.records.front().offset;
    std::string kept = "(already kept)";
    if (linked_aside_segment_ != read_.segment) {
        std::error_code ec;
        const auto aside = aside_path(path.filename().string());
        fs::create_hard_link(path, aside, ec);
        kept = ec ? "(cannot be kept: " + ec.message() + ")" : aside.string();
        linked_aside_segment_ = read_.segment;
    }
    spdlog::error("spool: {} damaged bytes at offset {} of segment {} skipped; segment kept as {}",
                  skip, read_.offset, path.string(), kept);
    read_.offset += skip;
    read_buffer_.clear();
    std::lock_guard lock(mutex_);
    ++damaged_at_runtime_;
}

// Waits until a durable record may be at the read position, moving past
// segments read to their end or gone, and returns where the durable bytes of
// that segment end; nullopt when `deadline` passes. Once interrupted,
// nothing waits any more, but what is there is still returned: that is how
// the loader drains at stop.
std::optional<std::uint64_t> Spool::wait_for_record(
    std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    for (;;) {
        const auto it = segment_sizes_.find(read_.segment);
        if (it == segment_sizes_.end()) {
            // The segment is gone (deleted or moved aside): go on with the
            // next one there is.
            const auto later = segment_sizes_.upper_bound(read_.segment);
            if (later == segment_sizes_.end()) {
                if (interrupted_ || !wake_reader_.wait_until(lock, deadline, [&] {
                        return interrupted_ ||
                               segment_sizes_.upper_bound(read_.segment) != segment_sizes_.end();
                    }))
                    return std::nullopt;
                continue;
            }
            read_ = {later->first, kSegmentHeaderBytes};
            continue;
        }
        const auto end = read_.segment == durable_end_.segment ? durable_end_.offset : it->second;
        if (read_.offset < end) return end;
        if (read_.segment < durable_end_.segment) {
            // A finished segment, read to its end.
            const auto later = segment_sizes_.upper_bound(read_.segment);
            read_ = {later->first, kSegmentHeaderBytes};
            continue;
        }
        if (interrupted_ || !wake_reader_.wait_until(lock, deadline, [&] {
                return interrupted_ || durable_end_.segment != read_.segment ||
                       durable_end_.offset > read_.offset;
            }))
            return std::nullopt;
    }
}

// Whether an intact record of `size` bytes starts at the read position, now
// in the read buffer. The header says how long the record is; then all of
// it must be there and check out.
bool Spool::record_at(std::uint64_t end, std::size_t& size) {
    if (!read_fd_ || read_fd_segment_ != read_.segment) {
        read_fd_ = open_file(segment_path(read_.segment), O_RDONLY);
        read_fd_segment_ = read_.segment;
        read_buffer_.clear();
        if (!read_fd_)
            throw system_failure("cannot open spool segment " +
                                 segment_path(read_.segment).string());
    }
    if (!read_into(read_.offset, kRecordHeaderBytes, end)) return false;
    const auto* header = read_buffer_.data() + (read_.offset - read_buffer_offset_);
    std::uint64_t length = 0;
    for (int i = 7; i >= 4; --i) length = (length << 8) | static_cast<unsigned char>(header[i]);
    return length <= kMaxPayloadBytes &&
           read_into(read_.offset, kRecordHeaderBytes + length, end) &&
           check_record(read_buffer_, read_.offset - read_buffer_offset_, size) == RecordCheck::ok;
}

std::optional<Spool::Record> Spool::next(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        const auto end = wait_for_record(deadline);
        if (!end) return std::nullopt;
        std::size_t size = 0;
        if (!record_at(*end, size)) {
            skip_damage(*end);
            continue;
        }
        Record record;
        record.position = read_;
        record.payload = std::string(record_payload(std::string_view(read_buffer_),
                                                    read_.offset - read_buffer_offset_, size));
        read_.offset += size;
        record.next = read_;
        return record;
    }
}

Position Spool::read_position() const { return read_; }

void Spool::commit(Position next, std::uint64_t records) {
    if (next > persisted_) {
        try {
            persist_position(next);
            persisted_ = next;
        } catch (const std::exception& error) {
            // Only costs a longer replay after a crash (loading is
            // idempotent); the next commit tries again. Segments stay until
            // a position past them is on disk.
            spdlog::error("spool: cannot record the position {}:{}: {}", next.segment, next.offset,
                          error.what());
        }
    }
    std::vector<std::uint64_t> finished;
    {
        std::lock_guard lock(mutex_);
        committed_ = std::max(committed_, next);
        unloaded_records_ -= std::min(unloaded_records_, records);
        for (const auto& [segment, size] : segment_sizes_) {
            if (segment >= persisted_.segment || segment == durable_end_.segment) break;
            finished.push_back(segment);
        }
    }
    for (const auto segment : finished) {
        if (read_fd_ && read_fd_segment_ == segment) {
            // Read to its end already: hold no deleted file open.
            read_fd_.reset();
            read_buffer_.clear();
        }
        std::error_code ec;
        fs::remove(segment_path(segment), ec);
        if (ec) spdlog::warn("spool: cannot delete loaded segment {}: {}", segment, ec.message());
        std::lock_guard lock(mutex_);
        bytes_ -= segment_sizes_[segment];
        segment_sizes_.erase(segment);
    }
}

void Spool::persist_position(Position position) {
    replace_file(settings_.dir / "position", encode_position(position), settings_.sync);
    sync_dir();
}

}  // namespace funnelhouse::spool
