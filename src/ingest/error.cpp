#include "funnelhouse/ingest/error.hpp"

#include <string>

namespace funnelhouse::ingest {
namespace {

class IngestCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "funnelhouse.ingest"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::malformed_json:
                return "body is not valid JSON";
            case errc::wrong_shape:
                return "body does not have the expected shape";
            case errc::request_too_large:
                return "request body too large";
            case errc::event_too_large:
                return "event too large";
            case errc::unsupported_encoding:
                return "unsupported content encoding";
            case errc::origin_not_allowed:
                return "origin not allowed";
            case errc::missing_write_key:
                return "missing write key";
            case errc::unknown_write_key:
                return "unknown write key";
            case errc::not_found:
                return "no such route";
            case errc::nesting_too_deep:
                return "JSON nested too deeply";
        }
        return "unknown ingest error";
    }
};

}  // namespace

const std::error_category& ingest_category() noexcept {
    static const IngestCategory category;
    return category;
}

}  // namespace funnelhouse::ingest
