//! The syntax of intrinsic function calls (specification, "Intrinsic Functions"; Developer
//! Guide, "Reserved characters in intrinsic functions"):
//!
//! ```text
//! call  = name "(" [ arg *( "," arg ) ] ")"        ; name: A-Z a-z 0-9 . _
//! arg   = string / number / "true" / "false" / "null" / path / call
//! string = "'" *( char / "\'" / "\{" / "\}" / "\\" ) "'"
//! ```
//!
//! Spaces may surround arguments. Any other backslash sequence is an error ("If an open escape
//! backslash `\` is found in the intrinsic invocation string, the interpreter will throw a
//! runtime error"); sluice finds it when the definition is read. A call nests at most 10 deep
//! ("You can nest up to 10 intrinsic functions within a field"), and its argument count is
//! checked against the function's.

use serde_json::{Number, Value};

use super::intrinsic::{Arg, Call, Intrinsic};
use super::path::Path;

/// The deepest nesting of calls AWS allows in one field.
const MAX_NESTING: usize = 10;

/// Why a call does not parse, at which byte of its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid intrinsic function call at character {}: {message}", offset + 1)]
pub struct IntrinsicParseError {
    pub offset: usize,
    pub message: String,
}

impl Call {
    /// Parses the whole of `text` as one call.
    pub fn parse(text: &str) -> Result<Call, IntrinsicParseError> {
        let mut parser = Parser { text, at: 0 };
        let call = parser.call(1)?;
        parser.skip_spaces();
        if parser.at < text.len() {
            return Err(parser.error("unexpected text after the call"));
        }
        Ok(call)
    }
}

