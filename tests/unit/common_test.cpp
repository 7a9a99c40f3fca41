#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/common/file.hpp"
#include "funnelhouse/common/gzip.hpp"
#include "funnelhouse/common/sha256.hpp"
#include "funnelhouse/common/time.hpp"
#include "funnelhouse/common/uuid.hpp"
#include "temp_dir.hpp"

using namespace funnelhouse::common;

TEST(Base64, RoundTripsEveryLengthModuloThree) {
    for (std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        const auto encoded = base64_encode(text);
        const auto decoded = base64_decode(encoded);
        ASSERT_TRUE(decoded.has_value()) << encoded;
        EXPECT_EQ(*decoded, text);
    }
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
}

TEST(Base64, DecodesWithoutPaddingAndRejectsForeignCharacters) {
    EXPECT_EQ(base64_decode("Zm8").value(), "fo");
    EXPECT_FALSE(base64_decode("Zm9v!").has_value());
    EXPECT_FALSE(base64_decode("Z").has_value());
}

TEST(Sha256, MatchesPublishedTestVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Timestamp, ParsesUtcWithFraction) {
    const auto parsed = parse_timestamp("2024-05-01T12:30:45.123Z");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(format_timestamp(*parsed), "2024-05-01T12:30:45.123000Z");
}

TEST(Timestamp, AppliesOffsetsInBothForms) {
    EXPECT_EQ(format_timestamp(*parse_timestamp("2024-05-01T14:30:45+02:00")),
              "2024-05-01T12:30:45.000000Z");
    EXPECT_EQ(format_timestamp(*parse_timestamp("2024-05-01T00:30:00-0130")),
              "2024-05-01T02:00:00.000000Z");
}

TEST(Timestamp, TruncatesBeyondMicroseconds) {
    EXPECT_EQ(format_timestamp(*parse_timestamp("2024-05-01T12:00:00.1234567891Z")),
              "2024-05-01T12:00:00.123456Z");
}

TEST(Timestamp, ReadsMissingOffsetAsUtc) {
    EXPECT_EQ(format_timestamp(*parse_timestamp("2024-02-29 23:59:59")),
              "2024-02-29T23:59:59.000000Z");
}

TEST(Timestamp, FormatsEveryFieldWithLeadingZeros) {
    using namespace std::chrono;
    const auto at = [](int y, unsigned m, unsigned d, long long micros) {
        return timestamp{sys_days{year{y} / month{m} / day{d}}.time_since_epoch() +
                         microseconds{micros}};
    };
    EXPECT_EQ(format_timestamp(at(1970, 1, 1, 0)), "1970-01-01T00:00:00.000000Z");
    EXPECT_EQ(format_timestamp(at(999, 3, 4, 3'723'000'007)), "0999-03-04T01:02:03.000007Z");
    EXPECT_EQ(format_timestamp(at(2024, 12, 31, 86'399'999'999)), "2024-12-31T23:59:59.999999Z");
    EXPECT_EQ(format_timestamp(at(12000, 1, 2, 0)), "12000-01-02T00:00:00.000000Z");
}

TEST(Timestamp, RejectsImpossibleOrMalformedInput) {
    for (const char* bad :
         {"", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
          "2024-05-01T24:00:00Z", "2024-05-01", "2024-05-01T12:00Z", "2024-05-01T12:00:00.Z",
          "2024-05-01T12:00:00+2", "yesterday", "2024-05-01T12:00:00Zjunk"})
        EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
}

TEST(Uuid, IsVersionFourAndUnique) {
    const std::regex shape("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto id = new_uuid();
        ASSERT_TRUE(std::regex_match(id, shape)) << id;
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

TEST(Uuid, NameBasedIdsAreStablePerName) {
    const std::regex shape("^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    const auto id = uuid_from_name("web\n/v1/batch\n0\n{}");
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    EXPECT_EQ(id, uuid_from_name("web\n/v1/batch\n0\n{}"));
    EXPECT_NE(id, uuid_from_name("web\n/v1/batch\n1\n{}"));
}

TEST(Gzip, RoundTripsAndReadsConcatenatedMembers) {
    const std::string text = R"({"batch":[{"type":"track"}]})";
    const auto once = funnelhouse::common::inflate_bounded(gzip_compress(text), 1024);
    ASSERT_EQ(once.status, InflateStatus::ok);
    EXPECT_EQ(once.bytes, text);
    const auto twice =
        funnelhouse::common::inflate_bounded(gzip_compress("ab") + gzip_compress("cd"), 1024);
    ASSERT_EQ(twice.status, InflateStatus::ok);
    EXPECT_EQ(twice.bytes, "abcd");
}

TEST(Gzip, StopsAtTheLimitInsteadOfInflatingABomb) {
    const auto bomb = gzip_compress(std::string(50 * 1024 * 1024, '0'));
    EXPECT_LT(bomb.size(), 100u * 1024);  // tens of kilobytes on the wire
    const auto result = funnelhouse::common::inflate_bounded(bomb, 512000);
    EXPECT_EQ(result.status, InflateStatus::too_large);
    EXPECT_TRUE(result.bytes.empty());
}

TEST(Gzip, RejectsCorruptAndTruncatedStreams) {
    EXPECT_EQ(funnelhouse::common::inflate_bounded("not gzip at all", 1024).status,
              InflateStatus::corrupt);
    const auto whole = gzip_compress(std::string(5000, 'x'));
    EXPECT_EQ(
        funnelhouse::common::inflate_bounded(whole.substr(0, whole.size() / 2), 1 << 20).status,
        InflateStatus::corrupt);
}

TEST(ReadFile, GivesEveryByteOrNothing) {
    const funnelhouse::test::TempDir dir;
    const std::string bytes("a\0b\r\n\xff", 6);
    const auto path = dir.write("bytes.bin", bytes);
    EXPECT_EQ(read_file(path), bytes);
    EXPECT_EQ(read_file(dir.write("empty", "")), std::string{});
    EXPECT_EQ(read_file(dir.path() / "missing"), std::nullopt);
    EXPECT_EQ(read_file(dir.path()), std::nullopt);  // a folder
}
