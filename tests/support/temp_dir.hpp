#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace funnelhouse::test {

// A fresh folder under the system temp dir, removed with its contents.
class TempDir {
  public:
    TempDir() {
        std::random_device device;
        path_ = std::filesystem::temp_directory_path() /
                ("funnelhouse-test-" + std::to_string(device()) + std::to_string(device()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    std::filesystem::path write(const std::string& relative, const std::string& content) const {
        const auto file = path_ / relative;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << content;
        return file;
    }

  private:
    std::filesystem::path path_;
};

inline std::filesystem::path source_dir() { return FUNNELHOUSE_SOURCE_DIR; }

// A minimal contract file for tests: `schema` is the draft-07 object schema.
inline std::string contract_text(const std::string& name, const std::string& version,
                                 const std::string& schema,
                                 const std::string& sources = R"(["browser","server"])") {
    return R"({"self":{"name":")" + name + R"(","version":")" + version +
           R"("},"meta":{"description":"test","owner":"tests","value_class":"P2",)"
           R"("frequency":"every_time","funnel_stage":"consideration","sources":)" +
           sources + R"(,"personal_data":[]},"schema":)" + schema + "}";
}

}  // namespace funnelhouse::test
