#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

// The spool's file access, in one place: one owner of a file descriptor,
// whole writes and reads that ride out interruptions, and the names of
// segment files.
namespace funnelhouse::spool {

// An open file descriptor, closed when its owner goes; moved, never copied.
class FileDescriptor {
  public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() { reset(); }
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    FileDescriptor& operator=(FileDescriptor&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset();

  private:
    int fd_ = -1;
};

// open(2); an empty descriptor when it fails (errno says why).
FileDescriptor open_file(const std::filesystem::path& path, int flags, mode_t mode = 0640);

// All of `bytes`, retrying after interruptions; false on an error (errno).
bool write_all(int fd, std::string_view bytes);

// Up to `size` bytes at `offset`, retrying after interruptions: how many
// were read (fewer only at the end of the file or on an error).
std::size_t read_all(int fd, char* data, std::size_t size, std::uint64_t offset);

// `what` with the text of errno.
std::runtime_error system_failure(const std::string& what);

std::string read_whole(const std::filesystem::path& path);

// Writes `bytes` to `path` through a temporary file, synced, then renamed:
// readers see the old content or the new one, never a mix.
void replace_file(const std::filesystem::path& path, std::string_view bytes, bool sync);

// Segment files are named by their number: 00000000000000000042.seg.
std::string segment_name(std::uint64_t segment);
std::optional<std::uint64_t> parse_segment_name(const std::string& name);

}  // namespace funnelhouse::spool
