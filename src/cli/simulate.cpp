// `funnelhouse simulate`: posts a synthetic shop (simulate/shop.hpp) to a
// running server over HTTP, as the site's JavaScript and the shop's backend
// would, each with its own write key.
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <ostream>
#include <thread>

#include "funnelhouse/cli/commands.hpp"
#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/ingest/write_keys.hpp"
#include "funnelhouse/simulate/shop.hpp"

namespace funnelhouse::cli {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

struct Target {
    std::string host;
    std::string port;
};

Target parse_url(const std::string& url) {
    auto rest = url.substr(7);  // after http://
    if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) return {rest, "80"};
    return {rest.substr(0, colon), rest.substr(colon + 1)};
}

const ingest::WriteKey& key_of(const ingest::WriteKeyRing& keys, common::Source source,
                               const std::string& file) {
    for (const auto& key : keys.keys())
        if (key.source == source) return key;
    throw std::invalid_argument("the keys file " + file + " has no " +
                                std::string(common::to_string(source)) +
                                " key: simulate sends with one of each");
}

// One keep-alive connection, reopened when the server closes it.
class Poster {
  public:
    explicit Poster(Target target) : target_(std::move(target)) {}

    bhttp::response<bhttp::string_body> post(const std::string& body,
                                             const ingest::WriteKey& key) {
        bhttp::request<bhttp::string_body> request{bhttp::verb::post, "/v1/batch", 11};
        request.set(bhttp::field::host, target_.host);
        request.set(bhttp::field::content_type, "application/json");
        request.set(bhttp::field::authorization, "Basic " + common::base64_encode(key.key + ":"));
        for (const auto& origin : key.origins)
            if (origin != "*") {
                request.set(bhttp::field::origin, origin);
                break;
            }
        request.keep_alive(true);
        request.body() = body;
        request.prepare_payload();
        for (int attempt = 0;; ++attempt) {
            try {
                if (!stream_) {
                    stream_ = std::make_unique<beast::tcp_stream>(io_);
                    tcp::resolver resolver(io_);
                    stream_->expires_after(std::chrono::seconds(30));
                    stream_->connect(resolver.resolve(target_.host, target_.port));
                }
                stream_->expires_after(std::chrono::seconds(60));
                bhttp::write(*stream_, request);
                bhttp::response<bhttp::string_body> response;
                bhttp::read(*stream_, buffer_, response);
                if (!response.keep_alive()) stream_.reset();
                return response;
            } catch (const boost::system::system_error& error) {
                stream_.reset();
                // A keep-alive connection the server closed meanwhile: once more.
                if (attempt >= 1)
                    throw std::runtime_error("cannot reach http://" + target_.host + ":" +
                                             target_.port + ": " + error.code().message());
            }
        }
    }

  private:
    Target target_;
    net::io_context io_;
    std::unique_ptr<beast::tcp_stream> stream_;
    beast::flat_buffer buffer_;
};

}  // namespace

int run_simulate(const config::Config& config, std::ostream& out) {
    if (config.keys_file.empty())
        throw std::invalid_argument(
            "FUNNELHOUSE_KEYS_FILE (or --keys-file) is required: simulate sends with its keys");
    const auto keys = ingest::WriteKeyRing::load(config.keys_file);
    const auto& browser = key_of(keys, common::Source::browser, config.keys_file.string());
    const auto& server = key_of(keys, common::Source::server, config.keys_file.string());

    simulate::ShopSettings settings;
    settings.persons = config.simulate_persons;
    settings.days = static_cast<int>(config.simulate_days);
    settings.seed = config.simulate_seed;
    settings.end = std::chrono::floor<std::chrono::seconds>(common::now());
    if (config.simulate_defects > 0)
        settings.defects =
            simulate::all_defects(settings, static_cast<int>(config.simulate_defects));
    const auto messages = simulate::generate_shop(settings);
    const auto batches = simulate::batch_messages(messages, 200);

    const auto started = std::chrono::steady_clock::now();
    Poster poster(parse_url(config.simulate_url));
    std::size_t browser_messages = 0;
    std::size_t server_messages = 0;
    for (const auto& batch : batches) {
        const auto& key = batch.sender == common::Source::browser ? browser : server;
        for (int attempt = 0;; ++attempt) {
            const auto response = poster.post(batch.body, key);
            if (response.result_int() == 200) break;
            // Full spool or database away: wait as told, a bounded number of times.
            if (response.result_int() == 503 && attempt < 60) {
                const auto retry = response[bhttp::field::retry_after];
                const int wait = retry.empty() ? 1 : std::max(1, std::atoi(std::string(retry).c_str()));
                std::this_thread::sleep_for(std::chrono::seconds(std::min(wait, 30)));
                continue;
            }
            throw std::runtime_error("the server answered " +
                                     std::to_string(response.result_int()) + ": " +
                                     response.body().substr(0, 500));
        }
        (batch.sender == common::Source::browser ? browser_messages : server_messages) +=
            batch.messages;
    }
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    out << "posted " << messages.size() << " messages (" << browser_messages << " browser, "
        << server_messages << " server) of " << settings.persons << " persons over "
        << settings.days << " days in " << batches.size() << " requests to "
        << config.simulate_url << " in " << took.count() << " s\n";
    return 0;
}

}  // namespace funnelhouse::cli
