// The JSON parsers a request could be parsed with, on the benchmark's own
// traffic (traffic.hpp: 50 batches of 100 events): each parses every body
// into its document and counts the batch's messages. bench/parsers runs it
// under callgrind, which counts only the parsing (the client requests
// below turn the count on and off), and prints instructions per event.
//
//   funnelhouse_parsers nlohmann|rapidjson|rapidjson-unchecked|rapidjson-insitu|simdjson
//
// "unchecked" and "insitu" leave out RapidJSON's UTF-8 check (the request
// pipeline checks UTF-8 itself); simdjson always checks it.
#include <rapidjson/document.h>
#include <simdjson.h>
#include <valgrind/callgrind.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "traffic.hpp"

namespace {

constexpr int kBodies = 50;
constexpr int kPerRequest = 100;

std::size_t parse(const std::string& parser, const std::string& body,
                  simdjson::dom::parser& simd) {
    using namespace rapidjson;
    if (parser == "nlohmann") return nlohmann::json::parse(body)["batch"].size();
    if (parser == "rapidjson" || parser == "rapidjson-unchecked") {
        Document document;
        if (parser == "rapidjson")
            document.Parse<kParseIterativeFlag | kParseValidateEncodingFlag>(body.data(),
                                                                              body.size());
        else
            document.Parse<kParseIterativeFlag>(body.data(), body.size());
        return document["batch"].Size();
    }
    if (parser == "rapidjson-insitu") {
        std::string copy = body;
        Document document;
        document.ParseInsitu<kParseIterativeFlag>(copy.data());
        return document["batch"].Size();
    }
    if (parser == "simdjson") {
        const simdjson::dom::element document = simd.parse(body);
        return simdjson::dom::array(document["batch"]).size();
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string parser = argc > 1 ? argv[1] : "";
    funnelhouse::bench::TrafficStream traffic("parsers", kPerRequest, 10);
    std::vector<std::string> bodies;
    for (int i = 0; i < kBodies; ++i) bodies.push_back(traffic.next().body);
    simdjson::dom::parser simd;
    std::size_t events = 0;
    CALLGRIND_START_INSTRUMENTATION;
    for (const auto& body : bodies) events += parse(parser, body, simd);
    CALLGRIND_STOP_INSTRUMENTATION;
    if (events != static_cast<std::size_t>(kBodies * kPerRequest)) {
        std::fprintf(stderr, "usage: funnelhouse_parsers nlohmann|rapidjson|rapidjson-unchecked|"
                             "rapidjson-insitu|simdjson\n");
        return 2;
    }
    std::printf("%zu events\n", events);
    return 0;
}
