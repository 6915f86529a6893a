//! Operators and the value comparisons shared with the built-in functions.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::ast::{BinaryOp, UnaryOp};
use super::eval::EvalError;

pub(super) fn unary(op: UnaryOp, value: Value) -> Result<Value, EvalError> {
    match (op, &value) {
        (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (UnaryOp::Neg, Value::Number(n)) => match Num::of(n) {
            Num::Int(i) => i.checked_neg().map(Value::from).ok_or_else(overflow),
            Num::Float(f) => float_value(-f),
        },
        (UnaryOp::Not, other) => Err(EvalError::new(format!(
            "! expects a boolean, got {}",
            describe(other)
        ))),
        (UnaryOp::Neg, other) => Err(EvalError::new(format!(
            "unary - expects a number, got {}",
            describe(other)
        ))),
    }
}

/// Every binary operator except `&&` and `||`, which the evaluator short-circuits.
pub(super) fn binary(op: BinaryOp, a: &Value, b: &Value) -> Result<Value, EvalError> {
    match op {
        BinaryOp::Eq => Ok(Value::Bool(values_equal(a, b))),
        BinaryOp::Ne => Ok(Value::Bool(!values_equal(a, b))),
        BinaryOp::Lt => compare(op, a, b).map(|o| Value::Bool(o.is_lt())),
        BinaryOp::Le => compare(op, a, b).map(|o| Value::Bool(o.is_le())),
        BinaryOp::Gt => compare(op, a, b).map(|o| Value::Bool(o.is_gt())),
        BinaryOp::Ge => compare(op, a, b).map(|o| Value::Bool(o.is_ge())),
        BinaryOp::In => contains(b, a).map(Value::Bool),
        BinaryOp::And | BinaryOp::Or => {
            let left = expect_bool(op, a)?;
            let right = expect_bool(op, b)?;
            Ok(Value::Bool(if op == BinaryOp::And {
                left && right
            } else {
                left || right
            }))
        }
        BinaryOp::Add => match (a, b) {
            (Value::String(x), Value::String(y)) => Ok(Value::String(format!("{x}{y}"))),
            _ => arithmetic(op, a, b),
        },
        BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => arithmetic(op, a, b),
    }
}

pub(super) fn expect_bool(op: BinaryOp, value: &Value) -> Result<bool, EvalError> {
    value.as_bool().ok_or_else(|| {
        EvalError::new(format!(
            "{} expects booleans, got {}",
            op.symbol(),
            describe(value)
        ))
    })
}

/// JSON equality where numbers compare by value (`1 == 1.0`), also inside arrays and objects.
pub(super) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Num::of(x).cmp(Num::of(y)) == Ordering::Equal,
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| values_equal(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| values_equal(x, y)))
        }
        _ => a == b,
    }
}

/// `needle in haystack`: an array element (by [`values_equal`]) or an object key.
fn contains(haystack: &Value, needle: &Value) -> Result<bool, EvalError> {
    match (haystack, needle) {
        (Value::Array(items), _) => Ok(items.iter().any(|item| values_equal(item, needle))),
        (Value::Object(map), Value::String(key)) => Ok(map.contains_key(key)),
        (Value::Object(_), other) => Err(EvalError::new(format!(
            "in: an object's keys are strings, got {}",
            describe(other)
        ))),
        (other, _) => Err(EvalError::new(format!(
            "in expects an array or an object on the right, got {}",
            describe(other)
        ))),
    }
}

/// Orders two numbers or two strings (lexicographically, by code point).
fn compare(op: BinaryOp, a: &Value, b: &Value) -> Result<Ordering, EvalError> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(Num::of(x).cmp(Num::of(y))),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(EvalError::new(format!(
            "{} compares two numbers or two strings, got {} and {}",
            op.symbol(),
            describe(a),
            describe(b)
        ))),
    }
}

