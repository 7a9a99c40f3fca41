// The spool's bytes (pure functions) and the spool on a real folder: order,
// durability callbacks, segments, quota, and recovery from torn and damaged
// files. No database.
#include "funnelhouse/spool/spool.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <future>

#include "funnelhouse/spool/error.hpp"
#include "funnelhouse/spool/format.hpp"
#include "sample_events.hpp"
#include "temp_dir.hpp"

using namespace funnelhouse;
namespace fs = std::filesystem;

namespace {

std::string framed(std::string_view payload) {
    std::string out;
    spool::append_record(out, payload);
    return out;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::vector<fs::path> segments_in(const fs::path& dir) {
    std::vector<fs::path> list;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".seg") list.push_back(entry.path());
    std::sort(list.begin(), list.end());
    return list;
}

spool::SpoolSettings settings_for(const fs::path& dir) {
    spool::SpoolSettings settings;
    settings.dir = dir;
    settings.min_free_bytes = 0;
    return settings;
}

// Appends and waits until the record is durable.
void append_durably(spool::Spool& spool, const std::string& payload) {
    std::promise<std::error_code> durable;
    auto future = durable.get_future();
    ASSERT_FALSE(spool.append(payload, [&](std::error_code ec) { durable.set_value(ec); }));
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    ASSERT_FALSE(future.get());
}

// Reads the first `count` records and commits them, as the loader would.
void commit_first(spool::Spool& spool, std::uint64_t count) {
    std::optional<spool::Spool::Record> last;
    for (std::uint64_t i = 0; i < count; ++i) {
        last = spool.next(std::chrono::steady_clock::now());
        ASSERT_TRUE(last);
    }
    spool.commit(last->next, count);
}

std::vector<std::string> read_all(spool::Spool& spool, bool commit = true) {
    std::vector<std::string> payloads;
    std::optional<spool::Position> last;
    while (auto record = spool.next(std::chrono::steady_clock::now())) {
        payloads.push_back(record->payload);
        last = record->next;
    }
    if (commit && last) spool.commit(*last, payloads.size());
    return payloads;
}

}  // namespace

TEST(SpoolFormat, RecordRoundTripAndChecks) {
    const auto bytes = framed("hello") + framed("") + framed(std::string(1000, 'x'));
    const auto scan = spool::scan_records(bytes, 0);
    ASSERT_EQ(scan.records.size(), 3u);
    EXPECT_TRUE(scan.damaged.empty());
    EXPECT_EQ(scan.valid_end, bytes.size());
    EXPECT_EQ(spool::record_payload(bytes, scan.records[0].offset, scan.records[0].size), "hello");
    EXPECT_EQ(spool::record_payload(bytes, scan.records[1].offset, scan.records[1].size), "");
    EXPECT_EQ(scan.records[2].size, spool::kRecordHeaderBytes + 1000);

    std::size_t size = 0;
    EXPECT_EQ(spool::check_record(bytes.substr(0, 7), 0, size), spool::RecordCheck::incomplete);
    EXPECT_EQ(spool::check_record(bytes.substr(0, 16), 0, size), spool::RecordCheck::incomplete);
    EXPECT_EQ(spool::check_record("XXXXXXXXXXXXXXXX", 0, size), spool::RecordCheck::invalid);
    auto flipped = bytes;
    flipped[14] ^= 0x01;  // a payload byte of the first record
    EXPECT_EQ(spool::check_record(flipped, 0, size), spool::RecordCheck::invalid);
    auto longer = bytes;
    longer[4] = 6;  // the length field: the checksum covers it too
    EXPECT_EQ(spool::check_record(longer, 0, size), spool::RecordCheck::invalid);
}

TEST(SpoolFormat, TornTailIsEverythingAfterTheLastIntactRecord) {
    const auto good = framed("one") + framed("two");
    const auto third = framed("three, cut short");
    for (std::size_t keep = 1; keep < third.size(); ++keep) {
        const auto bytes = good + third.substr(0, keep);
        const auto scan = spool::scan_records(bytes, 0);
        EXPECT_EQ(scan.records.size(), 2u) << keep;
        EXPECT_TRUE(scan.damaged.empty()) << keep;
        EXPECT_EQ(scan.valid_end, good.size()) << keep;
    }
    // A tail of zeros (pages allocated but never written) is torn too.
    const auto zeros = spool::scan_records(good + std::string(4096, '\0'), 0);
    EXPECT_EQ(zeros.valid_end, good.size());
    EXPECT_TRUE(zeros.damaged.empty());
}

