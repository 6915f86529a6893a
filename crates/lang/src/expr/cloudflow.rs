//! CloudFlow expressions: `$Input.status == "ready"`, `format("Hello {}", $Input.name)`.

use sluice_ir::expr::{Expr, Root};

use super::ExprSyntaxError;
use super::parser::{Syntax, parse};

/// The variables of CloudFlow expressions (names without the `$`).
pub(super) const VARIABLES: [(&str, Root); 5] = [
    ("Input", Root::Input),
    ("Output", Root::Output),
    ("Context", Root::Context),
    ("Global", Root::Global),
    ("Item", Root::Item),
];

/// Parses a CloudFlow expression (a `.$` value, an `ItemsPath`, a Choice `Condition`).
pub fn parse_cloudflow(src: &str) -> Result<Expr, ExprSyntaxError> {
    parse(src, Syntax::CloudFlow)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_ir::expr::{BinaryOp, Env, Function, Segment, UnaryOp};

    use super::*;

    fn parsed(src: &str) -> Expr {
        match parse_cloudflow(src) {
            Ok(e) => e,
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn error(src: &str) -> ExprSyntaxError {
        match parse_cloudflow(src) {
            Err(e) => e,
            Ok(e) => panic!("{src}: expected an error, got {e:?}"),
        }
    }

    fn eval(src: &str, input: Value) -> Result<Value, String> {
        let context = || json!({"Execution": {"Name": "e1"}, "Current": {"Name": "s1"}});
        let env = Env::new(&input, &context, 1);
        parsed(src).eval(&env).map_err(|e| e.message)
    }

    fn value(src: &str) -> Value {
        match eval(src, json!({})) {
            Ok(v) => v,
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn lit(v: Value) -> Expr {
        Expr::Literal(v)
    }

    fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
        Expr::Binary(op, Box::new(a), Box::new(b))
    }

    fn input(segments: Vec<Segment>) -> Expr {
        Expr::Path(Box::new(Expr::Var(Root::Input)), segments)
    }

    fn field(name: &str) -> Segment {
        Segment::Field(name.into())
    }

    #[test]
    fn variables() {
        assert_eq!(parsed("$Input"), Expr::Var(Root::Input));
        assert_eq!(parsed("$Output"), Expr::Var(Root::Output));
        assert_eq!(parsed("$Context"), Expr::Var(Root::Context));
        assert_eq!(parsed("$Global"), Expr::Var(Root::Global));
        assert_eq!(parsed("$Item"), Expr::Var(Root::Item));
    }

    #[test]
    fn paths() {
        assert_eq!(
            parsed(r#"$Input.a["key with spaces"][0][-1][*].in"#),
            input(vec![
                field("a"),
                field("key with spaces"),
                Segment::Index(0),
                Segment::Index(-1),
                Segment::Wildcard,
                field("in"),
            ])
        );
        assert_eq!(
            parsed("$Context.Current.Input.Size"),
            Expr::Path(
                Box::new(Expr::Var(Root::Context)),
                vec![field("Current"), field("Input"), field("Size")]
            )
        );
        assert_eq!(
            eval("$Input.xs[*].n", json!({"xs": [{"n": 1}, {"n": 2}]})),
            Ok(json!([1, 2]))
        );
    }

    #[test]
    fn literals() {
        assert_eq!(parsed("42"), lit(json!(42)));
        assert_eq!(parsed("-42"), lit(json!(-42)));
        assert_eq!(parsed("1.5"), lit(json!(1.5)));
        assert_eq!(parsed("-2.5e2"), lit(json!(-250.0)));
        assert_eq!(parsed("-9223372036854775808"), lit(json!(i64::MIN)));
        assert_eq!(parsed("18446744073709551615"), lit(json!(u64::MAX)));
        assert_eq!(parsed(r#""a\tb""#), lit(json!("a\tb")));
        assert_eq!(parsed("'single'"), lit(json!("single")));
        assert_eq!(parsed(r"`raw\d`"), lit(json!("raw\\d")));
        assert_eq!(parsed("true"), lit(json!(true)));
        assert_eq!(parsed("false"), lit(json!(false)));
        assert_eq!(parsed("null"), lit(Value::Null));
        assert_eq!(parsed("[]"), Expr::Array(vec![]));
        assert_eq!(
            parsed("[1, 'a', [true]]"),
            Expr::Array(vec![
                lit(json!(1)),
                lit(json!("a")),
                Expr::Array(vec![lit(json!(true))])
            ])
        );
        assert_eq!(parsed("{}"), Expr::Object(vec![]));
        assert_eq!(
            value(r#"{"name": "Tom", age: 10}"#),
            json!({"name": "Tom", "age": 10})
        );
    }

    #[test]
    fn invalid_numbers() {
        assert_eq!(error("01").message, "invalid number 01");
        assert_eq!(error("1e999").message, "invalid number 1e999");
        assert_eq!(error("$Input.a[1.5]").message, "invalid array index 1.5");
    }

    #[test]
    fn comparison_operators() {
        let status = || input(vec![field("status")]);
        assert_eq!(
            parsed(r#"$Input.status == "ready""#),
            bin(BinaryOp::Eq, status(), lit(json!("ready")))
        );
        assert_eq!(
            parsed("$Input.status != 1"),
            bin(BinaryOp::Ne, status(), lit(json!(1)))
        );
        assert_eq!(
            parsed("$Input.status < 1"),
            bin(BinaryOp::Lt, status(), lit(json!(1)))
        );
        assert_eq!(
            parsed("$Input.status <= 1"),
            bin(BinaryOp::Le, status(), lit(json!(1)))
        );
        assert_eq!(
            parsed("$Input.status > 1"),
            bin(BinaryOp::Gt, status(), lit(json!(1)))
        );
        assert_eq!(
            parsed("$Input.status >= 1"),
            bin(BinaryOp::Ge, status(), lit(json!(1)))
        );
        assert_eq!(
            parsed("'a' in $Input.status"),
            bin(BinaryOp::In, lit(json!("a")), status())
        );
    }

    #[test]
    fn logical_and_arithmetic_operators() {
        assert_eq!(value("true && false"), json!(false));
        assert_eq!(value("false || true"), json!(true));
        assert_eq!(value("!true"), json!(false));
        assert_eq!(value("-(1 + 2)"), json!(-3));
        assert_eq!(value("7 - 2"), json!(5));
        assert_eq!(value("3 * 4"), json!(12));
        assert_eq!(value("7 / 2"), json!(3.5));
        assert_eq!(value("7 % 4"), json!(3));
        assert_eq!(value("'a' + 'b'"), json!("ab"));
        assert_eq!(value("2 in [1, 2]"), json!(true));
        assert_eq!(value("'k' in {k: 1}"), json!(true));
        assert_eq!(
            parsed("!$Input.ok"),
            Expr::Unary(UnaryOp::Not, Box::new(input(vec![field("ok")])))
        );
        assert_eq!(
            parsed("-$Input.n"),
            Expr::Unary(UnaryOp::Neg, Box::new(input(vec![field("n")])))
        );
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(value("1 + 2 * 3"), json!(7));
        assert_eq!(value("(1 + 2) * 3"), json!(9));
        assert_eq!(value("10 - 4 - 3"), json!(3));
        assert_eq!(value("12 / 2 / 3"), json!(2));
        assert_eq!(value("1 + 1 == 2"), json!(true));
        assert_eq!(value("1 < 2 == true"), json!(true));
        assert_eq!(value("true || false && false"), json!(true));
        assert_eq!(value("!false && false"), json!(false));
        assert_eq!(value("-2 * -3"), json!(6));
        assert_eq!(value("1 + 2 in [3]"), json!(true));
        assert_eq!(
            parsed("$Input.a == 1 || $Input.b == 2 && $Input.c"),
            bin(
                BinaryOp::Or,
                bin(BinaryOp::Eq, input(vec![field("a")]), lit(json!(1))),
                bin(
                    BinaryOp::And,
                    bin(BinaryOp::Eq, input(vec![field("b")]), lit(json!(2))),
                    input(vec![field("c")])
                )
            )
        );
    }

    #[test]
    fn choice_conditions_evaluate() {
        let cond = r#"$Input.status == "ready""#;
        assert_eq!(eval(cond, json!({"status": "ready"})), Ok(json!(true)));
        assert_eq!(eval(cond, json!({"status": "done"})), Ok(json!(false)));
        assert_eq!(
            eval(cond, json!({})),
            Err("$Input.status: key 'status' not found".into())
        );
        assert_eq!(
            eval("$Context.Current.Name == 's1'", json!({})),
            Ok(json!(true))
        );
    }

    #[test]
    fn function_calls() {
        assert_eq!(
            parsed(r#"format("Hello {}", $Input.name)"#),
            Expr::Call(
                Function::Format,
                vec![lit(json!("Hello {}")), input(vec![field("name")])]
            )
        );
        assert_eq!(
            eval("format('Hello {}', $Input.name)", json!({"name": "Ann"})),
            Ok(json!("Hello Ann"))
        );
        assert_eq!(value("uuid() != uuid()"), json!(true));
        assert_eq!(value("length(split('a,b', ','))"), json!(2));
        assert_eq!(value("fromJSON('{\"a\": [1]}').a[0]"), json!(1));
        assert_eq!(value("jsonMerge({a: 1}, {b: 2})"), json!({"a": 1, "b": 2}));
        assert_eq!(
            value("hash(\"abc\", \"MD5\")"),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
    }

    #[test]
    fn ten_nested_calls_are_allowed_eleven_are_not() {
        let nest = |n: usize| format!("{}1{}", "toArray(".repeat(n), ")".repeat(n));
        assert!(parse_cloudflow(&nest(10)).is_ok());
        let e = error(&nest(11));
        assert_eq!(
            (e.column, e.message.as_str()),
            (81, "more than 10 nested function calls")
        );
        // Calls side by side are not nested.
        assert!(parse_cloudflow(&format!("toArray({})", vec![nest(9); 3].join(", "))).is_ok());
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(
            error(&deep)
                .message
                .starts_with("expression is nested too deeply")
        );
        let long_chain = vec!["1"; 100].join(" + ");
        assert!(
            error(&long_chain)
                .message
                .starts_with("expression is nested too deeply")
        );
        assert!(
            error(&"!".repeat(100))
                .message
                .starts_with("expression is nested too deeply")
        );
        let arrays = format!("{}{}", "[".repeat(70), "]".repeat(70));
        assert!(
            error(&arrays)
                .message
                .starts_with("expression is nested too deeply")
        );
        assert!(parse_cloudflow(&vec!["1"; 50].join(" + ")).is_ok());
    }

    #[test]
    fn error_columns() {
        let e = error("$Input.a ==");
        assert_eq!(
            (e.column, e.message.as_str()),
            (
                12,
                "expected an expression, found the end of the expression"
            )
        );
        let e = error("$Input.a == \"abc");
        assert_eq!((e.column, e.message.as_str()), (13, "unterminated string"));
        let e = error("$Input.a )");
        assert_eq!(
            (e.column, e.message.as_str()),
            (10, "unexpected ')' after the expression")
        );
        let e = error("$Input.a 1");
        assert_eq!(e.column, 10);
        let e = error("(1 + 2");
        assert_eq!(
            (e.column, e.message.as_str()),
            (7, "expected ')', found the end of the expression")
        );
        let e = error("$Input.");
        assert_eq!(
            (e.column, e.message.as_str()),
            (
                8,
                "expected a field name after '.', found the end of the expression"
            )
        );
        let e = error("$Input[x]");
        assert_eq!(e.column, 8);
        assert!(
            e.message
                .starts_with("expected an index, a quoted key or '*'")
        );
        let e = error("$Input[0");
        assert_eq!(
            (e.column, e.message.as_str()),
            (9, "expected ']', found the end of the expression")
        );
        let e = error("");
        assert_eq!(e.column, 1);
        let e = error("{a 1}");
        assert_eq!(
            (e.column, e.message.as_str()),
            (4, "expected ':', found number 1")
        );
        let e = error("{a: 1, a: 2}");
        assert_eq!((e.column, e.message.as_str()), (8, "duplicate key 'a'"));
        let e = error("{1: 2}");
        assert_eq!(
            (e.column, e.message.as_str()),
            (2, "expected a key, found number 1")
        );
        assert_eq!(error("[1, 2").column, 6);
        assert_eq!(error("'x'.a").column, 4);
    }

    #[test]
    fn unknown_functions_and_variables_list_the_allowed_names() {
        let e = error("foo(1)");
        assert_eq!(e.column, 1);
        assert!(
            e.message
                .starts_with("unknown function 'foo'; expected one of: format, length,")
        );
        assert!(e.message.contains("fromJSON"));
        let e = error("1 + $Foo.a");
        assert_eq!(e.column, 5);
        assert_eq!(
            e.message,
            "unknown variable '$Foo'; expected one of: $Input, $Output, $Context, $Global, $Item"
        );
        assert!(
            error("$input.a")
                .message
                .starts_with("unknown variable '$input'")
        );
        assert!(error("$.a").message.starts_with("unknown variable '$'"));
        let e = error("status == 1");
        assert!(e.message.starts_with("unknown function 'status'"));
        let e = error("length 1");
        assert_eq!(
            (e.column, e.message.as_str()),
            (8, "expected '(' after function 'length', found number 1")
        );
    }

    #[test]
    fn arity_is_checked_at_parse_time() {
        let e = error("intAdd(1)");
        assert_eq!(
            (e.column, e.message.as_str()),
            (1, "intAdd expects 2 arguments, got 1")
        );
        assert_eq!(
            error("1 + uuid(2)").message,
            "uuid expects no arguments, got 1"
        );
        assert_eq!(
            error("format()").message,
            "format expects at least 1 argument, got 0"
        );
        assert!(parse_cloudflow("toArray()").is_ok());
        assert!(parse_cloudflow("format('{}{}', 1, 2)").is_ok());
    }
}
