#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "funnelhouse/activation/delivery.hpp"

namespace funnelhouse::activation {

struct ClientSettings {
    std::chrono::milliseconds timeout{10'000};  // for the whole exchange
    std::filesystem::path ca_file;              // trusted besides the system's store
    // Google Ads' partial failures for 2,000 conversions run to megabytes.
    std::size_t max_answer_bytes = 16 << 20;
};

struct Post {
    std::string url;  // http:// or https://
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string content_type = "application/json";
};

// POSTs to the platforms, blocking the calling thread (a sender's, never an
// io thread). HTTPS verifies the peer against the system's certificate
// store and `ca_file`, and its name (or address) against the URL's host.
// Never throws for what happens on the wire: an Answer with status 0 and
// the error says what went wrong.
class HttpClient {
  public:
    // Throws std::runtime_error when `ca_file` cannot be read.
    explicit HttpClient(ClientSettings settings);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    Answer post(const Post& request);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace funnelhouse::activation