TEST(SpoolFormat, DamageInTheMiddleIsSkippedToTheNextIntactRecord) {
    const auto a = framed("alpha"), b = framed("bravo"), c = framed("charlie");
    auto bytes = a + b + c;
    bytes[a.size() + spool::kRecordHeaderBytes + 2] ^= 0x40;  // inside bravo's payload
    const auto scan = spool::scan_records(bytes, 0);
    ASSERT_EQ(scan.records.size(), 2u);
    EXPECT_EQ(spool::record_payload(bytes, scan.records[1].offset, scan.records[1].size),
              "charlie");
    ASSERT_EQ(scan.damaged.size(), 1u);
    EXPECT_EQ(scan.damaged[0].offset, a.size());
    EXPECT_EQ(scan.damaged[0].bytes, b.size());
    EXPECT_EQ(scan.valid_end, bytes.size());
}

TEST(SpoolFormat, ALengthPointingPastTheEndIsDamageWhenIntactRecordsFollow) {
    const auto a = framed("alpha"), b = framed("bravo"), c = framed("charlie");
    auto bytes = a + b + c;
    bytes[a.size() + 7] = 0x7f;  // bravo claims ~2 GiB
    const auto scan = spool::scan_records(bytes, 0);
    ASSERT_EQ(scan.records.size(), 2u);
    ASSERT_EQ(scan.damaged.size(), 1u);
    EXPECT_EQ(scan.damaged[0].bytes, b.size());
}

TEST(SpoolFormat, SpooledRequestRoundTripKeepsEveryField) {
    spool::SpooledRequest request;
    request.ticket = 0xfedcba9876543210ull;
    request.spooled_at = *common::parse_timestamp("2024-05-01T12:00:00.123456Z");
    auto event = test::sample_event("e-1");
    event.group_id = "g-1";
    event.previous_id = "old";
    event.original_timestamp = *common::parse_timestamp("2024-05-01T11:00:00Z");
    event.sent_at.reset();
    event.source = common::Source::server;
    request.events.push_back(event);
    request.events.push_back(test::sample_event("e-2"));
    common::BadEvent bad;
    bad.bad_event_id = "b-1";
    bad.event_name = "add_to_cart";
    bad.raw_event = std::string("{\"x\":\"\xff\"}") + std::string(1, '\0');
    bad.errors = R"([{"path":"/x","message":"m"}])";
    bad.reason = "schema_violation";
    bad.route = "/v1/batch";
    bad.write_key_name = "web";
    bad.received_at = request.spooled_at;
    bad.batch_sent_at = request.spooled_at;
    request.bad_events.push_back(bad);

    const auto decoded = spool::decode_request(spool::encode_request(request));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->ticket, request.ticket);
    EXPECT_EQ(decoded->spooled_at, request.spooled_at);
    ASSERT_EQ(decoded->events.size(), 2u);
    const auto& e = decoded->events[0];
    EXPECT_EQ(e.event_id, "e-1");
    EXPECT_EQ(e.event_name, event.event_name);
    EXPECT_EQ(e.event_type, event.event_type);
    EXPECT_EQ(e.schema_version, event.schema_version);
    EXPECT_EQ(e.anonymous_id, event.anonymous_id);
    EXPECT_EQ(e.user_id, event.user_id);
    EXPECT_EQ(e.group_id, std::optional<std::string>("g-1"));
    EXPECT_EQ(e.previous_id, std::optional<std::string>("old"));
    EXPECT_EQ(e.occurred_at, event.occurred_at);
    EXPECT_EQ(e.original_timestamp, event.original_timestamp);
    EXPECT_FALSE(e.sent_at);
    EXPECT_EQ(e.received_at, event.received_at);
    EXPECT_EQ(e.properties, event.properties);
    EXPECT_EQ(e.context, event.context);
    EXPECT_EQ(e.write_key_name, event.write_key_name);
    EXPECT_EQ(e.source, common::Source::server);
    ASSERT_EQ(decoded->bad_events.size(), 1u);
    const auto& b = decoded->bad_events[0];
    EXPECT_EQ(b.bad_event_id, "b-1");
    EXPECT_FALSE(b.event_id);
    EXPECT_EQ(b.event_name, std::optional<std::string>("add_to_cart"));
    EXPECT_EQ(b.raw_event, bad.raw_event);
    EXPECT_EQ(b.errors, bad.errors);
    EXPECT_EQ(b.reason, bad.reason);
    EXPECT_EQ(b.route, bad.route);
    EXPECT_EQ(b.write_key_name, "web");
    EXPECT_EQ(b.source, common::Source::browser);
    EXPECT_EQ(b.received_at, bad.received_at);
    EXPECT_EQ(b.batch_sent_at, bad.batch_sent_at);
}