/// `+ - * / %` on numbers. Integers stay integers (an inexact integer division gives a
/// float, as `7 / 2` meaning 3 would surprise workflow authors); overflow is an error rather
/// than a silent wrap.
fn arithmetic(op: BinaryOp, a: &Value, b: &Value) -> Result<Value, EvalError> {
    let (Value::Number(x), Value::Number(y)) = (a, b) else {
        let expected = if op == BinaryOp::Add {
            "two numbers or two strings"
        } else {
            "two numbers"
        };
        return Err(EvalError::new(format!(
            "{} expects {expected}, got {} and {}",
            op.symbol(),
            describe(a),
            describe(b)
        )));
    };
    match (Num::of(x), Num::of(y)) {
        (Num::Int(x), Num::Int(y)) => int_arithmetic(op, x, y),
        (x, y) => float_arithmetic(op, x.as_f64(), y.as_f64()),
    }
}

fn int_arithmetic(op: BinaryOp, x: i64, y: i64) -> Result<Value, EvalError> {
    if y == 0 && matches!(op, BinaryOp::Div | BinaryOp::Mod) {
        return Err(division_by_zero());
    }
    let result = match op {
        BinaryOp::Add => x.checked_add(y),
        BinaryOp::Sub => x.checked_sub(y),
        BinaryOp::Mul => x.checked_mul(y),
        BinaryOp::Mod => x.checked_rem(y),
        BinaryOp::Div => match x.checked_rem(y) {
            Some(0) => x.checked_div(y),
            Some(_) => return float_value(x as f64 / y as f64),
            // Only i64::MIN / -1, whose quotient does not fit.
            None => None,
        },
        _ => None,
    };
    result.map(Value::from).ok_or_else(overflow)
}

fn float_arithmetic(op: BinaryOp, x: f64, y: f64) -> Result<Value, EvalError> {
    if y == 0.0 && matches!(op, BinaryOp::Div | BinaryOp::Mod) {
        return Err(division_by_zero());
    }
    match op {
        BinaryOp::Add => float_value(x + y),
        BinaryOp::Sub => float_value(x - y),
        BinaryOp::Mul => float_value(x * y),
        BinaryOp::Div => float_value(x / y),
        BinaryOp::Mod => float_value(x % y),
        _ => Err(overflow()),
    }
}

fn float_value(f: f64) -> Result<Value, EvalError> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| EvalError::new("arithmetic result is not a finite number"))
}

fn overflow() -> EvalError {
    EvalError::new("integer overflow")
}

fn division_by_zero() -> EvalError {
    EvalError::new("division by zero")
}

/// A JSON number as the evaluator computes with it: exact while it fits an `i64`.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn of(n: &Number) -> Num {
        match n.as_i64() {
            Some(i) => Num::Int(i),
            // u64 above i64::MAX, or a float; as_f64 is always Some for these.
            None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// Total order by value; JSON numbers are never NaN.
    fn cmp(self, other: Num) -> Ordering {
        match (self, other) {
            (Num::Int(x), Num::Int(y)) => x.cmp(&y),
            (x, y) => x.as_f64().total_cmp(&y.as_f64()),
        }
    }
}

