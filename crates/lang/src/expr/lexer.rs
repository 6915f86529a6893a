//! Tokens of the expression syntaxes (CloudFlow and legacy share them all).

use super::ExprSyntaxError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// `$Input`, `$local`, `$` (name empty): a variable, its name without the `$`.
    Var(String),
    /// A bare word: a function name, a field after `.`, `true`/`false`/`null`/`in`.
    Word(String),
    /// A number literal's text, checked when parsed.
    Number(String),
    /// A string literal, escapes already resolved.
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Dot,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Bang,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Eof,
}

impl Tok {
    /// How the token is named in "expected …, found …" messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Var(name) => format!("variable '${name}'"),
            Tok::Word(word) => format!("'{word}'"),
            Tok::Number(text) => format!("number {text}"),
            Tok::Str(_) => "a string".to_string(),
            Tok::Eof => "the end of the expression".to_string(),
            punct => format!("'{}'", punct.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::Dot => ".",
            Tok::Star => "*",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Bang => "!",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Var(_) | Tok::Word(_) | Tok::Number(_) | Tok::Str(_) | Tok::Eof => "",
        }
    }
}

/// A token and the 1-based column (in characters) where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub column: usize,
}

/// Splits `src` into tokens, ending with [`Tok::Eof`] at the column after the last character.
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, ExprSyntaxError> {
    let mut lexer = Lexer {
        chars: src.chars().collect(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    loop {
        lexer.skip_whitespace();
        let column = lexer.pos + 1;
        let tok = lexer.next_tok()?;
        let done = tok == Tok::Eof;
        tokens.push(Token { tok, column });
        if done {
            return Ok(tokens);
        }
    }
}

struct Lexer {
    chars: Vec<char>,
    /// Index of the next character (0-based, so the column is `pos + 1`).
    pos: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn error(&self, column: usize, message: impl Into<String>) -> ExprSyntaxError {
        ExprSyntaxError {
            column,
            message: message.into(),
        }
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Consumes characters while `keep` holds and returns them.
    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek().filter(|c| keep(*c)) {
            out.push(c);
            self.pos += 1;
        }
        out
    }

    fn next_tok(&mut self) -> Result<Tok, ExprSyntaxError> {
        let column = self.pos + 1;
        let Some(c) = self.peek() else {
            return Ok(Tok::Eof);
        };
        if c == '$' {
            self.pos += 1;
            return Ok(Tok::Var(self.take_while(is_word_char)));
        }
        if is_word_start(c) {
            return Ok(Tok::Word(self.take_while(is_word_char)));
        }
        if c.is_ascii_digit() {
            return Ok(Tok::Number(self.number()));
        }
        if matches!(c, '"' | '\'') {
            return self.quoted(c).map(Tok::Str);
        }
        if c == '`' {
            return self.raw().map(Tok::Str);
        }
        if let Some((tok, width)) = self.operator(c) {
            self.pos += width;
            return Ok(tok);
        }
        Err(self.error(column, format!("unexpected character '{c}'")))
    }

    /// Digits, an optional fraction and an optional exponent; validity (leading zeros, range)
    /// is checked by the parser with JSON's number rules.
    fn number(&mut self) -> String {
        let mut text = self.take_while(|c| c.is_ascii_digit());
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            text.push('.');
            text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek_at(1), Some('+' | '-')));
            if self.peek_at(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                for _ in 0..=sign {
                    text.extend(self.peek());
                    self.pos += 1;
                }
                text.push_str(&self.take_while(|c| c.is_ascii_digit()));
            }
        }
        text
    }

    /// A `"…"` or `'…'` string with JSON escapes (plus `\'`).
    fn quoted(&mut self, quote: char) -> Result<String, ExprSyntaxError> {
        let start = self.pos + 1;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error(start, "unterminated string"));
            };
            self.pos += 1;
            match c {
                c if c == quote => return Ok(out),
                '\\' => out.push(self.escape()?),
                c => out.push(c),
            }
        }
    }

    /// The character an escape sequence stands for; `pos` is just after the backslash.
    fn escape(&mut self) -> Result<char, ExprSyntaxError> {
        let column = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.error(column, "unterminated string"));
        };
        self.pos += 1;
        Ok(match c {
            '"' | '\'' | '\\' | '/' => c,
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => return self.unicode_escape(column),
            other => return Err(self.error(column, format!("invalid escape '\\{other}'"))),
        })
    }

    /// `\uXXXX`, with a following `\uXXXX` low surrogate when the first is a high surrogate.
    fn unicode_escape(&mut self, column: usize) -> Result<char, ExprSyntaxError> {
        let invalid = |lexer: &Self| lexer.error(column, "invalid unicode escape");
        let first = self.hex4().ok_or_else(|| invalid(self))?;
        if !(0xD800..0xDC00).contains(&first) {
            return char::from_u32(first).ok_or_else(|| invalid(self));
        }
        if self.peek() != Some('\\') || self.peek_at(1) != Some('u') {
            return Err(invalid(self));
        }
        self.pos += 2;
        let second = self.hex4().ok_or_else(|| invalid(self))?;
        if !(0xDC00..0xE000).contains(&second) {
            return Err(invalid(self));
        }
        char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
            .ok_or_else(|| invalid(self))
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.peek()?.to_digit(16)?;
            self.pos += 1;
            value = value * 16 + digit;
        }
        Some(value)
    }

    /// A `` `…` `` string: no escapes, so regular expressions need no doubling.
    fn raw(&mut self) -> Result<String, ExprSyntaxError> {
        let start = self.pos + 1;
        self.pos += 1;
        let text = self.take_while(|c| c != '`');
        if self.peek().is_none() {
            return Err(self.error(start, "unterminated string"));
        }
        self.pos += 1;
        Ok(text)
    }

    /// An operator or punctuation starting with `c`, and its width in characters.
    fn operator(&self, c: char) -> Option<(Tok, usize)> {
        let next = self.peek_at(1);
        let two = match (c, next) {
            ('=', Some('=')) => Some(Tok::EqEq),
            ('!', Some('=')) => Some(Tok::NotEq),
            ('<', Some('=')) => Some(Tok::Le),
            ('>', Some('=')) => Some(Tok::Ge),
            ('&', Some('&')) => Some(Tok::AndAnd),
            ('|', Some('|')) => Some(Tok::OrOr),
            _ => None,
        };
        if let Some(tok) = two {
            return Some((tok, 2));
        }
        let one = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            ',' => Tok::Comma,
            ':' => Tok::Colon,
            '.' => Tok::Dot,
            '*' => Tok::Star,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '/' => Tok::Slash,
            '%' => Tok::Percent,
            '!' => Tok::Bang,
            '<' => Tok::Lt,
            '>' => Tok::Gt,
            _ => return None,
        };
        Some((one, 1))
    }
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        match tokenize(src) {
            Ok(tokens) => tokens.into_iter().map(|t| t.tok).collect(),
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn lex_error(src: &str) -> ExprSyntaxError {
        match tokenize(src) {
            Err(e) => e,
            Ok(t) => panic!("{src}: expected an error, got {t:?}"),
        }
    }

    #[test]
    fn columns_count_characters() {
        let tokens = tokenize("é == $Input").unwrap_or_default();
        let columns: Vec<usize> = tokens.iter().map(|t| t.column).collect();
        assert_eq!(columns, vec![1, 3, 6, 12]);
    }

    #[test]
    fn variables_words_and_operators() {
        assert_eq!(
            toks("$Input.a_1 in $ && !x||y<=z>=w<v>u!=t==s"),
            vec![
                Tok::Var("Input".into()),
                Tok::Dot,
                Tok::Word("a_1".into()),
                Tok::Word("in".into()),
                Tok::Var(String::new()),
                Tok::AndAnd,
                Tok::Bang,
                Tok::Word("x".into()),
                Tok::OrOr,
                Tok::Word("y".into()),
                Tok::Le,
                Tok::Word("z".into()),
                Tok::Ge,
                Tok::Word("w".into()),
                Tok::Lt,
                Tok::Word("v".into()),
                Tok::Gt,
                Tok::Word("u".into()),
                Tok::NotEq,
                Tok::Word("t".into()),
                Tok::EqEq,
                Tok::Word("s".into()),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn numbers_with_fractions_and_exponents() {
        assert_eq!(
            toks("1 2.5 3e4 5E-2 6.e"),
            vec![
                Tok::Number("1".into()),
                Tok::Number("2.5".into()),
                Tok::Number("3e4".into()),
                Tok::Number("5E-2".into()),
                Tok::Number("6".into()),
                Tok::Dot,
                Tok::Word("e".into()),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn strings_in_three_quotes() {
        assert_eq!(
            toks(r#""a\"b\n\u00e9\ud83d\ude00" 'it\'s' `raw\d+`"#),
            vec![
                Tok::Str("a\"b\né😀".into()),
                Tok::Str("it's".into()),
                Tok::Str("raw\\d+".into()),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn string_errors_point_at_the_literal() {
        let e = lex_error(r#"$Input.a == "abc"#);
        assert_eq!((e.column, e.message.as_str()), (13, "unterminated string"));
        assert_eq!(lex_error("`abc").column, 1);
        let e = lex_error(r#""a\qb""#);
        assert_eq!((e.column, e.message.as_str()), (3, "invalid escape '\\q'"));
        assert_eq!(lex_error(r#""\u12""#).message, "invalid unicode escape");
        assert_eq!(lex_error(r#""\ud83d""#).message, "invalid unicode escape");
        assert_eq!(lex_error(r#""\"#).message, "unterminated string");
    }

    #[test]
    fn unknown_characters_are_errors() {
        let e = lex_error("1 # 2");
        assert_eq!(
            (e.column, e.message.as_str()),
            (3, "unexpected character '#'")
        );
        assert_eq!(lex_error("a & b").message, "unexpected character '&'");
        assert_eq!(lex_error("a = b").message, "unexpected character '='");
    }
}