TEST(SpoolFormat, DecodingRefusesAnythingButAnEncodedRequest) {
    spool::SpooledRequest request;
    request.events.push_back(test::sample_event("e-1"));
    const auto payload = spool::encode_request(request);
    for (std::size_t cut = 0; cut < payload.size(); ++cut)
        EXPECT_FALSE(spool::decode_request(payload.substr(0, cut))) << cut;
    EXPECT_FALSE(spool::decode_request(payload + "x"));
    auto huge_count = payload;
    huge_count[17] = '\xff';  // the event count claims billions
    huge_count[18] = '\xff';
    EXPECT_FALSE(spool::decode_request(huge_count));
}

TEST(SpoolFormat, PositionRoundTripAndDamage) {
    const auto bytes = spool::encode_position({7, 12345});
    const auto decoded = spool::decode_position(bytes);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->segment, 7u);
    EXPECT_EQ(decoded->offset, 12345u);
    auto damaged = bytes;
    damaged[10] ^= 1;
    EXPECT_FALSE(spool::decode_position(damaged));
    EXPECT_FALSE(spool::decode_position(""));
}

TEST(Spool, RecordsComeBackInOrderAfterTheyAreDurable) {
    test::TempDir dir;
    spool::Spool spool(settings_for(dir.path()));
    EXPECT_FALSE(spool.next(std::chrono::steady_clock::now()));
    for (int i = 0; i < 50; ++i) append_durably(spool, "r" + std::to_string(i));
    const auto payloads = read_all(spool);
    ASSERT_EQ(payloads.size(), 50u);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(payloads[i], "r" + std::to_string(i));
    EXPECT_EQ(spool.status().unloaded_records, 0u);
    EXPECT_EQ(spool.status().unloaded_bytes, 0u);
}

TEST(Spool, ConcurrentAppendsShareSyncsAndAllArrive) {
    test::TempDir dir;
    spool::Spool spool(settings_for(dir.path()));
    constexpr int kThreads = 4, kEach = 200;
    std::atomic<int> durable{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i)
                ASSERT_FALSE(spool.append(std::to_string(t) + ":" + std::to_string(i),
                                          [&](std::error_code ec) {
                                              if (!ec) ++durable;
                                          }));
        });
    for (auto& thread : threads) thread.join();
    spool.close();  // writes and syncs what is pending
    EXPECT_EQ(durable.load(), kThreads * kEach);
    const auto payloads = read_all(spool);
    EXPECT_EQ(payloads.size(), static_cast<std::size_t>(kThreads * kEach));
    // Each writer's own records keep their order.
    std::map<std::string, int> last;
    for (const auto& payload : payloads) {
        const auto colon = payload.find(':');
        const auto thread = payload.substr(0, colon);
        const int index = std::stoi(payload.substr(colon + 1));
        EXPECT_EQ(index, last.count(thread) ? last[thread] + 1 : 0);
        last[thread] = index;
    }
    EXPECT_EQ(spool.append("late", [](std::error_code) {}), spool::errc::shutting_down);
}

