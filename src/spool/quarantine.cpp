// The quarantine: records the loader could not load, kept aside, and put
// back into the spool on request.
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
    {
        const auto file = open_file(path, O_WRONLY | O_CREAT | O_APPEND);
        if (!file) throw system_failure("cannot open " + path.string());
        std::string framed;
        append_record(framed, record.payload);
        if (!write_all(file.get(), framed) || ::fdatasync(file.get()) != 0)
            throw system_failure("cannot write " + path.string());
    }
    if (created) {
        if (const auto folder = open_file(path.parent_path(), O_RDONLY | O_DIRECTORY))
            ::fsync(folder.get());
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

}  // namespace funnelhouse::spool
