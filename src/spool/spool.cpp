#include "funnelhouse/spool/spool.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "funnelhouse/spool/error.hpp"

namespace funnelhouse::spool {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSegmentSuffix = ".seg";
constexpr std::size_t kReadChunk = 1024 * 1024;

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

std::string read_whole(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::runtime_error system_failure(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// Writes `bytes` to `path` through a temporary file, synced, then renamed:
// readers see the old content or the new one, never a mix.
void replace_file(const fs::path& path, std::string_view bytes, bool sync) {
    const auto temporary = fs::path(path.string() + ".tmp");
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) throw system_failure("cannot create " + temporary.string());
    std::size_t written = 0;
    while (written < bytes.size()) {
        const auto n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            throw system_failure("cannot write " + temporary.string());
        }
        written += static_cast<std::size_t>(n);
    }
    if (sync && ::fdatasync(fd) != 0) {
        ::close(fd);
        throw system_failure("cannot sync " + temporary.string());
    }
    ::close(fd);
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        throw system_failure("cannot rename " + temporary.string());
}

}  // namespace

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
    dir_fd_ = ::open(settings_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) throw system_failure("cannot open the spool folder " + settings_.dir.string());
    const auto lock_path = settings_.dir / "lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (lock_fd_ < 0) throw system_failure("cannot open " + lock_path.string());
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
        throw std::runtime_error("the spool folder " + settings_.dir.string() +
                                 " is in use by another funnelhouse process");
    recover();
    writer_ = std::thread([this] { write_loop(); });
}

