#include "funnelhouse/spool/error.hpp"

#include <string>

namespace funnelhouse::spool {
namespace {

class SpoolCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "funnelhouse.spool"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::spool_full:
                return "spool full";
            case errc::disk_full:
                return "disk full";
            case errc::write_failed:
                return "spool write failed";
            case errc::shutting_down:
                return "server is shutting down";
            case errc::record_too_large:
                return "request too large for one spool record";
        }
        return "unknown spool error";
    }
};

}  // namespace

const std::error_category& spool_category() noexcept {
    static const SpoolCategory category;
    return category;
}

}  // namespace funnelhouse::spool
