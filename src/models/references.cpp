// Finding `models.<name>` in SQL text: just enough of PostgreSQL's lexical
// rules (comments, string literals, quoted identifiers, dollar quotes) that
// a name in a comment or a string is never taken for a read.
#include <cctype>

#include "funnelhouse/models/catalog.hpp"

namespace funnelhouse::models {
namespace {

bool identifier_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}

bool identifier_char(char c) {
    return identifier_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

class Scanner {
  public:
    Scanner(std::string_view sql, int first_line, bool dollar_body_is_sql)
        : sql_(sql), line_(first_line), dollar_body_is_sql_(dollar_body_is_sql) {}

    std::vector<Reference> run() {
        while (at_ < sql_.size()) step();
        return std::move(found_);
    }

  private:
    char peek(std::size_t ahead = 0) const {
        return at_ + ahead < sql_.size() ? sql_[at_ + ahead] : '\0';
    }
    void advance(std::size_t count = 1) {
        for (std::size_t i = 0; i < count && at_ < sql_.size(); ++i, ++at_)
            if (sql_[at_] == '\n') ++line_;
    }
    // E'...' takes backslash escapes: an E (or e) that is a word of its own.
    bool escape_string_prefix() const {
        return at_ > 0 && (sql_[at_ - 1] == 'E' || sql_[at_ - 1] == 'e') &&
               (at_ < 2 || !identifier_char(sql_[at_ - 2]));
    }

    void step() {
        const char c = peek();
        if (c == '-' && peek(1) == '-') return skip_line_comment();
        if (c == '/' && peek(1) == '*') return skip_block_comment();
        if (c == '\'') return skip_string(escape_string_prefix());
        if (c == '"' || identifier_start(c)) return read_name();
        if (c == '$' && dollar_quote()) return;
        advance();
    }

    void skip_line_comment() {
        while (at_ < sql_.size() && peek() != '\n') advance();
    }
    void skip_block_comment() {  // nested, as PostgreSQL's are
        int depth = 0;
        do {
            if (peek() == '/' && peek(1) == '*') {
                ++depth;
                advance(2);
            } else if (peek() == '*' && peek(1) == '/') {
                --depth;
                advance(2);
            } else {
                advance();
            }
        } while (depth > 0 && at_ < sql_.size());
    }
    void skip_string(bool backslash_escapes) {
        advance();
        while (at_ < sql_.size()) {
            if (backslash_escapes && peek() == '\\') {
                advance(2);
            } else if (peek() == '\'') {
                advance();
                if (peek() != '\'') return;
                advance();
            } else {
                advance();
            }
        }
    }
    void skip_spaces() {
        while (at_ < sql_.size() && std::isspace(static_cast<unsigned char>(peek()))) advance();
    }

    // $tag$: the first one of a function file opens its body, which is read
    // as SQL (function bodies are where functions read models) until the same
    // tag closes it; any other is a literal, skipped to its closing tag. $1
    // is a parameter.
    bool dollar_quote() {
        std::size_t end = at_ + 1;
        if (end < sql_.size() && identifier_start(sql_[end]))
            while (end < sql_.size() && identifier_char(sql_[end]) && sql_[end] != '$') ++end;
        if (end >= sql_.size() || sql_[end] != '$') return false;
        const auto tag = sql_.substr(at_, end + 1 - at_);
        advance(tag.size());
        if (dollar_body_is_sql_ && body_tag_.empty()) {
            body_tag_ = tag;
        } else if (tag == body_tag_) {
            body_tag_ = {};
            dollar_body_is_sql_ = false;  // one body per file
        } else {
            const auto close = sql_.find(tag, at_);
            advance(close == std::string_view::npos ? sql_.size() : close + tag.size() - at_);
        }
        return true;
    }

    // A name, plain (folded to lower case) or "quoted" (as written), and
    // where it starts.
    struct Name {
        std::string text;
        std::size_t start = 0;
        int line = 0;
    };
    Name name() {
        Name read{{}, at_, line_};
        if (peek() != '"') {
            while (at_ < sql_.size() && identifier_char(peek())) advance();
            read.text = lower(sql_.substr(read.start, at_ - read.start));
            return read;
        }
        advance();
        while (at_ < sql_.size()) {
            const char c = peek();
            advance();
            if (c != '"') {
                read.text += c;
            } else if (peek() == '"') {
                read.text += '"';
                advance();
            } else {
                break;
            }
        }
        return read;
    }

    // models.<name>, also as "models"."name" or with spaces around the dot;
    // a name after another dot is a column, not a schema.
    void read_name() {
        const bool qualified = at_ > 0 && sql_[at_ - 1] == '.';
        const auto schema = name();
        if (qualified || schema.text != "models") return;
        const auto after_schema = at_;
        skip_spaces();
        if (peek() != '.') return;
        advance();
        skip_spaces();
        if (!(identifier_start(peek()) || peek() == '"')) return;
        const auto object = name();
        found_.push_back({object.text, schema.start, after_schema - schema.start, schema.line});
    }

    std::string_view sql_;
    std::size_t at_ = 0;
    int line_;
    bool dollar_body_is_sql_;
    std::string_view body_tag_;
    std::vector<Reference> found_;
};

}  // namespace

std::vector<Reference> find_references(std::string_view sql, int first_line,
                                       bool dollar_body_is_sql) {
    return Scanner(sql, first_line, dollar_body_is_sql).run();
}

}  // namespace funnelhouse::models