Spool::~Spool() {
    close();
    if (read_fd_ >= 0) ::close(read_fd_);
    if (dir_fd_ >= 0) ::close(dir_fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

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
    if (settings_.sync && ::fsync(dir_fd_) != 0)
        throw system_failure("cannot sync the spool folder " + settings_.dir.string());
}

void Spool::recover() {
    std::error_code ec;
    fs::remove(settings_.dir / "position.tmp", ec);
    std::map<std::uint64_t, fs::path> found;
    for (const auto& entry : fs::directory_iterator(settings_.dir)) {
        if (!entry.is_regular_file()) continue;
        const auto name = entry.path().filename().string();
        if (name.ends_with(".seg.tmp")) {
            fs::remove(entry.path(), ec);  // an unfinished salvaged copy
            continue;
        }
        if (const auto segment = parse_segment_name(name)) found[*segment] = entry.path();
    }

    Position position;
    const auto position_path = settings_.dir / "position";
    if (fs::exists(position_path)) {
        if (const auto stored = decode_position(read_whole(position_path))) {
            position = *stored;
        } else {
            recovery_.position_unreadable = true;
            spdlog::error(
                "spool: the position file {} is unreadable; replaying every segment "
                "(loading is idempotent)",
                position_path.string());
        }
    }
    std::uint64_t last_segment = position.segment;

    for (const auto& [segment, path] : found) {
        last_segment = std::max(last_segment, segment);
        if (segment < position.segment) {
            // Loaded before the crash; deleting it was the step that did not happen.
            fs::remove(path);
            continue;
        }
        auto bytes = read_whole(path);
        const auto header = parse_segment_header(bytes);
        const bool header_ok = header && *header == segment;
        if (!header_ok && bytes.size() < kSegmentHeaderBytes &&
            segment_header(segment).starts_with(bytes)) {
            // Created but its header not yet written when the process
            // stopped: it never held a record.
            fs::remove(path);
            recovery_.torn_tails += 1;
            recovery_.torn_bytes_cut += bytes.size();
            spdlog::warn("spool: removed segment {} whose header was torn ({} bytes)",
                         path.string(), bytes.size());
            continue;
        }
        std::uint64_t from = kSegmentHeaderBytes;
        if (header_ok && segment == position.segment)
            from = std::max<std::uint64_t>(from, position.offset);
        const auto scan = scan_records(bytes, std::min<std::uint64_t>(from, bytes.size()));
        std::uint64_t size = bytes.size();
        if (!header_ok || !scan.damaged.empty()) {
            // Damage: keep the segment as it is for inspection, and load
            // the intact records from a salvaged copy in its place.
            std::uint64_t damaged = header_ok ? 0 : std::min(bytes.size(), kSegmentHeaderBytes);
            for (const auto& range : scan.damaged) damaged += range.bytes;
            damaged += bytes.size() - scan.valid_end;
            std::string salvaged = segment_header(segment);
            for (const auto& record : scan.records)
                salvaged.append(bytes, record.offset, record.size);
            // The copy has other offsets: the position must stop pointing
            // into the old layout before the copy replaces it. A crash in
            // between replays the segment from its start (loading is
            // idempotent).
            if (segment == position.segment && position.offset != kSegmentHeaderBytes) {
                position.offset = kSegmentHeaderBytes;
                persist_position(position);
            }
            // Link first, then replace: a crash in between leaves either the
            // original (salvaged again on the next start) or the copy.
            const auto aside = aside_path(path.filename().string());
            fs::create_hard_link(path, aside);
            replace_file(path, salvaged, settings_.sync);
            sync_dir();
            recovery_.moved_aside.push_back(aside);
            recovery_.damaged_bytes += damaged;
            spdlog::error(
                "spool: segment {} is damaged ({} bytes{}); moved to {}, its {} intact records "
                "are loaded from a salvaged copy",
                path.string(), damaged, header_ok ? "" : ", its header among them",
                aside.string(), scan.records.size());
            size = salvaged.size();
        } else if (scan.valid_end < bytes.size()) {
            // A torn tail: the write that was under way when the process or
            // the machine stopped. It was never acknowledged.
            const auto cut = bytes.size() - scan.valid_end;
            fs::resize_file(path, scan.valid_end);
            const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd >= 0) {
                if (settings_.sync) ::fdatasync(fd);
                ::close(fd);
            }
            recovery_.torn_tails += 1;
            recovery_.torn_bytes_cut += cut;
            spdlog::warn("spool: cut a torn record tail of {} bytes off segment {}", cut,
                         path.string());
            size = scan.valid_end;
        }
        if (!scan.records.empty()) recovery_.segments += 1;
        recovery_.records += scan.records.size();
        segment_sizes_[segment] = size;
        bytes_ += size;
    }

    // Loading resumes at the persisted position, or at the oldest segment
    // when there is none (a first start, or an unreadable position file).
    if (segment_sizes_.empty()) {
        position = {last_segment + 1, kSegmentHeaderBytes};
    } else if (position.segment < segment_sizes_.begin()->first) {
        position = {segment_sizes_.begin()->first, kSegmentHeaderBytes};
    }
    position.offset = std::max<std::uint64_t>(position.offset, kSegmentHeaderBytes);
    unloaded_records_ = recovery_.records;
    committed_ = position;
    read_ = position;
    // New records go to a fresh segment, never after an old tail.
    open_new_segment(last_segment + 1);
    persist_position(position);
    persisted_ = position;
    free_disk_cache_ = free_disk();
    quarantined_ = count_quarantined();
    if (recovery_.records > 0)
        spdlog::info("spool: {} unloaded records in {} segments will be loaded", recovery_.records,
                     recovery_.segments);
}

void Spool::open_new_segment(std::uint64_t segment) {
    const auto path = segment_path(segment);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) throw system_failure("cannot create spool segment " + path.string());
    const auto header = segment_header(segment);
    if (!write_fully(fd, header.data(), header.size()) ||
        (settings_.sync && ::fdatasync(fd) != 0)) {
        ::close(fd);
        throw system_failure("cannot write spool segment " + path.string());
    }
    // The new file's name must be durable before any record in it is.
    sync_dir();
    if (active_fd_ >= 0) ::close(active_fd_);
    active_fd_ = fd;
    active_segment_ = segment;
    active_size_ = header.size();
    std::lock_guard lock(mutex_);
    segment_sizes_[segment] = header.size();
    bytes_ += header.size();
    durable_end_ = {segment, header.size()};
}

