#include "funnelhouse/loader/error.hpp"

#include <string>

namespace funnelhouse::loader {
namespace {

class LoaderCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "funnelhouse.loader"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::shutting_down:
                return "server is shutting down";
            case errc::database_unavailable:
                return "database unavailable";
            case errc::load_failed:
                return "events could not be stored";
        }
        return "unknown loader error";
    }
};

}  // namespace

const std::error_category& loader_category() noexcept {
    static const LoaderCategory category;
    return category;
}

}  // namespace funnelhouse::loader
