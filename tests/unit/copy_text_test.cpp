#include "funnelhouse/db/copy_text.hpp"

#include <gtest/gtest.h>

using funnelhouse::db::CopyRow;

TEST(CopyRow, EscapesDelimitersAndBackslashes) {
    CopyRow row;
    row.field(std::string_view{"a\tb"});
    row.field(std::string_view{"line1\nline2\r"});
    row.field(std::string_view{"C:\\path"});
    EXPECT_EQ(row.line(), "a\\tb\tline1\\nline2\\r\tC:\\\\path");
}

TEST(CopyRow, KeepsEmptyFieldsDistinctFromNull) {
    CopyRow row;
    row.field(std::string_view{""});
    row.field_or_null(std::nullopt);
    row.field(std::string_view{""});
    EXPECT_EQ(row.line(), "\t\\N\t");
}

TEST(CopyRow, PassesUtf8Through) {
    CopyRow row;
    row.field(std::string_view{"Größe 🙂"});
    EXPECT_EQ(row.line(), "Größe 🙂");
    row.clear();
    row.field(std::string_view{"x"});
    EXPECT_EQ(row.line(), "x");
}

// Escapes at the start, at the end and next to each other, and runs of
// plain bytes between them, each byte where it was.
TEST(CopyRow, EscapesEveryByteInItsPlace) {
    CopyRow row;
    row.field(std::string_view{"\\\t\n\rab\\\\c\r"});
    EXPECT_EQ(row.line(), "\\\\\\t\\n\\rab\\\\\\\\c\\r");
    row.clear();
    const std::string with_nul("a\0b", 3);  // NUL is no delimiter: passed as it is
    row.field(std::string_view{with_nul});
    EXPECT_EQ(row.line(), with_nul);
}

// Long values are scanned sixteen bytes at a time: a byte to escape is found
// wherever it falls in or across those blocks, next to any other byte.
TEST(CopyRow, EscapesBytesAnywhereInLongValues) {
    const std::string specials = "\\\t\n\r";
    const auto escaped_by_hand = [](const std::string& value) {
        std::string out;
        for (const char c : value) {
            if (c == '\\')
                out += "\\\\";
            else if (c == '\t')
                out += "\\t";
            else if (c == '\n')
                out += "\\n";
            else if (c == '\r')
                out += "\\r";
            else
                out += c;
        }
        return out;
    };
    for (std::size_t length : {15u, 16u, 17u, 31u, 32u, 33u, 70u}) {
        for (std::size_t at = 0; at < length; ++at) {
            for (const char special : specials) {
                std::string value(length, 'x');
                value[at] = special;
                if (at + 5 < length) value[at + 5] = '\xc3';  // a UTF-8 lead byte
                if (at + 16 < length) value[at + 16] = special;
                CopyRow row;
                row.field(std::string_view{value});
                ASSERT_EQ(row.line(), escaped_by_hand(value)) << length << " " << at;
            }
        }
    }
}
