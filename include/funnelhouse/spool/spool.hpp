#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "funnelhouse/spool/file.hpp"
#include "funnelhouse/spool/format.hpp"

namespace funnelhouse::spool {

struct SpoolSettings {
    std::filesystem::path dir;
    // Sync (fdatasync) every group of appends before reporting it durable.
    // Off only when acknowledgements wait for PostgreSQL anyway.
    bool sync = true;
    std::uint64_t max_bytes = 1024ull * 1024 * 1024;
    std::uint64_t min_free_bytes = 256ull * 1024 * 1024;
    std::uint64_t segment_bytes = 16ull * 1024 * 1024;
};

// What start-up found and repaired. Nothing here is ever deleted: damaged
// segments are moved to `corrupt/` in the spool folder.
struct RecoveryReport {
    std::size_t segments = 0;          // segments that held unloaded records
    std::uint64_t records = 0;         // unloaded records found intact
    std::uint64_t torn_bytes_cut = 0;  // bytes of torn tails cut off
    std::size_t torn_tails = 0;
    std::uint64_t damaged_bytes = 0;  // bytes in damaged stretches skipped
    std::vector<std::filesystem::path> moved_aside;
    bool position_unreadable = false;  // replayed from the oldest segment
};

struct SpoolStatus {
    std::uint64_t bytes = 0;  // on disk, loaded or not
    std::size_t segments = 0;
    std::uint64_t unloaded_records = 0;
    std::uint64_t unloaded_bytes = 0;
    std::uint64_t max_bytes = 0;
    std::uint64_t free_disk_bytes = 0;
    std::uint64_t min_free_bytes = 0;
    std::error_code refusing;  // why appends are refused right now, if they are
    std::uint64_t quarantined_records = 0;
    std::uint64_t damaged_at_runtime = 0;  // damaged stretches met while loading
    RecoveryReport recovery;
};

// The write-ahead spool: append-only segment files of checksummed records in
// one folder, owned by one process (a lock file says so).
//
// Writers (io threads) call append(); one writer thread groups whatever was
// appended meanwhile into one write and one sync, then reports every record
// of the group durable. One reader (the loader) takes records in order with
// next() and calls commit() once they are in PostgreSQL; the position is
// persisted and segments entirely before it are deleted. After a crash the
// constructor replays from the persisted position: loading is idempotent, so
// records committed but not yet marked are loaded again harmlessly.
class Spool {
  public:
    // Opens (creating) the folder, takes the lock, recovers, and starts the
    // writer thread. Throws when the folder cannot be used or is locked.
    explicit Spool(SpoolSettings settings);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    using Durable = std::function<void(std::error_code)>;
    // Queues one record. Returns an error (spool_full, disk_full,
    // shutting_down, write_failed, record_too_large) when it is refused, and then `on_durable`
    // is never called. Otherwise `on_durable` runs once, on the writer
    // thread, after the record is written (and synced): with an empty code,
    // or write_failed when the disk refused it. It must not block.
    std::error_code append(const std::string& payload, Durable on_durable);

    // Writes and syncs everything appended so far, then refuses appends.
    void close();

    struct Record {
        Position position;  // where the record starts
        Position next;      // where the one after it starts
        std::string payload;
    };
    // The next durable record after the last one returned, waiting until
    // `deadline` for one. Only the loader thread calls this.
    std::optional<Record> next(std::chrono::steady_clock::time_point deadline);
    // From now on next() never waits: it returns what is there, then
    // nullopt (the loader drains this way when stopping).
    void interrupt();

    // Everything before `next` is in PostgreSQL (`records` of them since the
    // last commit): persists the position and deletes finished segments.
    // Never throws: a position that cannot be written is logged and tried
    // again on the next commit, and the segments stay until it is.
    void commit(Position next, std::uint64_t records);
    // Where next() continues; committing it when nothing read is pending
    // lets fully loaded segments go.
    Position read_position() const;

    // Keeps a record the database refused for good, in `quarantine/`.
    void quarantine(const Record& record);
    // Appends every quarantined record to the spool again (durably), then
    // renames the quarantine file to `records.fhq.requeued`. Returns how
    // many; throws, leaving the file, when the spool refuses one.
    std::uint64_t requeue_quarantined();

    SpoolStatus status() const;
    const std::filesystem::path& dir() const { return settings_.dir; }

  private:
    struct PendingAppend {
        std::size_t framed_bytes;
        Durable on_durable;
    };

    // Start-up recovery (src/spool/recovery.cpp), in steps.
    void recover();
    Position stored_position();
    void recover_segment(std::uint64_t segment, const std::filesystem::path& path,
                         Position& position);
    std::uint64_t salvage_segment(std::uint64_t segment, const std::filesystem::path& path,
                                  const std::string& bytes, const ScanResult& scan,
                                  bool header_ok, Position& position);
    void cut_torn_tail(const std::filesystem::path& path, std::uint64_t size,
                       std::uint64_t valid_end);
    std::filesystem::path quarantine_path() const;
    std::uint64_t count_quarantined() const;
    void open_new_segment(std::uint64_t segment);
    void write_loop();
    std::error_code write_group(const std::string& buffer, const std::vector<PendingAppend>& group,
                                std::size_t& published);
    void persist_position(Position position);
    void sync_dir();
    std::uint64_t free_disk() const;
    std::error_code refusal(std::uint64_t extra) const;  // mutex_ held
    bool read_into(std::uint64_t offset, std::size_t need, std::uint64_t end);
    void skip_damage(std::uint64_t end);
    std::optional<std::uint64_t> wait_for_record(std::chrono::steady_clock::time_point deadline);
    bool record_at(std::uint64_t end, std::size_t& size);
    std::filesystem::path segment_path(std::uint64_t segment) const;
    std::filesystem::path aside_path(const std::string& name) const;

    SpoolSettings settings_;
    FileDescriptor lock_fd_;
    FileDescriptor dir_fd_;
    RecoveryReport recovery_;

    mutable std::mutex mutex_;
    std::condition_variable wake_writer_;
    std::condition_variable wake_reader_;
    std::string pending_bytes_buffer_;  // framed records waiting for the writer
    std::vector<PendingAppend> pending_;
    bool closing_ = false;
    bool failed_ = false;
    bool interrupted_ = false;
    std::map<std::uint64_t, std::uint64_t> segment_sizes_;  // durable bytes per segment
    std::uint64_t bytes_ = 0;                               // sum of segment_sizes_
    std::uint64_t unloaded_records_ = 0;
    mutable std::uint64_t free_disk_cache_ = 0;
    Position durable_end_;  // the end of the active segment's durable bytes
    Position committed_;
    std::uint64_t last_refused_bytes_ = 0;  // size of the last refused record, 0 after a success
    std::uint64_t quarantined_ = 0;
    std::uint64_t damaged_at_runtime_ = 0;

    // Writer thread only.
    FileDescriptor active_fd_;
    std::uint64_t active_segment_ = 0;
    std::uint64_t active_size_ = 0;
    std::thread writer_;

    // Reader (loader thread) only.
    Position read_;
    Position persisted_;  // what the position file says
    FileDescriptor read_fd_;
    std::uint64_t read_fd_segment_ = 0;
    std::string read_buffer_;
    std::uint64_t read_buffer_offset_ = 0;
    std::optional<std::uint64_t> linked_aside_segment_;  // damaged segment already kept
};

}  // namespace funnelhouse::spool
