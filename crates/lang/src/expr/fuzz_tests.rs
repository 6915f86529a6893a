//! Property tests: no input makes the parsers or the evaluator panic.

use proptest::prelude::*;
use serde_json::{Number, Value, json};
use sluice_ir::expr::{Env, Expr};

use super::{parse_cloudflow, parse_legacy};

/// Expressions exercising every operator and function on whatever the input holds.
const EXPRESSIONS: &[&str] = &[
    "$Input",
    "$Input.a == $Input.b",
    "$Input.a != $Input.b",
    "$Input.a < $Input.b || $Input.a >= $Input.c",
    "$Input.a <= $Input.b && $Input.b > $Input.c",
    "$Input.a + $Input.b - $Input.c",
    "$Input.a * $Input.b / $Input.c % $Input.a",
    "-$Input.a",
    "!$Input.a",
    "$Input.a in $Input.b",
    "$Input.a[*].b",
    "$Input[*][*]",
    "$Input.a[0]",
    "$Input.a[-1].c",
    "$Input.a.b.c",
    "$Input.a['x y']",
    "format('{} and {}', $Input.a, $Input.b)",
    "format($Input.a, $Input.b)",
    "length($Input.a)",
    "split($Input.a, $Input.b)",
    "regexMatchString($Input.a, $Input.b)",
    "get($Input.a, $Input.b)",
    "intAdd($Input.a, $Input.b)",
    "randomInt($Input.a, $Input.b)",
    "arrayContains($Input.a, $Input.b)",
    "arrayUnique($Input.a)",
    "toArray($Input.a, $Input.b)",
    "mapKeys($Input.a)",
    "mapValues($Input.b)",
    "toBase64($Input.a)",
    "fromBase64($Input.a)",
    "hash($Input.a, $Input.b)",
    "hash($Input.a, 'SHA-512')",
    "uuid()",
    "stringToJson($Input.a)",
    "jsonToString($Input)",
    "jsonMerge($Input.a, $Input.b)",
    "{x: $Input.a, y: [$Input.b, $Input.c]}",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        "[a-c{}()*+.,\\\\]{0,6}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(Value::from("SHA-256")),
        Just(Value::from("Rm5G")),
        Just(Value::from("{\"a\": [1]}")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-c]{1,2}", inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// An input whose `a`, `b` and `c` are arbitrary, so the expressions above reach their
/// operators instead of stopping at a missing key.
fn input() -> impl Strategy<Value = Value> {
    prop_oneof![
        (json_value(), json_value(), json_value())
            .prop_map(|(a, b, c)| json!({"a": a, "b": b, "c": c})),
        json_value(),
    ]
}

fn eval(expr: &Expr, input: &Value, seed: u64) -> Result<Value, String> {
    let context = || json!({"Execution": {"Name": "e"}, "Current": {"Name": "s"}});
    let env = Env::new(input, &context, seed);
    expr.eval(&env).map_err(|e| e.message)
}

/// Source text built from the syntaxes' own pieces, to get past the lexer more often than
/// arbitrary text does.
fn expression_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("$Input"),
        Just("$"),
        Just("$local"),
        Just("$context"),
        Just(".a"),
        Just("[0]"),
        Just("[-1]"),
        Just("[*]"),
        Just("['k']"),
        Just("("),
        Just(")"),
        Just("["),
        Just("]"),
        Just("{"),
        Just("}"),
        Just(":"),
        Just(","),
        Just(" == "),
        Just(" < "),
        Just(" && "),
        Just(" || "),
        Just(" in "),
        Just("!"),
        Just("-"),
        Just("+"),
        Just("*"),
        Just("/"),
        Just("%"),
        Just("1"),
        Just("2.5e3"),
        Just("\"s\""),
        Just("'t'"),
        Just("`u`"),
        Just("true"),
        Just("null"),
        Just("format("),
        Just("toArray("),
        Just("length("),
        Just("uuid()"),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_text(src in any::<String>()) {
        let _ = parse_cloudflow(&src);
        let _ = parse_legacy(&src);
    }

    #[test]
    fn parsers_never_panic_on_expression_like_text(src in expression_like(), input in input()) {
        for parsed in [parse_cloudflow(&src), parse_legacy(&src)] {
            match parsed {
                Ok(expr) => {
                    let _ = eval(&expr, &input, 0);
                }
                Err(e) => {
                    let columns = src.chars().count() + 1;
                    prop_assert!(e.column >= 1 && e.column <= columns, "{e} in {src:?}");
                }
            }
        }
    }

    #[test]
    fn evaluation_never_panics_on_arbitrary_input(input in input(), seed in any::<u64>()) {
        for src in EXPRESSIONS {
            let expr = parse_cloudflow(src).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
            let first = eval(&expr, &input, seed);
            // Deterministic: the same environment gives the same result.
            prop_assert_eq!(first, eval(&expr, &input, seed));
        }
    }
}