TEST(Spool, SegmentsRollAndLoadedOnesAreDeleted) {
    test::TempDir dir;
    auto settings = settings_for(dir.path());
    settings.segment_bytes = 4096;
    settings.max_bytes = 1 << 20;
    spool::Spool spool(settings);
    const std::string payload(1000, 'p');
    for (int i = 0; i < 12; ++i) append_durably(spool, payload);
    EXPECT_GE(segments_in(dir.path()).size(), 3u);
    EXPECT_EQ(read_all(spool).size(), 12u);
    // Only the segment still being written stays.
    EXPECT_EQ(segments_in(dir.path()).size(), 1u);
    EXPECT_EQ(spool.status().segments, 1u);
}

TEST(Spool, ReopeningReplaysOnlyWhatWasNotCommitted) {
    test::TempDir dir;
    {
        spool::Spool spool(settings_for(dir.path()));
        for (int i = 0; i < 5; ++i) append_durably(spool, "a" + std::to_string(i));
        ASSERT_NO_FATAL_FAILURE(commit_first(spool, 2));
        EXPECT_EQ(spool.status().unloaded_records, 3u);
    }
    spool::Spool spool(settings_for(dir.path()));
    EXPECT_EQ(spool.status().recovery.records, 3u);
    EXPECT_EQ(spool.status().unloaded_records, 3u);
    append_durably(spool, "b0");
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{"a2", "a3", "a4", "b0"}));
}

TEST(Spool, OneFolderOneProcess) {
    test::TempDir dir;
    spool::Spool spool(settings_for(dir.path()));
    try {
        spool::Spool second(settings_for(dir.path()));
        FAIL() << "a second spool opened the same folder";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("in use by another funnelhouse process"),
                  std::string::npos);
    }
}

TEST(Spool, TornTailIsCutAndReported) {
    test::TempDir dir;
    {
        spool::Spool spool(settings_for(dir.path()));
        for (int i = 0; i < 3; ++i) append_durably(spool, "t" + std::to_string(i));
    }
    // The write of a fourth record stopped half way.
    const auto segment = segments_in(dir.path()).back();
    const auto half = framed("t3, never acknowledged").substr(0, 15);
    std::ofstream(segment, std::ios::binary | std::ios::app) << half;
    const auto size_before = fs::file_size(segment);

    spool::Spool spool(settings_for(dir.path()));
    const auto report = spool.status().recovery;
    EXPECT_EQ(report.torn_tails, 1u);
    EXPECT_EQ(report.torn_bytes_cut, 15u);
    EXPECT_TRUE(report.moved_aside.empty());
    EXPECT_EQ(fs::file_size(segment), size_before - 15);
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{"t0", "t1", "t2"}));
}

TEST(Spool, DamagedSegmentIsMovedAsideAndItsIntactRecordsStillLoad) {
    test::TempDir dir;
    {
        spool::Spool spool(settings_for(dir.path()));
        for (int i = 0; i < 5; ++i) append_durably(spool, "record-" + std::to_string(i));
    }
    const auto segment = segments_in(dir.path()).back();
    auto bytes = read_file(segment);
    const auto original = bytes;
    // Flip a byte inside the third record's payload.
    const auto third = bytes.find("record-2");
    ASSERT_NE(third, std::string::npos);
    bytes[third + 3] ^= 0x20;
    write_file(segment, bytes);

    spool::Spool spool(settings_for(dir.path()));
    const auto report = spool.status().recovery;
    ASSERT_EQ(report.moved_aside.size(), 1u);
    EXPECT_EQ(report.moved_aside[0].parent_path().filename(), "corrupt");
    // The damaged file is kept byte for byte.
    EXPECT_EQ(read_file(report.moved_aside[0]), bytes);
    EXPECT_EQ(report.damaged_bytes, framed("record-2").size());
    EXPECT_EQ(report.torn_tails, 0u);
    EXPECT_EQ(read_all(spool),
              (std::vector<std::string>{"record-0", "record-1", "record-3", "record-4"}));
    (void)original;
}

TEST(Spool, UnreadablePositionReplaysEverySegment) {
    test::TempDir dir;
    {
        spool::Spool spool(settings_for(dir.path()));
        append_durably(spool, "x");
        append_durably(spool, "y");
        read_all(spool);  // committed
    }
    write_file(dir.path() / "position", "garbage");
    spool::Spool spool(settings_for(dir.path()));
    EXPECT_TRUE(spool.status().recovery.position_unreadable);
    // Loading is idempotent, so loading twice is the safe side.
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{"x", "y"}));
}