/// A short description of a value for error messages: its type and, for scalars, the value
/// (truncated, so a large payload never floods a history event).
pub(super) fn describe(value: &Value) -> String {
    const MAX_SHOWN: usize = 40;
    match value {
        Value::Null => "null".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
        scalar => {
            let mut shown = scalar.to_string();
            if let Some((cut, _)) = shown.char_indices().nth(MAX_SHOWN) {
                shown.truncate(cut);
                shown.push('…');
            }
            let article = match scalar {
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                _ => "a string",
            };
            format!("{article} ({shown})")
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bin(op: BinaryOp, a: Value, b: Value) -> Result<Value, EvalError> {
        binary(op, &a, &b)
    }

    fn err(op: BinaryOp, a: Value, b: Value) -> String {
        match binary(op, &a, &b) {
            Err(e) => e.message,
            Ok(v) => panic!("expected an error, got {v}"),
        }
    }

    #[test]
    fn eq_compares_any_json_with_numbers_by_value() {
        assert_eq!(bin(BinaryOp::Eq, json!(1), json!(1.0)), Ok(json!(true)));
        assert_eq!(bin(BinaryOp::Eq, json!("a"), json!("a")), Ok(json!(true)));
        assert_eq!(bin(BinaryOp::Eq, json!(null), json!(null)), Ok(json!(true)));
        assert_eq!(bin(BinaryOp::Eq, json!("1"), json!(1)), Ok(json!(false)));
        assert_eq!(
            bin(BinaryOp::Eq, json!({"a": [1, 2.0]}), json!({"a": [1.0, 2]})),
            Ok(json!(true))
        );
        assert_eq!(
            bin(BinaryOp::Eq, json!([1]), json!([1, 2])),
            Ok(json!(false))
        );
        assert_eq!(
            bin(BinaryOp::Eq, json!({"a": 1}), json!({"b": 1})),
            Ok(json!(false))
        );
        assert_eq!(
            bin(BinaryOp::Eq, json!(u64::MAX), json!(u64::MAX)),
            Ok(json!(true))
        );
    }

    #[test]
    fn ne_is_the_negation_of_eq() {
        assert_eq!(bin(BinaryOp::Ne, json!(1), json!(1.0)), Ok(json!(false)));
        assert_eq!(
            bin(BinaryOp::Ne, json!(true), json!("true")),
            Ok(json!(true))
        );
    }

    #[test]
    fn ordering_on_numbers() {
        assert_eq!(bin(BinaryOp::Lt, json!(1), json!(2)), Ok(json!(true)));
        assert_eq!(bin(BinaryOp::Lt, json!(2), json!(1.5)), Ok(json!(false)));
        assert_eq!(bin(BinaryOp::Le, json!(2), json!(2.0)), Ok(json!(true)));
        assert_eq!(bin(BinaryOp::Gt, json!(-1), json!(-2)), Ok(json!(true)));
        assert_eq!(bin(BinaryOp::Ge, json!(1.5), json!(2)), Ok(json!(false)));
        assert_eq!(
            bin(BinaryOp::Gt, json!(u64::MAX), json!(1)),
            Ok(json!(true))
        );
    }

    #[test]
    fn ordering_on_strings_is_lexicographic() {
        assert_eq!(
            bin(BinaryOp::Lt, json!("apple"), json!("banana")),
            Ok(json!(true))
        );
        assert_eq!(
            bin(BinaryOp::Lt, json!("b"), json!("abc")),
            Ok(json!(false))
        );
        assert_eq!(bin(BinaryOp::Le, json!("a"), json!("a")), Ok(json!(true)));
        assert_eq!(bin(BinaryOp::Gt, json!("Z"), json!("a")), Ok(json!(false)));
        assert_eq!(bin(BinaryOp::Ge, json!("b"), json!("a")), Ok(json!(true)));
    }

    #[test]
    fn ordering_on_mixed_types_is_an_error() {
        assert_eq!(
            err(BinaryOp::Lt, json!("1"), json!(2)),
            "< compares two numbers or two strings, got a string (\"1\") and a number (2)"
        );
        for op in [BinaryOp::Le, BinaryOp::Gt, BinaryOp::Ge] {
            assert!(bin(op, json!(null), json!(null)).is_err());
            assert!(bin(op, json!(true), json!(false)).is_err());
            assert!(bin(op, json!([1]), json!([1])).is_err());
        }
    }

    #[test]
    fn in_on_arrays_and_objects() {
        assert_eq!(
            bin(BinaryOp::In, json!(2), json!([1, 2.0])),
            Ok(json!(true))
        );
        assert_eq!(
            bin(BinaryOp::In, json!("x"), json!([1, 2])),
            Ok(json!(false))
        );
        assert_eq!(
            bin(BinaryOp::In, json!("a"), json!({"a": 0})),
            Ok(json!(true))
        );
        assert_eq!(
            bin(BinaryOp::In, json!("b"), json!({"a": 0})),
            Ok(json!(false))
        );
        assert_eq!(
            err(BinaryOp::In, json!(1), json!({"1": 0})),
            "in: an object's keys are strings, got a number (1)"
        );
        assert_eq!(
            err(BinaryOp::In, json!("a"), json!("abc")),
            "in expects an array or an object on the right, got a string (\"abc\")"
        );
    }

    #[test]
    fn add_on_numbers_and_strings() {
        assert_eq!(bin(BinaryOp::Add, json!(1), json!(2)), Ok(json!(3)));
        assert_eq!(bin(BinaryOp::Add, json!(1), json!(0.5)), Ok(json!(1.5)));
        assert_eq!(bin(BinaryOp::Add, json!("a"), json!("b")), Ok(json!("ab")));
        assert_eq!(
            err(BinaryOp::Add, json!("a"), json!(1)),
            "+ expects two numbers or two strings, got a string (\"a\") and a number (1)"
        );
        assert_eq!(
            err(BinaryOp::Add, json!(i64::MAX), json!(1)),
            "integer overflow"
        );
    }

    #[test]
    fn sub_and_mul() {
        assert_eq!(bin(BinaryOp::Sub, json!(1), json!(3)), Ok(json!(-2)));
        assert_eq!(bin(BinaryOp::Sub, json!(1.5), json!(1)), Ok(json!(0.5)));
        assert_eq!(bin(BinaryOp::Mul, json!(4), json!(-3)), Ok(json!(-12)));
        assert_eq!(bin(BinaryOp::Mul, json!(0.5), json!(4)), Ok(json!(2.0)));
        assert_eq!(
            err(BinaryOp::Sub, json!("a"), json!("b")),
            "- expects two numbers, got a string (\"a\") and a string (\"b\")"
        );
        assert!(bin(BinaryOp::Mul, json!(null), json!(2)).is_err());
        assert_eq!(
            err(BinaryOp::Mul, json!(i64::MAX), json!(2)),
            "integer overflow"
        );
        assert!(bin(BinaryOp::Mul, json!(1e300), json!(1e300)).is_err());
    }

    #[test]
    fn div_keeps_exact_integers() {
        assert_eq!(bin(BinaryOp::Div, json!(6), json!(3)), Ok(json!(2)));
        assert_eq!(bin(BinaryOp::Div, json!(7), json!(2)), Ok(json!(3.5)));
        assert_eq!(bin(BinaryOp::Div, json!(1.0), json!(4)), Ok(json!(0.25)));
        assert_eq!(err(BinaryOp::Div, json!(1), json!(0)), "division by zero");
        assert_eq!(
            err(BinaryOp::Div, json!(1.5), json!(0.0)),
            "division by zero"
        );
        assert_eq!(
            err(BinaryOp::Div, json!(i64::MIN), json!(-1)),
            "integer overflow"
        );
        assert!(bin(BinaryOp::Div, json!(true), json!(1)).is_err());
    }

    #[test]
    fn modulo() {
        assert_eq!(bin(BinaryOp::Mod, json!(7), json!(3)), Ok(json!(1)));
        assert_eq!(bin(BinaryOp::Mod, json!(-7), json!(3)), Ok(json!(-1)));
        assert_eq!(bin(BinaryOp::Mod, json!(7.5), json!(2)), Ok(json!(1.5)));
        assert_eq!(err(BinaryOp::Mod, json!(7), json!(0)), "division by zero");
        assert!(bin(BinaryOp::Mod, json!("7"), json!(2)).is_err());
    }

    #[test]
    fn non_short_circuit_logic_on_values() {
        assert_eq!(
            bin(BinaryOp::And, json!(true), json!(false)),
            Ok(json!(false))
        );
        assert_eq!(
            bin(BinaryOp::Or, json!(true), json!(false)),
            Ok(json!(true))
        );
        assert!(bin(BinaryOp::Or, json!(0), json!(false)).is_err());
    }

    #[test]
    fn not_and_negation() {
        assert_eq!(unary(UnaryOp::Not, json!(true)), Ok(json!(false)));
        assert_eq!(
            unary(UnaryOp::Not, json!(1)).unwrap_err().message,
            "! expects a boolean, got a number (1)"
        );
        assert_eq!(unary(UnaryOp::Neg, json!(5)), Ok(json!(-5)));
        assert_eq!(unary(UnaryOp::Neg, json!(-2.5)), Ok(json!(2.5)));
        assert_eq!(
            unary(UnaryOp::Neg, json!(u64::MAX)),
            Ok(json!(-(u64::MAX as f64)))
        );
        assert!(unary(UnaryOp::Neg, json!(i64::MIN)).is_err());
        assert_eq!(
            unary(UnaryOp::Neg, json!("5")).unwrap_err().message,
            "unary - expects a number, got a string (\"5\")"
        );
    }

    #[test]
    fn describe_truncates_long_values() {
        let long = "x".repeat(100);
        let shown = describe(&json!(long));
        assert!(shown.starts_with("a string (\"xxx"));
        assert!(shown.ends_with("…)"));
        assert_eq!(describe(&json!(true)), "a boolean (true)");
        assert_eq!(describe(&json!({"a": 1})), "an object");
    }
}
