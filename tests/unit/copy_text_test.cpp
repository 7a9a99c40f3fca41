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