TEST(Spool, QuotaRefusesUntilLoadingMakesRoom) {
    test::TempDir dir;
    auto settings = settings_for(dir.path());
    settings.segment_bytes = 4096;
    settings.max_bytes = 3 * 4096;
    spool::Spool spool(settings);
    const std::string payload(900, 'q');
    int accepted = 0;
    std::error_code refused;
    for (int i = 0; i < 100 && !refused; ++i) {
        std::promise<void> durable;
        auto future = durable.get_future();
        refused = spool.append(payload, [&](std::error_code) { durable.set_value(); });
        if (!refused) {
            future.wait();
            ++accepted;
        }
    }
    EXPECT_EQ(refused, spool::errc::spool_full);
    EXPECT_GE(accepted, 8);
    EXPECT_LE(spool.status().bytes, settings.max_bytes);
    EXPECT_EQ(spool.status().refusing, spool::errc::spool_full);
    EXPECT_EQ(read_all(spool).size(), static_cast<std::size_t>(accepted));
    EXPECT_FALSE(spool.status().refusing);
    append_durably(spool, payload);
}

TEST(Spool, FreeDiskFloorRefusesWithItsOwnReason) {
    test::TempDir dir;
    auto settings = settings_for(dir.path());
    settings.min_free_bytes = std::uint64_t{1} << 60;  // more than any disk
    spool::Spool spool(settings);
    EXPECT_EQ(spool.append("x", [](std::error_code) {}), spool::errc::disk_full);
    EXPECT_EQ(spool.status().refusing, spool::errc::disk_full);
}

TEST(Spool, QuotaMustLeaveRoomForTwoSegments) {
    test::TempDir dir;
    auto settings = settings_for(dir.path());
    settings.segment_bytes = 1 << 20;
    settings.max_bytes = 1 << 20;
    EXPECT_THROW(spool::Spool spool(settings), std::invalid_argument);
}

TEST(Spool, SalvagingTheSegmentAtThePositionReplaysItFromItsStart) {
    test::TempDir dir;
    {
        spool::Spool spool(settings_for(dir.path()));
        for (int i = 0; i < 5; ++i) append_durably(spool, "record-" + std::to_string(i));
        ASSERT_NO_FATAL_FAILURE(commit_first(spool, 2));
    }
    const auto segment = segments_in(dir.path()).front();
    auto bytes = read_file(segment);
    bytes[bytes.find("record-3") + 2] ^= 0x01;
    write_file(segment, bytes);

    spool::Spool spool(settings_for(dir.path()));
    // The salvaged copy holds only what was not loaded, at new offsets: the
    // position names its start, not an offset of the old layout.
    const auto position = spool::decode_position(read_file(dir.path() / "position"));
    ASSERT_TRUE(position);
    EXPECT_EQ(position->offset, spool::kSegmentHeaderBytes);
    EXPECT_EQ(spool.status().recovery.moved_aside.size(), 1u);
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{"record-2", "record-4"}));
}

TEST(Spool, ASegmentWithADamagedHeaderStillLoadsItsRecords) {
    test::TempDir dir;
    {
        spool::Spool spool(settings_for(dir.path()));
        for (int i = 0; i < 3; ++i) append_durably(spool, "h" + std::to_string(i));
    }
    const auto segment = segments_in(dir.path()).front();
    auto bytes = read_file(segment);
    bytes[0] = 'X';
    write_file(segment, bytes);

    spool::Spool spool(settings_for(dir.path()));
    const auto report = spool.status().recovery;
    ASSERT_EQ(report.moved_aside.size(), 1u);
    EXPECT_EQ(read_file(report.moved_aside[0]), bytes);
    EXPECT_EQ(report.damaged_bytes, spool::kSegmentHeaderBytes);
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{"h0", "h1", "h2"}));
}

