// Start-up recovery: what the last run left in the spool folder, made
// loadable (torn tails cut, damaged segments salvaged and kept aside).
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <stdexcept>

#include "funnelhouse/spool/error.hpp"
#include "funnelhouse/spool/file.hpp"
#include "funnelhouse/spool/spool.hpp"

namespace funnelhouse::spool {

namespace fs = std::filesystem;

namespace {

// The segment files left in the folder, by number; leftovers of an
// interrupted salvage or position write are removed.
std::map<std::uint64_t, fs::path> find_segments(const fs::path& dir) {
    std::error_code ec;
    fs::remove(dir / "position.tmp", ec);
    std::map<std::uint64_t, fs::path> found;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        const auto name = entry.path().filename().string();
        if (name.ends_with(".seg.tmp")) {
            fs::remove(entry.path(), ec);  // an unfinished salvaged copy
            continue;
        }
        if (const auto segment = parse_segment_name(name)) found[*segment] = entry.path();
    }
    return found;
}

}  // namespace

Position Spool::stored_position() {
    const auto path = settings_.dir / "position";
    if (!fs::exists(path)) return {};
    if (const auto stored = decode_position(read_whole(path))) return *stored;
    recovery_.position_unreadable = true;
    spdlog::error(
        "spool: the position file {} is unreadable; replaying every segment (loading is "
        "idempotent)",
        path.string());
    return {};
}

// Damage: keeps the segment as it is for inspection, and puts a salvaged
// copy of its intact records in its place. Returns the copy's size.
std::uint64_t Spool::salvage_segment(std::uint64_t segment, const fs::path& path,
                                     const std::string& bytes, const ScanResult& scan,
                                     bool header_ok, Position& position) {
    std::uint64_t damaged = header_ok ? 0 : std::min(bytes.size(), kSegmentHeaderBytes);
    for (const auto& range : scan.damaged) damaged += range.bytes;
    damaged += bytes.size() - scan.valid_end;
    std::string salvaged = segment_header(segment);
    for (const auto& record : scan.records) salvaged.append(bytes, record.offset, record.size);
    // The copy has other offsets: the position must stop pointing into the
    // old layout before the copy replaces it. A crash in between replays
    // the segment from its start (loading is idempotent).
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
        "spool: segment {} is damaged ({} bytes{}); moved to {}, its {} intact records are "
        "loaded from a salvaged copy",
        path.string(), damaged, header_ok ? "" : ", its header among them", aside.string(),
        scan.records.size());
    return salvaged.size();
}

// A torn tail: the write that was under way when the process or the
// machine stopped. It was never acknowledged.
void Spool::cut_torn_tail(const fs::path& path, std::uint64_t size, std::uint64_t valid_end) {
    fs::resize_file(path, valid_end);
    const auto file = open_file(path, O_WRONLY);
    if (file && settings_.sync) ::fdatasync(file.get());
    recovery_.torn_tails += 1;
    recovery_.torn_bytes_cut += size - valid_end;
    spdlog::warn("spool: cut a torn record tail of {} bytes off segment {}", size - valid_end,
                 path.string());
}

// One segment at or after the position, made loadable and counted.
void Spool::recover_segment(std::uint64_t segment, const fs::path& path, Position& position) {
    const auto bytes = read_whole(path);
    const auto header = parse_segment_header(bytes);
    const bool header_ok = header && *header == segment;
    if (!header_ok && bytes.size() < kSegmentHeaderBytes &&
        segment_header(segment).starts_with(bytes)) {
        // Created but its header not yet written when the process stopped:
        // it never held a record.
        fs::remove(path);
        recovery_.torn_tails += 1;
        recovery_.torn_bytes_cut += bytes.size();
        spdlog::warn("spool: removed segment {} whose header was torn ({} bytes)", path.string(),
                     bytes.size());
        return;
    }
    std::uint64_t from = kSegmentHeaderBytes;
    if (header_ok && segment == position.segment)
        from = std::max<std::uint64_t>(from, position.offset);
    const auto scan = scan_records(bytes, std::min<std::uint64_t>(from, bytes.size()));
    std::uint64_t size = bytes.size();
    if (!header_ok || !scan.damaged.empty()) {
        size = salvage_segment(segment, path, bytes, scan, header_ok, position);
    } else if (scan.valid_end < bytes.size()) {
        cut_torn_tail(path, bytes.size(), scan.valid_end);
        size = scan.valid_end;
    }
    if (!scan.records.empty()) recovery_.segments += 1;
    recovery_.records += scan.records.size();
    segment_sizes_[segment] = size;
    bytes_ += size;
}

void Spool::recover() {
    auto position = stored_position();
    std::uint64_t last_segment = position.segment;
    for (const auto& [segment, path] : find_segments(settings_.dir)) {
        last_segment = std::max(last_segment, segment);
        if (segment < position.segment)
            fs::remove(path);  // loaded before the crash; deleting it did not happen
        else
            recover_segment(segment, path, position);
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

}  // namespace funnelhouse::spool
