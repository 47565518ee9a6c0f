// Nginx configuration syntax: a tokenizer (words, quoted strings, ; { }) and a recursive block builder.
#include <gatehouse/nginx/parse.hpp>

#include <cctype>

namespace gatehouse::nginx {

namespace {

enum class token_kind { word, semicolon, open, close, end };

struct token {
    token_kind kind = token_kind::end;
    std::string value;
    unsigned line = 0;
};

class tokenizer {
public:
    explicit tokenizer(std::string_view text) : text_(text) {}

    /// The next token; an unterminated quoted string sets error_.
    token next() {
        skip_space_and_comments();
        if (pos_ >= text_.size()) return {token_kind::end, {}, line_};
        const char c = text_[pos_];
        if (c == ';' || c == '{' || c == '}') {
            ++pos_;
            return {c == ';' ? token_kind::semicolon : c == '{' ? token_kind::open : token_kind::close, {}, line_};
        }
        const unsigned start_line = line_;
        if (c == '"' || c == '\'') return {token_kind::word, quoted(c), start_line};
        return {token_kind::word, bare(), start_line};
    }

    std::optional<parse_error> error_;

private:
    void skip_space_and_comments() {
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            if (c == '\n') ++line_;
            if (c == '#') {
                while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
            } else if (std::isspace(static_cast<unsigned char>(c))) {
                ++pos_;
            } else {
                return;
            }
        }
    }

    std::string quoted(char quote) {
        const unsigned start_line = line_;
        std::string out;
        for (++pos_; pos_ < text_.size(); ++pos_) {
            char c = text_[pos_];
            if (c == quote) {
                ++pos_;
                return out;
            }
            if (c == '\\' && pos_ + 1 < text_.size()) c = text_[++pos_];
            if (c == '\n') ++line_;
            out += c;
        }
        error_ = parse_error{start_line, "unterminated quoted string"};
        return out;
    }

    std::string bare() {
        std::string out;
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            if (std::isspace(static_cast<unsigned char>(c)) || c == ';' || c == '"' || c == '\'') break;
            // A `{` opens a block unless it follows a `$` (the variable syntax `${name}`).
            if (c == '{' && (out.empty() || out.back() != '$')) break;
            // A `}` ends a word unless it closes a `${...}` variable.
            if (c == '}' && out.find("${") == std::string::npos) break;
            if (c == '\\' && pos_ + 1 < text_.size()) out += text_[pos_++];
            out += text_[pos_++];
        }
        return out;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    unsigned line_ = 1;
};

/// Reads directives until `}` (nested) or the end (top level).
std::optional<parse_error> read_block(tokenizer& t, std::vector<directive>& out, bool nested) {
    for (;;) {
        token name = t.next();
        if (t.error_) return t.error_;
        if (name.kind == token_kind::end)
            return nested ? std::optional(parse_error{name.line, "unexpected end of file: a '}' is missing"})
                          : std::nullopt;
        if (name.kind == token_kind::close) {
            if (nested) return std::nullopt;
            return parse_error{name.line, "unexpected '}'"};
        }
        if (name.kind != token_kind::word) return parse_error{name.line, "a directive name was expected"};
        directive d{name.value, {}, name.line, false, {}};
        for (;;) {
            token a = t.next();
            if (t.error_) return t.error_;
            if (a.kind == token_kind::word) {
                d.args.push_back(std::move(a.value));
            } else if (a.kind == token_kind::semicolon) {
                break;
            } else if (a.kind == token_kind::open) {
                d.has_block = true;
                if (auto e = read_block(t, d.block, true)) return e;
                break;
            } else {
                return parse_error{a.line, "directive \"" + d.name + "\" is not terminated by ';'"};
            }
        }
        out.push_back(std::move(d));
    }
}

}  // namespace

std::string directive::text() const {
    std::string s = name;
    for (const auto& a : args) {
        const bool quote = a.empty() || a.find_first_of(" \t;{}#") != std::string::npos;
        s += ' ';
        s += quote ? "'" + a + "'" : a;
    }
    return s;
}

parse_result parse(std::string_view text) {
    tokenizer t(text);
    parse_result r;
    if (auto e = read_block(t, r.directives, false)) {
        r.directives.clear();
        r.error = std::move(e);
    }
    return r;
}

}  // namespace gatehouse::nginx
