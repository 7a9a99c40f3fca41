#include "funnelhouse/common/networks.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <optional>
#include <stdexcept>

#include "funnelhouse/common/text.hpp"

namespace funnelhouse::common {
namespace {

namespace ip = boost::asio::ip;

// The address, with an IPv4-mapped IPv6 address as its IPv4 address.
std::optional<ip::address> parse_address(std::string_view text) {
    boost::system::error_code ec;
    auto address = ip::make_address(std::string{text}, ec);
    if (ec) return std::nullopt;
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return ip::make_address_v4(ip::v4_mapped, address.to_v6());
    return address;
}

}  // namespace

Networks Networks::parse(std::string_view list) {
    Networks parsed;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto entry = trim(std::string{list.substr(0, comma)});
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (entry.empty()) continue;
        const auto fail = [&entry](const std::string& why) {
            throw std::invalid_argument("'" + entry.substr(0, 60) + "' " + why);
        };
        Network network;
        boost::system::error_code ec;
        if (entry.find('/') == std::string::npos) {
            const auto address = parse_address(entry);
            if (!address) fail("is not an IP address or network such as 10.0.0.0/8");
            network.v6 = address->is_v6();
            network.prefix = network.v6 ? 128 : 32;
            if (network.v6)
                network.bytes = address->to_v6().to_bytes();
            else
                std::copy_n(address->to_v4().to_bytes().begin(), 4, network.bytes.begin());
        } else if (entry.find(':') == std::string::npos) {
            const auto v4 = ip::make_network_v4(entry, ec);
            if (ec) fail("is not an IPv4 network such as 10.0.0.0/8");
            if (v4 != v4.canonical())
                fail("has bits set past its prefix: write " + v4.canonical().to_string());
            network.prefix = v4.prefix_length();
            std::copy_n(v4.address().to_bytes().begin(), 4, network.bytes.begin());
        } else {
            const auto v6 = ip::make_network_v6(entry, ec);
            if (ec) fail("is not an IPv6 network such as 2001:db8::/32");
            if (v6 != v6.canonical())
                fail("has bits set past its prefix: write " + v6.canonical().to_string());
            network.v6 = true;
            network.prefix = v6.prefix_length();
            network.bytes = v6.address().to_bytes();
        }
        parsed.networks_.push_back(network);
    }
    return parsed;
}

bool Networks::contains(std::string_view text) const {
    if (networks_.empty()) return false;
    const auto address = parse_address(text);
    if (!address) return false;
    for (const auto& network : networks_) {
        if (network.v6 != address->is_v6()) continue;
        if (network.v6) {
            const ip::network_v6 mine(address->to_v6(), network.prefix);
            if (mine.canonical().address().to_bytes() == network.bytes) return true;
        } else {
            const ip::network_v4 mine(address->to_v4(), network.prefix);
            const auto bytes = mine.canonical().address().to_bytes();
            if (std::equal(bytes.begin(), bytes.end(), network.bytes.begin())) return true;
        }
    }
    return false;
}

}  // namespace funnelhouse::common