struct Parser<'t> {
    text: &'t str,
    at: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.at..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn error(&self, message: impl Into<String>) -> IntrinsicParseError {
        IntrinsicParseError {
            offset: self.at,
            message: message.into(),
        }
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.text.len() - trimmed.len();
    }

    fn expect(&mut self, c: char) -> Result<(), IntrinsicParseError> {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            Ok(())
        } else {
            Err(self.error(format!("expected '{c}'")))
        }
    }

    fn call(&mut self, depth: usize) -> Result<Call, IntrinsicParseError> {
        if depth > MAX_NESTING {
            return Err(self.error(format!(
                "intrinsic functions nest at most {MAX_NESTING} deep"
            )));
        }
        let start = self.at;
        let name_len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .unwrap_or(self.rest().len());
        let name = &self.text[start..start + name_len];
        let function = Intrinsic::from_name(name).ok_or_else(|| IntrinsicParseError {
            offset: start,
            message: if name.is_empty() {
                "expected an intrinsic function name".to_owned()
            } else {
                format!("unknown intrinsic function '{name}'")
            },
        })?;
        self.at += name_len;
        self.expect('(')?;
        let args = self.args(depth)?;
        let arity = function.arity();
        if !arity.accepts(args.len()) {
            return Err(IntrinsicParseError {
                offset: start,
                message: format!("{} expects {arity}, got {}", function.name(), args.len()),
            });
        }
        Ok(Call { function, args })
    }

    /// The arguments up to and including the closing `)`.
    fn args(&mut self, depth: usize) -> Result<Vec<Arg>, IntrinsicParseError> {
        let mut args = Vec::new();
        self.skip_spaces();
        if self.peek() == Some(')') {
            self.at += 1;
            return Ok(args);
        }
        loop {
            self.skip_spaces();
            args.push(self.arg(depth)?);
            self.skip_spaces();
            match self.peek() {
                Some(',') => self.at += 1,
                Some(')') => {
                    self.at += 1;
                    return Ok(args);
                }
                _ => return Err(self.error("expected ',' or ')' after an argument")),
            }
        }
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, IntrinsicParseError> {
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => self.path(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() => {
                for (word, value) in [
                    ("null", Value::Null),
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                ] {
                    if self.keyword(word) {
                        return Ok(Arg::Literal(value));
                    }
                }
                Ok(Arg::Call(self.call(depth + 1)?))
            }
            _ => Err(self.error(
                "expected an argument: a 'string', a number, true, false, null, a path or a call",
            )),
        }
    }

    /// `word` followed by something that cannot continue a name.
    fn keyword(&mut self, word: &str) -> bool {
        let Some(after) = self.rest().strip_prefix(word) else {
            return false;
        };
        let ends = after
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'));
        if ends {
            self.at += word.len();
        }
        ends
    }

    fn string(&mut self) -> Result<Arg, IntrinsicParseError> {
        let open = self.at;
        self.at += 1;
        let mut value = String::new();
        let mut placeholders = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(IntrinsicParseError {
                    offset: open,
                    message: "unterminated string".to_owned(),
                });
            };
            self.at += c.len_utf8();
            match c {
                '\'' => break,
                '\\' => match self.peek() {
                    Some(escaped @ ('\'' | '{' | '}' | '\\')) => {
                        self.at += 1;
                        value.push(escaped);
                    }
                    _ => {
                        self.at -= 1;
                        return Err(
                            self.error("an open escape: '\\' may only precede ', {, } or \\")
                        );
                    }
                },
                '{' if self.peek() == Some('}') => {
                    self.at += 1;
                    placeholders.push(value.len());
                    value.push_str("{}");
                }
                c => value.push(c),
            }
        }
        Ok(Arg::String {
            value,
            placeholders,
        })
    }

    fn number(&mut self) -> Result<Arg, IntrinsicParseError> {
        let start = self.at;
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(self.rest().len());
        let text = &self.text[start..start + len];
        let number = if text.contains(['.', 'e', 'E']) {
            text.parse::<f64>().ok().and_then(Number::from_f64)
        } else {
            text.parse::<i64>().ok().map(Number::from)
        };
        let number = number.ok_or_else(|| self.error(format!("'{text}' is not a number")))?;
        self.at += len;
        Ok(Arg::Literal(Value::Number(number)))
    }

    /// A path runs to the first `,`, `)` or space outside brackets and quotes.
    fn path(&mut self) -> Result<Arg, IntrinsicParseError> {
        let start = self.at;
        let mut depth = 0usize;
        let mut quote = None;
        let mut escaped = false;
        let mut end = self.text.len();
        for (i, c) in self.rest().char_indices() {
            if escaped {
                escaped = false;
                continue;
            }
            match (quote, c) {
                (_, '\\') => escaped = true,
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '(') => depth += 1,
                (None, ']' | ')') if depth > 0 => depth -= 1,
                (None, ',' | ')' | ' ') if depth == 0 => {
                    end = start + i;
                    break;
                }
                _ => {}
            }
        }
        let text = &self.text[start..end];
        let path = Path::parse(text).map_err(|e| IntrinsicParseError {
            offset: start,
            message: e.to_string(),
        })?;
        self.at = end;
        Ok(Arg::Path(path))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::expr::asl::path::PathRoot;

    fn parse(text: &str) -> Call {
        Call::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn error(text: &str) -> IntrinsicParseError {
        match Call::parse(text) {
            Err(e) => e,
            Ok(call) => panic!("{text}: expected an error, got {call:?}"),
        }
    }

    #[test]
    fn literals_paths_and_nested_calls() {
        let call = parse(
            "States.Array('a b', -1.5, 20, true, false, null, $.x, $$.Execution.Id, $v.y, States.UUID())",
        );
        assert_eq!(call.function, Intrinsic::Array);
        assert_eq!(call.args.len(), 10);
        assert_eq!(
            call.args[0],
            Arg::String {
                value: "a b".into(),
                placeholders: vec![]
            }
        );
        assert_eq!(call.args[1], Arg::Literal(json!(-1.5)));
        assert_eq!(call.args[2], Arg::Literal(json!(20)));
        assert_eq!(call.args[3], Arg::Literal(json!(true)));
        assert_eq!(call.args[5], Arg::Literal(Value::Null));
        let roots: Vec<PathRoot> = call.args[6..9]
            .iter()
            .filter_map(|a| match a {
                Arg::Path(p) => Some(p.root().clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            roots,
            vec![
                PathRoot::Input,
                PathRoot::Context,
                PathRoot::Variable("v".into())
            ]
        );
        assert!(matches!(&call.args[9], Arg::Call(c) if c.function == Intrinsic::Uuid));
    }

    // Developer Guide, "Reserved characters in intrinsic functions"; specification's
    // `States.Format('Welcome to {} {}\'s playlist.', …)`.
    #[test]
    fn escapes() {
        let call =
            parse(r"States.Format('Welcome to {} {}\'s playlist.', $.firstName, $.lastName)");
        assert_eq!(
            call.args[0],
            Arg::String {
                value: "Welcome to {} {}'s playlist.".into(),
                placeholders: vec![11, 14]
            }
        );
        let call = parse(r"States.Format('\{}\\ {\}', 1)");
        assert_eq!(
            call.args[0],
            Arg::String {
                value: r"{}\ {}".into(),
                placeholders: vec![]
            }
        );
        let e = error(r"States.Format('a\nb')");
        assert_eq!(e.offset, 16);
        assert!(e.message.contains("open escape"), "{e}");
        assert!(error("States.Format('abc").message.contains("unterminated"));
    }

    // Developer Guide: the nine nested calls of `myArn.$`, and paths in brackets.
    #[test]
    fn documented_nesting_and_brackets() {
        let call = parse(
            "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))",
        );
        assert_eq!(call.args.len(), 3);
        let call = parse("States.ArrayLength($.abc.['def ghi'])");
        assert!(matches!(&call.args[0], Arg::Path(p) if p.text() == "$.abc.['def ghi']"));
        let call = parse("States.Array($.a[?(@.b == 'x, y')], $.c)");
        assert!(matches!(&call.args[0], Arg::Path(p) if p.text() == "$.a[?(@.b == 'x, y')]"));
        let mut deep = String::from("$.x");
        for _ in 0..10 {
            deep = format!("States.Array({deep})");
        }
        assert!(Call::parse(&deep).is_ok());
        let too_deep = format!("States.Array({deep})");
        assert!(error(&too_deep).message.contains("at most 10 deep"));
    }

    #[test]
    fn spacing_is_free_around_arguments() {
        let call = parse("States.MathAdd(  $.a ,\t2  )");
        assert_eq!(call.args.len(), 2);
        assert_eq!(parse("States.UUID( )").args, vec![]);
    }

    #[test]
    fn bad_calls() {
        assert_eq!(
            error("States.Nope(1)").message,
            "unknown intrinsic function 'States.Nope'"
        );
        assert_eq!(
            error("States.ArrayLength($.a, $.b)").message,
            "States.ArrayLength expects 1 argument, got 2"
        );
        assert_eq!(
            error("States.JsonMerge($.a, $.b)").message,
            "States.JsonMerge expects 3 arguments, got 2"
        );
        assert_eq!(
            error("States.UUID(1)").message,
            "States.UUID expects no arguments, got 1"
        );
        assert_eq!(
            error("States.Format()").message,
            "States.Format expects at least 1 argument, got 0"
        );
        assert_eq!(
            error("States.Array(1) x").message,
            "unexpected text after the call"
        );
        assert!(error("States.Array(1 2)").message.contains("expected ','"));
        assert!(
            error("States.Array(1,)")
                .message
                .contains("expected an argument")
        );
        assert!(error("States.Array(1").message.contains("expected ','"));
        assert!(
            error("States.Array($.a[)")
                .message
                .contains("not a valid JSONPath")
        );
        assert!(
            error("States.Array(1.2.3)")
                .message
                .contains("not a number")
        );
        assert!(
            error("States.Array(nullish)")
                .message
                .contains("unknown intrinsic")
        );
        assert!(
            error("")
                .message
                .contains("expected an intrinsic function name")
        );
        let e = error("States.Array(@)");
        assert_eq!(e.offset, 13);
        assert!(
            e.to_string()
                .starts_with("invalid intrinsic function call at character 14")
        );
    }
}
