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
    Scanner(std::string_view sql, int first_line) : sql_(sql), line_(first_line) {}

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

    void step() {
        const char c = peek();
        if (c == '-' && peek(1) == '-') return skip_line_comment();
        if (c == '/' && peek(1) == '*') return skip_block_comment();
        if (c == '\'')
            return skip_string(at_ > 0 && (sql_[at_ - 1] == 'E' || sql_[at_ - 1] == 'e'));
        if (c == '"') return skip_quoted_identifier();
        if (c == '$' && skip_dollar_delimiter()) return;
        if (identifier_start(c)) return read_word();
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
    void skip_quoted_identifier() {
        advance();
        while (at_ < sql_.size()) {
            const bool quote = peek() == '"';
            advance();
            if (quote) {
                if (peek() != '"') return;
                advance();
            }
        }
    }
    // $tag$ opens or closes a dollar-quoted body; the body itself is read
    // as SQL, since function bodies are where functions read models. $1 is
    // a parameter.
    bool skip_dollar_delimiter() {
        std::size_t end = at_ + 1;
        if (end < sql_.size() && identifier_start(sql_[end]))
            while (end < sql_.size() && identifier_char(sql_[end]) && sql_[end] != '$') ++end;
        if (end >= sql_.size() || sql_[end] != '$') return false;
        advance(end + 1 - at_);
        return true;
    }
    void read_word() {
        const bool qualified = at_ > 0 && sql_[at_ - 1] == '.';
        const auto start = at_;
        const auto line = line_;
        while (at_ < sql_.size() && identifier_char(peek())) advance();
        if (qualified || lower(sql_.substr(start, at_ - start)) != "models" || peek() != '.' ||
            !identifier_start(peek(1)))
            return;
        advance();
        const auto name_start = at_;
        while (at_ < sql_.size() && identifier_char(peek())) advance();
        found_.push_back({lower(sql_.substr(name_start, at_ - name_start)), start, line});
    }

    std::string_view sql_;
    std::size_t at_ = 0;
    int line_;
    std::vector<Reference> found_;
};

}  // namespace

std::vector<Reference> find_references(std::string_view sql, int first_line) {
    return Scanner(sql, first_line).run();
}

}  // namespace funnelhouse::models