bool Spool::write_fully(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const auto n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
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
        // One write per segment touched and one sync: every request that
        // arrived while the previous sync ran shares this one.
        std::error_code failure;
        std::size_t offset = 0;
        std::size_t start = 0;
        std::size_t published = 0;  // records of this group already counted
        if (already_failed) {
            // Queued before an earlier group failed: never written after it.
            failure = errc::write_failed;
        } else try {
            for (std::size_t i = 0; i < group.size(); ++i) {
                const auto bytes = group[i].framed_bytes;
                if (active_size_ + bytes > settings_.segment_bytes &&
                    active_size_ > kSegmentHeaderBytes) {
                    if (!write_fully(active_fd_, buffer.data() + start, offset - start) ||
                        (settings_.sync && ::fdatasync(active_fd_) != 0))
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
            if (!write_fully(active_fd_, buffer.data() + start, offset - start))
                throw system_failure("cannot write spool segment " +
                                     segment_path(active_segment_).string());
            if (settings_.sync && ::fdatasync(active_fd_) != 0)
                throw system_failure("cannot sync spool segment " +
                                     segment_path(active_segment_).string());
        } catch (const std::exception& error) {
            spdlog::critical("spool: {}; refusing new events until restarted", error.what());
            failure = errc::write_failed;
        }
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
    if (active_fd_ >= 0) {
        if (settings_.sync) ::fdatasync(active_fd_);
        ::close(active_fd_);
        active_fd_ = -1;
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
    std::size_t got = 0;
    while (got < want) {
        const auto n = ::pread(read_fd_, read_buffer_.data() + got, want - got,
                               static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
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
    std::size_t got = 0;
    while (got < rest.size()) {
        const auto n = ::pread(read_fd_, rest.data() + got, rest.size() - got,
                               static_cast<off_t>(read_.offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    rest.resize(got);
    const auto scan = scan_records(rest, 0);
    if (!scan.records.empty() && scan.records.front().offset == 0) {
        // Read again, the record is intact: the first read failed, not the
        // bytes. Try once more shortly.
        spdlog::warn("spool: reading offset {} of segment {} failed once; retrying",
                     read_.offset, path.string());
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

std::optional<Spool::Record> Spool::next(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        std::uint64_t end = 0;
        {
            std::unique_lock lock(mutex_);
            // Once interrupted, nothing waits any more, but what is there
            // is still returned: that is how the loader drains at stop.
            for (;;) {
                const auto it = segment_sizes_.find(read_.segment);
                if (it == segment_sizes_.end()) {
                    // The segment is gone (deleted or moved aside): go on
                    // with the next one there is.
                    const auto later = segment_sizes_.upper_bound(read_.segment);
                    if (later == segment_sizes_.end()) {
                        if (interrupted_ || !wake_reader_.wait_until(lock, deadline, [&] {
                                return interrupted_ || segment_sizes_.upper_bound(read_.segment) !=
                                                           segment_sizes_.end();
                            }))
                            return std::nullopt;
                        continue;
                    }
                    read_ = {later->first, kSegmentHeaderBytes};
                    continue;
                }
                end = read_.segment == durable_end_.segment ? durable_end_.offset : it->second;
                if (read_.offset < end) break;
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
        if (read_fd_ < 0 || read_fd_segment_ != read_.segment) {
            if (read_fd_ >= 0) ::close(read_fd_);
            read_fd_ = ::open(segment_path(read_.segment).c_str(), O_RDONLY | O_CLOEXEC);
            read_fd_segment_ = read_.segment;
            read_buffer_.clear();
            if (read_fd_ < 0)
                throw system_failure("cannot open spool segment " +
                                     segment_path(read_.segment).string());
        }
        // The header says how long the record is; then make sure all of it
        // is in the buffer and check it.
        std::size_t size = 0;
        auto check = RecordCheck::invalid;
        if (read_into(read_.offset, kRecordHeaderBytes, end)) {
            const auto* header = read_buffer_.data() + (read_.offset - read_buffer_offset_);
            std::uint64_t length = 0;
            for (int i = 7; i >= 4; --i)
                length = (length << 8) | static_cast<unsigned char>(header[i]);
            if (length <= kMaxPayloadBytes &&
                read_into(read_.offset, kRecordHeaderBytes + length, end))
                check = check_record(read_buffer_, read_.offset - read_buffer_offset_, size);
        }
        if (check != RecordCheck::ok) {
            skip_damage(end);
            continue;
        }
        const std::string_view view(read_buffer_);
        Record record;
        record.position = read_;
        record.payload =
            std::string(record_payload(view, read_.offset - read_buffer_offset_, size));
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
            spdlog::error("spool: cannot record the position {}:{}: {}", next.segment,
                          next.offset, error.what());
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
        if (read_fd_ >= 0 && read_fd_segment_ == segment) {
            // Read to its end already: hold no deleted file open.
            ::close(read_fd_);
            read_fd_ = -1;
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

std::filesystem::path Spool::quarantine_path() const {
    return settings_.dir / "quarantine" / "records.fhq";
}

void Spool::quarantine(const Record& record) {
    const auto path = quarantine_path();
    if (!fs::exists(path.parent_path())) {
        fs::create_directories(path.parent_path());
        sync_dir();
    }
    const bool created = !fs::exists(path);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) throw system_failure("cannot open " + path.string());
    std::string framed;
    append_record(framed, record.payload);
    const bool ok = write_fully(fd, framed.data(), framed.size()) && ::fdatasync(fd) == 0;
    ::close(fd);
    if (!ok) throw system_failure("cannot write " + path.string());
    if (created) {
        const int folder = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (folder >= 0) {
            ::fsync(folder);
            ::close(folder);
        }
    }
    std::lock_guard lock(mutex_);
    ++quarantined_;
}

std::uint64_t Spool::count_quarantined() const {
    const auto path = quarantine_path();
    if (!fs::exists(path)) return 0;
    return scan_records(read_whole(path), 0).records.size();
}

std::uint64_t Spool::requeue_quarantined() {
    const auto path = quarantine_path();
    if (!fs::exists(path)) return 0;
    const auto bytes = read_whole(path);
    const auto scan = scan_records(bytes, 0);
    if (scan.records.empty()) return 0;
    std::mutex done_mutex;
    std::condition_variable done_signal;
    std::size_t done = 0;
    std::error_code first_failure;
    std::size_t queued = 0;
    for (const auto& extent : scan.records) {
        const std::string payload(record_payload(bytes, extent.offset, extent.size));
        const auto refused = append(payload, [&](std::error_code result) {
            std::lock_guard lock(done_mutex);
            if (result && !first_failure) first_failure = result;
            ++done;
            done_signal.notify_all();
        });
        if (refused) {
            first_failure = refused;
            break;
        }
        ++queued;
    }
    {
        std::unique_lock lock(done_mutex);
        done_signal.wait(lock, [&] { return done == queued; });
    }
    if (first_failure)
        throw std::runtime_error("cannot requeue the quarantined records into the spool (" +
                                 first_failure.message() + "); " + path.string() +
                                 " is left as it was");
    // Every record is durable in the spool again: keep the old file under
    // another name rather than deleting it.
    auto done_path = fs::path(path.string() + ".requeued");
    for (int i = 1; fs::exists(done_path); ++i)
        done_path = fs::path(path.string() + ".requeued." + std::to_string(i));
    fs::rename(path, done_path);
    {
        std::lock_guard lock(mutex_);
        quarantined_ = 0;
    }
    return queued;
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
