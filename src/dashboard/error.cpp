#include "funnelhouse/dashboard/error.hpp"

#include <string>

namespace funnelhouse::dashboard {
namespace {

class DashboardCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "funnelhouse.dashboard"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_filter:
                return "invalid filter";
            case errc::busy:
                return "dashboard busy";
            case errc::database_unavailable:
                return "database unavailable";
            case errc::timed_out:
                return "query timed out";
            case errc::query_failed:
                return "query failed";
            case errc::page_missing:
                return "dashboard page not built";
            case errc::token_needed:
                return "admin token needed";
        }
        return "unknown dashboard error";
    }
};

}  // namespace

const std::error_category& dashboard_category() noexcept {
    static const DashboardCategory category;
    return category;
}

}  // namespace funnelhouse::dashboard
