#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace funnelhouse::common {

// A list of IP networks ("10.0.0.0/8", "2001:db8::/32") and single
// addresses ("192.0.2.7"), such as the proxies whose forwarding header is
// believed. Parsing and matching are pure: tested without sockets.
class Networks {
  public:
    // A comma-separated list; blanks around entries are ignored, "" is the
    // empty list. Throws std::invalid_argument naming the first entry that
    // is not an address or a network (host bits set count as a mistake).
    static Networks parse(std::string_view list);

    // Whether `address` (IPv4 or IPv6 text; an IPv4-mapped IPv6 address
    // counts as its IPv4 address) is in one of the networks.
    bool contains(std::string_view address) const;
    bool empty() const { return networks_.empty(); }
    std::size_t size() const { return networks_.size(); }

  private:
    struct Network {
        bool v6 = false;
        std::array<unsigned char, 16> bytes{};
        unsigned prefix = 0;
    };
    std::vector<Network> networks_;
};

}  // namespace funnelhouse::common