TEST(Spool, ASegmentWhoseHeaderWasTornIsRemovedNotMovedAside) {
    test::TempDir dir;
    {
        spool::Spool spool(settings_for(dir.path()));
        append_durably(spool, "kept");
    }
    // The process stopped between creating a segment and writing its header.
    const auto torn = dir.path() / "00000000000000000099.seg";
    write_file(torn, spool::segment_header(99).substr(0, 7));

    spool::Spool spool(settings_for(dir.path()));
    const auto report = spool.status().recovery;
    EXPECT_FALSE(fs::exists(torn));
    EXPECT_TRUE(report.moved_aside.empty());
    EXPECT_EQ(report.torn_tails, 1u);
    EXPECT_EQ(report.torn_bytes_cut, 7u);
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{"kept"}));
    // New records go after the removed one's number, never reusing it.
    EXPECT_TRUE(fs::exists(dir.path() / "00000000000000000100.seg"));
}

TEST(Spool, AnOversizedRecordIsRefusedWithItsOwnReason) {
    test::TempDir dir;
    spool::Spool spool(settings_for(dir.path()));
    const std::string huge(spool::kMaxPayloadBytes + 1, 'h');
    bool called = false;
    EXPECT_EQ(spool.append(huge, [&](std::error_code) { called = true; }),
              spool::errc::record_too_large);
    append_durably(spool, "small");
    EXPECT_FALSE(called);
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{"small"}));
}

TEST(Spool, DamageMetWhileLoadingIsSkippedAndTheSegmentKeptOnce) {
    test::TempDir dir;
    spool::Spool spool(settings_for(dir.path()));
    for (int i = 0; i < 4; ++i) append_durably(spool, "live-" + std::to_string(i));
    const auto segment = segments_in(dir.path()).back();
    auto bytes = read_file(segment);
    bytes[bytes.find("live-1") + 1] ^= 0x01;
    bytes[bytes.find("live-2") + 1] ^= 0x01;
    // Rewritten in place: the spool's open file sees the change.
    std::fstream(segment, std::ios::binary | std::ios::in | std::ios::out) << bytes;
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{"live-0", "live-3"}));
    EXPECT_EQ(spool.status().damaged_at_runtime, 1u);
    std::size_t kept = 0;
    for (const auto& entry : fs::directory_iterator(dir.path() / "corrupt")) {
        (void)entry;
        ++kept;
    }
    EXPECT_EQ(kept, 1u);
}

TEST(Spool, AFileCutShortWhileLoadingIsSkippedToItsDurableEndInOneStep) {
    test::TempDir dir;
    spool::Spool spool(settings_for(dir.path()));
    for (int i = 0; i < 3; ++i) append_durably(spool, std::string(2000, 'a' + i));
    const auto segment = segments_in(dir.path()).back();
    const auto cut = spool::kSegmentHeaderBytes + framed(std::string(2000, 'a')).size() + 10;
    fs::resize_file(segment, cut);
    const auto payloads = read_all(spool);
    ASSERT_EQ(payloads.size(), 1u);
    EXPECT_EQ(payloads[0], std::string(2000, 'a'));
    // One skip to the durable end, not one per byte.
    EXPECT_EQ(spool.status().damaged_at_runtime, 1u);
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{}));
    EXPECT_EQ(spool.status().damaged_at_runtime, 1u);
}

TEST(Spool, QuarantinedRecordsAreCountedAcrossRestartsAndCanBeRequeued) {
    test::TempDir dir;
    {
        spool::Spool spool(settings_for(dir.path()));
        append_durably(spool, "refused-once");
        auto record = spool.next(std::chrono::steady_clock::now());
        ASSERT_TRUE(record);
        spool.quarantine(*record);
        spool.commit(record->next, 1);
        EXPECT_EQ(spool.status().quarantined_records, 1u);
    }
    spool::Spool spool(settings_for(dir.path()));
    EXPECT_EQ(spool.status().quarantined_records, 1u);
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{}));
    EXPECT_EQ(spool.requeue_quarantined(), 1u);
    EXPECT_EQ(spool.status().quarantined_records, 0u);
    EXPECT_FALSE(fs::exists(dir.path() / "quarantine" / "records.fhq"));
    EXPECT_TRUE(fs::exists(dir.path() / "quarantine" / "records.fhq.requeued"));
    EXPECT_EQ(read_all(spool), (std::vector<std::string>{"refused-once"}));
    EXPECT_EQ(spool.requeue_quarantined(), 0u);
}
