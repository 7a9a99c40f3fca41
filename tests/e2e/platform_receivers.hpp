#pragma once

// The loopback stand-ins for ad platforms, webhook and chat receivers
// (tests/e2e/receivers/platforms.js) over HTTPS with the test's own
// certificate authority, for the end-to-end tests of what the server sends.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "http_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace funnelhouse::test {

using namespace std::chrono_literals;

inline const std::string kWebhookKey = "ZnVubmVsaG91c2UtdGVzdC1rZXktMDEyMzQ1Njc4OQ==";

inline void run_ok(const std::string& program, const std::vector<std::string>& args) {
    const auto result = run_program(program, args);
    ASSERT_EQ(result.exit_code, 0) << program << ": " << result.err;
}

// A certificate authority of the test's own and the receiver's certificate
// for 127.0.0.1, signed by it.
inline void make_certificates(const TempDir& dir) {
    const auto at = [&](const char* name) { return (dir.path() / name).string(); };
    dir.write("leaf.ext", "subjectAltName=IP:127.0.0.1\n");
    run_ok("openssl", {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                       "-nodes", "-subj", "/CN=funnelhouse test CA", "-days", "1", "-keyout",
                       at("ca.key"), "-out", at("ca.pem")});
    run_ok("openssl",
           {"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
            "/CN=127.0.0.1", "-keyout", at("leaf.key"), "-out", at("leaf.csr")});
    run_ok("openssl",
           {"x509", "-req", "-in", at("leaf.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"),
            "-CAcreateserial", "-days", "1", "-extfile", at("leaf.ext"), "-out", at("leaf.pem")});
}

inline unsigned short read_port(const std::filesystem::path& file) {
    for (int i = 0; i < 200; ++i) {
        std::ifstream in(file);
        unsigned short port = 0;
        if (in >> port) return port;
        std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error("the receiver did not start: no " + file.string());
}

// The stand-in platforms, and what arrived at each.
class Receivers {
  public:
    explicit Receivers(const TempDir& dir)
        : program_("node",
                   {(source_dir() / "tests/e2e/receivers/platforms.js").string(),
                    (dir.path() / "receiver.port").string(), (dir.path() / "leaf.pem").string(),
                    (dir.path() / "leaf.key").string()},
                   secrets()),
          port_(read_port(dir.path() / "receiver.port")),
          control_(read_port(dir.path() / "receiver.port.control")) {}

    static Env secrets() {
        return {{"WEBHOOK_KEY", kWebhookKey},
                {"META_TOKEN", "meta-token"},
                {"ADS_TOKEN", "ads-token"},
                {"ADS_DEVELOPER", "ads-developer"},
                {"GA4_SECRET", "ga4-secret"}};
    }

    unsigned short port() const { return port_; }

    // The next answers, in order: [{"mode": "500", "count": 2}, ...].
    void fail_next(const nlohmann::json& faults) {
        ASSERT_EQ(control_.request("POST", "/_control", faults.dump()).status, 200);
    }

    nlohmann::json arrivals() {
        return nlohmann::json::parse(control_.request("GET", "/_arrivals").body);
    }

    // Arrivals per key, for one platform.
    std::map<std::string, int> counts(const nlohmann::json& all, const std::string& platform) {
        std::map<std::string, int> out;
        for (const auto& a : all["arrivals"])
            if (a["platform"] == platform) ++out[a["key"].get<std::string>()];
        return out;
    }

  private:
    BackgroundProgram program_;
    unsigned short port_;
    HttpClient control_;
};

}  // namespace funnelhouse::test
