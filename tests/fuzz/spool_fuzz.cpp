// Fuzz target: any bytes as the content of a spool segment after its header,
// and as a position file. The pure reader (scan_records, decode_request) and
// the start-up recovery of a real Spool on a temp folder must never crash,
// never read out of bounds, and agree with each other. Built with libFuzzer
// (scripts/fuzz) and as a plain program replaying the seed corpus (ctest).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

#include "funnelhouse/spool/format.hpp"
#include "funnelhouse/spool/spool.hpp"

namespace {

using namespace funnelhouse;
namespace fs = std::filesystem;

using fuzz::require;

void check_scan(std::string_view bytes) {
    const auto scan = spool::scan_records(bytes, 0);
    require(scan.valid_end <= bytes.size(), "valid_end is inside the bytes");
    std::size_t previous_end = 0;
    for (const auto& record : scan.records) {
        require(record.offset >= previous_end, "records do not overlap");
        require(record.offset + record.size <= bytes.size(), "records are inside the bytes");
        std::size_t size = 0;
        require(spool::check_record(bytes, record.offset, size) == spool::RecordCheck::ok &&
                    size == record.size,
                "every record found checks out");
        previous_end = record.offset + record.size;
        const auto payload = spool::record_payload(bytes, record.offset, record.size);
        if (const auto request = spool::decode_request(payload))
            require(spool::encode_request(*request) == payload,
                    "a decoded request encodes to the same bytes");
    }
    require(scan.records.empty() || scan.valid_end == previous_end,
            "valid_end is the end of the last record");
    for (const auto& range : scan.damaged)
        require(range.offset + range.bytes <= bytes.size() && range.bytes > 0,
                "damaged ranges are inside the bytes");
    // Framing what was found again gives exactly the intact records.
    std::string reframed;
    for (const auto& record : scan.records)
        spool::append_record(reframed, spool::record_payload(bytes, record.offset, record.size));
    require(spool::scan_records(reframed, 0).records.size() == scan.records.size(),
            "intact records survive a copy");
}

void check_recovery(std::string_view bytes) {
    static const fs::path dir =
        fs::temp_directory_path() / ("funnelhouse-spool-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    {
        std::ofstream out(dir / "00000000000000000001.seg", std::ios::binary);
        out << spool::segment_header(1) << bytes;
    }
    const auto expected = spool::scan_records(spool::segment_header(1) + std::string(bytes),
                                              spool::kSegmentHeaderBytes);
    spool::SpoolSettings settings;
    settings.dir = dir;
    settings.sync = false;
    settings.min_free_bytes = 0;
    {
        spool::Spool spool(settings);
        std::size_t read = 0;
        while (const auto record = spool.next(std::chrono::steady_clock::now())) {
            require(read < expected.records.size(), "recovery finds no record the scan missed");
            ++read;
        }
        require(read == expected.records.size(), "recovery keeps every intact record");
        require(spool.status().recovery.records == expected.records.size(),
                "the recovery report counts them");
    }
    fs::remove_all(dir);
}

void check(std::string_view bytes) {
    // Recovery reports what it repairs; thousands of runs need not say so.
    static const bool quiet = [] {
        spdlog::set_level(spdlog::level::off);
        return true;
    }();
    (void)quiet;
    check_scan(bytes);
    if (const auto position = spool::decode_position(bytes))
        require(spool::encode_position(*position) == bytes, "positions round-trip");
    check_recovery(bytes);
}

}  // namespace

FUNNELHOUSE_FUZZ_TARGET(check)
