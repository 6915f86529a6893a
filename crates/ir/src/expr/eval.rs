use std::cell::{Cell, OnceCell};

use serde_json::{Map, Value};

use super::ast::{BinaryOp, Expr, Root, Segment, UnaryOp};
use super::functions;
use super::ops;
use super::random;

/// Bounds the recursion of [`Expr::eval`]: parsers already reject deeper input, but an AST can
/// also be built by hand or deserialised.
const MAX_EVAL_DEPTH: usize = 256;

/// What an expression can see. Absent roots evaluate to an error naming the variable.
///
/// Built with [`Env::new`]; the optional roots are then set field by field.
pub struct Env<'a> {
    pub input: &'a Value,
    pub output: Option<&'a Value>,
    pub local: Option<&'a Value>,
    pub item: Option<&'a Value>,
    pub global: Option<&'a Value>,
    pub constants: Option<&'a Value>,
    /// Builds `$Context` on demand: most expressions never read it.
    pub context: &'a dyn Fn() -> Value,
    /// Seed for `randomInt` and `uuid` (deterministic per execution and step).
    pub seed: u64,
    /// `$Context` once built, so that several reads build it once.
    context_cache: OnceCell<Value>,
    /// How many random draws this environment has handed out: the n-th draw depends only on
    /// `seed` and n, so replaying the same evaluations gives the same values.
    draws: Cell<u64>,
}

impl<'a> Env<'a> {
    pub fn new(input: &'a Value, context: &'a dyn Fn() -> Value, seed: u64) -> Self {
        Self {
            input,
            output: None,
            local: None,
            item: None,
            global: None,
            constants: None,
            context,
            seed,
            context_cache: OnceCell::new(),
            draws: Cell::new(0),
        }
    }

    /// The value of a variable, or an error if this environment does not provide it.
    pub fn root(&self, root: Root) -> Result<&Value, EvalError> {
        let value = match root {
            Root::Input => Some(self.input),
            Root::Context => Some(self.context_cache.get_or_init(|| (self.context)())),
            Root::Output => self.output,
            Root::Local => self.local,
            Root::Item => self.item,
            Root::Global => self.global,
            Root::Const => self.constants,
        };
        value.ok_or_else(|| EvalError::new(format!("{} is not available here", root.name())))
    }

    /// The next pseudo-random 64-bit value (splitmix64 over the seed and the draw counter).
    pub(super) fn next_random(&self) -> u64 {
        let n = self.draws.get();
        self.draws.set(n.wrapping_add(1));
        random::draw(self.seed, n)
    }
}

/// A run-time evaluation failure: never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
}

impl EvalError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// How a path reads a value that is not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Absent {
    /// A missing key or index is an error naming the path (constructors, `ItemsPath`,
    /// `Seconds.$`, mappings: a typo must not turn silently into `null`).
    Fails,
    /// It reads as `null`, and `null` counts as false where a boolean is wanted
    /// ([`Expr::AbsentAsNull`]: Choice conditions).
    IsNull,
}

/// Where an evaluation is: how deep, and how absent values read.
#[derive(Clone, Copy)]
struct At {
    depth: usize,
    absent: Absent,
}

impl At {
    fn deeper(self) -> Result<At, EvalError> {
        if self.depth > MAX_EVAL_DEPTH {
            return Err(EvalError::new("expression is nested too deeply"));
        }
        Ok(At {
            depth: self.depth + 1,
            ..self
        })
    }

    fn lenient(self) -> bool {
        self.absent == Absent::IsNull
    }
}

static NULL: Value = Value::Null;

impl Expr {
    pub fn eval(&self, env: &Env<'_>) -> Result<Value, EvalError> {
        self.eval_at(
            env,
            At {
                depth: 0,
                absent: Absent::Fails,
            },
        )
    }

    fn eval_at(&self, env: &Env<'_>, at: At) -> Result<Value, EvalError> {
        let at = at.deeper()?;
        match self {
            Expr::Literal(v) => Ok(v.clone()),
            Expr::Var(root) => env.root(*root).cloned(),
            Expr::Path(base, segments) => eval_path(base, segments, env, at),
            Expr::Call(function, args) => {
                let values = eval_all(args, env, at)?;
                functions::call(*function, values, env)
            }
            Expr::Unary(UnaryOp::Not, e) if at.lenient() => match e.eval_at(env, at)? {
                Value::Null => Ok(Value::Bool(true)),
                value => ops::unary(UnaryOp::Not, value),
            },
            Expr::Unary(op, e) => ops::unary(*op, e.eval_at(env, at)?),
            Expr::Binary(BinaryOp::And, a, b) => logical(a, b, env, at, false),
            Expr::Binary(BinaryOp::Or, a, b) => logical(a, b, env, at, true),
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.eval_at(env, at)?, b.eval_at(env, at)?);
                if at.lenient() && null_makes_false(*op, &a, &b) {
                    return Ok(Value::Bool(false));
                }
                ops::binary(*op, &a, &b)
            }
            Expr::Array(items) => eval_all(items, env, at).map(Value::Array),
            Expr::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (key, value) in fields {
                    map.insert(key.clone(), value.eval_at(env, at)?);
                }
                Ok(Value::Object(map))
            }
            Expr::AbsentAsNull(e) => e.eval_at(
                env,
                At {
                    absent: Absent::IsNull,
                    ..at
                },
            ),
        }
    }
}

/// With absent values read as `null`: an ordering or `in` with a `null` side is false rather
/// than a type error (`$Input.size > 10` on an input without `size`).
fn null_makes_false(op: BinaryOp, a: &Value, b: &Value) -> bool {
    let ordering_or_in = matches!(
        op,
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::In
    );
    ordering_or_in && (a.is_null() || b.is_null())
}

fn eval_all(exprs: &[Expr], env: &Env<'_>, at: At) -> Result<Vec<Value>, EvalError> {
    exprs.iter().map(|e| e.eval_at(env, at)).collect()
}

/// `&&` (`short_on` false) and `||` (`short_on` true): the right side is only evaluated when
/// the left side does not decide the result, so `$Input.a != null && $Input.a.b` is safe.
fn logical(a: &Expr, b: &Expr, env: &Env<'_>, at: At, short_on: bool) -> Result<Value, EvalError> {
    let op = if short_on {
        BinaryOp::Or
    } else {
        BinaryOp::And
    };
    let truth = |value: Value| match value {
        Value::Null if at.lenient() => Ok(false),
        value => ops::expect_bool(op, &value),
    };
    let left = truth(a.eval_at(env, at)?)?;
    if left == short_on {
        return Ok(Value::Bool(left));
    }
    truth(b.eval_at(env, at)?).map(Value::Bool)
}

/// Walks a path without cloning the root: variables are borrowed from the environment, and
/// only the selected part is copied.
fn eval_path(base: &Expr, segments: &[Segment], env: &Env<'_>, at: At) -> Result<Value, EvalError> {
    let path = PathView {
        base,
        segments,
        absent: at.absent,
    };
    match base {
        Expr::Var(root) => path.walk(env.root(*root)?, 0),
        other => path.walk(&other.eval_at(env, at)?, 0),
    }
}

/// A path being evaluated; knows how to name a prefix of itself for error messages.
struct PathView<'p> {
    base: &'p Expr,
    segments: &'p [Segment],
    absent: Absent,
}

impl PathView<'_> {
    /// Applies `segments[position..]` to `value`.
    fn walk(&self, mut value: &Value, position: usize) -> Result<Value, EvalError> {
        for (offset, segment) in self.segments.iter().enumerate().skip(position) {
            if value.is_null() && self.absent == Absent::IsNull {
                return Ok(Value::Null);
            }
            value = match segment {
                Segment::Field(name) => self.field(value, name, offset)?,
                Segment::Index(index) => self.index(value, *index, offset)?,
                Segment::Wildcard => return self.wildcard(value, offset),
            };
        }
        Ok(value.clone())
    }

    /// `Ok(null)` for something absent when absent values read as null, else the error.
    fn absent<'v>(&self, offset: usize, reason: String) -> Result<&'v Value, EvalError> {
        match self.absent {
            Absent::IsNull => Ok(&NULL),
            Absent::Fails => Err(self.error(offset, reason)),
        }
    }

    fn field<'v>(
        &self,
        value: &'v Value,
        name: &str,
        offset: usize,
    ) -> Result<&'v Value, EvalError> {
        match value {
            Value::Object(map) => match map.get(name) {
                Some(found) => Ok(found),
                None => self.absent(offset, format!("key '{name}' not found")),
            },
            other => Err(self.error(
                offset,
                format!("cannot read field '{name}' of {}", ops::describe(other)),
            )),
        }
    }

    fn index<'v>(
        &self,
        value: &'v Value,
        index: i64,
        offset: usize,
    ) -> Result<&'v Value, EvalError> {
        let Value::Array(items) = value else {
            return Err(self.error(offset, format!("cannot index {}", ops::describe(value))));
        };
        match resolve_index(index, items.len()).and_then(|i| items.get(i)) {
            Some(found) => Ok(found),
            None => self.absent(
                offset,
                format!("index {index} out of range (length {})", items.len()),
            ),
        }
    }

    /// `[*]`: the rest of the path applied to each element (or each value of an object).
    fn wildcard(&self, value: &Value, offset: usize) -> Result<Value, EvalError> {
        let rest = offset + 1;
        let results: Result<Vec<Value>, EvalError> = match value {
            Value::Array(items) => items.iter().map(|v| self.walk(v, rest)).collect(),
            Value::Object(map) => map.values().map(|v| self.walk(v, rest)).collect(),
            other => {
                return Err(self.error(
                    offset,
                    format!("cannot iterate over {}", ops::describe(other)),
                ));
            }
        };
        results.map(Value::Array)
    }

    /// "`$Input.a.b`: reason", naming the path up to and including the failing segment.
    fn error(&self, offset: usize, reason: String) -> EvalError {
        let mut name = self.base.to_string();
        for segment in self.segments.iter().take(offset + 1) {
            name.push_str(&segment.to_string());
        }
        EvalError::new(format!("{name}: {reason}"))
    }
}

/// Maps a possibly negative index (counting from the end) into `0..len`.
pub(super) fn resolve_index(index: i64, len: usize) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index).ok().filter(|i| *i < len)
    } else {
        let back = usize::try_from(index.unsigned_abs()).ok()?;
        len.checked_sub(back)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::*;

    pub(in crate::expr) fn no_context() -> Value {
        json!({"Execution": {"Name": "exec-1"}, "Current": {"Name": "S1"}})
    }

    pub(in crate::expr) fn eval_with(expr: &Expr, input: Value) -> Result<Value, EvalError> {
        let context = no_context;
        let env = Env::new(&input, &context, 7);
        expr.eval(&env)
    }

    pub(in crate::expr) fn lit(v: Value) -> Expr {
        Expr::Literal(v)
    }

    fn path(root: Root, segments: Vec<Segment>) -> Expr {
        Expr::Path(Box::new(Expr::Var(root)), segments)
    }

    fn field(name: &str) -> Segment {
        Segment::Field(name.into())
    }

    fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
        Expr::Binary(op, Box::new(a), Box::new(b))
    }

    #[test]
    fn missing_key_names_the_path() {
        let e = path(Root::Input, vec![field("status")]);
        let err = eval_with(&e, json!({"other": 1})).unwrap_err();
        assert_eq!(err.message, "$Input.status: key 'status' not found");
    }

    #[test]
    fn nested_missing_key_names_the_prefix_only() {
        let e = path(Root::Input, vec![field("a"), field("b"), field("c")]);
        let err = eval_with(&e, json!({"a": {"x": 1}})).unwrap_err();
        assert_eq!(err.message, "$Input.a.b: key 'b' not found");
    }

    #[test]
    fn field_of_non_object_is_an_error() {
        let e = path(Root::Input, vec![field("a"), field("b")]);
        let err = eval_with(&e, json!({"a": 3})).unwrap_err();
        assert_eq!(
            err.message,
            "$Input.a.b: cannot read field 'b' of a number (3)"
        );
    }

    #[test]
    fn indexes_count_from_both_ends() {
        let input = json!({"xs": [10, 20, 30]});
        let at = |i| {
            eval_with(
                &path(Root::Input, vec![field("xs"), Segment::Index(i)]),
                input.clone(),
            )
        };
        assert_eq!(at(0), Ok(json!(10)));
        assert_eq!(at(2), Ok(json!(30)));
        assert_eq!(at(-1), Ok(json!(30)));
        assert_eq!(at(-3), Ok(json!(10)));
        assert_eq!(
            at(3).unwrap_err().message,
            "$Input.xs[3]: index 3 out of range (length 3)"
        );
        assert!(at(-4).is_err());
        assert!(at(i64::MIN).is_err());
    }

    #[test]
    fn wildcard_maps_the_rest_of_the_path() {
        let e = path(
            Root::Input,
            vec![field("xs"), Segment::Wildcard, field("name")],
        );
        let input = json!({"xs": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(eval_with(&e, input), Ok(json!(["a", "b"])));
    }

    #[test]
    fn nested_wildcards_give_nested_arrays() {
        let e = path(
            Root::Input,
            vec![Segment::Wildcard, field("v"), Segment::Wildcard],
        );
        let input = json!([{"v": [1, 2]}, {"v": [3]}]);
        assert_eq!(eval_with(&e, input), Ok(json!([[1, 2], [3]])));
    }

    #[test]
    fn wildcard_over_object_values_and_errors() {
        let e = path(Root::Input, vec![Segment::Wildcard]);
        assert_eq!(eval_with(&e, json!({"a": 1, "b": 2})), Ok(json!([1, 2])));
        assert_eq!(
            eval_with(&e, json!("s")).unwrap_err().message,
            "$Input[*]: cannot iterate over a string (\"s\")"
        );
        let e = path(Root::Input, vec![Segment::Wildcard, field("k")]);
        assert_eq!(
            eval_with(&e, json!([{"k": 1}, {}])).unwrap_err().message,
            "$Input[*].k: key 'k' not found"
        );
    }

    #[test]
    fn absent_roots_are_errors() {
        for root in [
            Root::Output,
            Root::Local,
            Root::Item,
            Root::Global,
            Root::Const,
        ] {
            let err = eval_with(&Expr::Var(root), json!({})).unwrap_err();
            assert_eq!(
                err.message,
                format!("{} is not available here", root.name())
            );
        }
    }

    #[test]
    fn roots_come_from_the_environment() {
        let input = json!({"i": 1});
        let output = json!({"o": 2});
        let context = no_context;
        let mut env = Env::new(&input, &context, 0);
        env.output = Some(&output);
        assert_eq!(Expr::Var(Root::Input).eval(&env), Ok(input.clone()));
        assert_eq!(Expr::Var(Root::Output).eval(&env), Ok(output.clone()));
        let name = path(Root::Context, vec![field("Execution"), field("Name")]);
        assert_eq!(name.eval(&env), Ok(json!("exec-1")));
    }

    #[test]
    fn context_is_built_once_and_only_when_read() {
        let builds = Cell::new(0);
        let context = || {
            builds.set(builds.get() + 1);
            no_context()
        };
        let input = json!(null);
        let env = Env::new(&input, &context, 0);
        Expr::Var(Root::Input).eval(&env).unwrap();
        assert_eq!(builds.get(), 0);
        Expr::Var(Root::Context).eval(&env).unwrap();
        path(Root::Context, vec![field("Current")])
            .eval(&env)
            .unwrap();
        assert_eq!(builds.get(), 1);
    }

    #[test]
    fn paths_apply_to_computed_values() {
        let e = Expr::Path(
            Box::new(Expr::Array(vec![lit(json!(1)), lit(json!(2))])),
            vec![Segment::Index(-1)],
        );
        assert_eq!(eval_with(&e, json!(null)), Ok(json!(2)));
    }

    #[test]
    fn and_or_short_circuit() {
        let missing = path(Root::Input, vec![field("missing")]);
        let f = bin(BinaryOp::And, lit(json!(false)), missing.clone());
        assert_eq!(eval_with(&f, json!({})), Ok(json!(false)));
        let t = bin(BinaryOp::Or, lit(json!(true)), missing.clone());
        assert_eq!(eval_with(&t, json!({})), Ok(json!(true)));
        let e = bin(BinaryOp::And, lit(json!(true)), missing);
        assert!(eval_with(&e, json!({})).is_err());
    }

    #[test]
    fn and_or_truth_tables() {
        for (a, b) in [(false, false), (false, true), (true, false), (true, true)] {
            let and = bin(BinaryOp::And, lit(json!(a)), lit(json!(b)));
            let or = bin(BinaryOp::Or, lit(json!(a)), lit(json!(b)));
            assert_eq!(eval_with(&and, json!(null)), Ok(json!(a && b)));
            assert_eq!(eval_with(&or, json!(null)), Ok(json!(a || b)));
        }
    }

    #[test]
    fn and_or_require_booleans() {
        let e = bin(BinaryOp::And, lit(json!(1)), lit(json!(true)));
        assert_eq!(
            eval_with(&e, json!(null)).unwrap_err().message,
            "&& expects booleans, got a number (1)"
        );
        let e = bin(BinaryOp::Or, lit(json!(false)), lit(json!("x")));
        assert!(eval_with(&e, json!(null)).is_err());
    }

    #[test]
    fn comparison_with_missing_key_is_an_error() {
        let e = bin(
            BinaryOp::Eq,
            path(Root::Input, vec![field("status")]),
            lit(json!("ready")),
        );
        assert_eq!(
            eval_with(&e, json!({})).unwrap_err().message,
            "$Input.status: key 'status' not found"
        );
    }

    fn absent_as_null(e: Expr) -> Expr {
        Expr::AbsentAsNull(Box::new(e))
    }

    #[test]
    fn absent_values_read_as_null_inside_absent_as_null() {
        let input = json!({"a": {"x": 1}, "xs": [1], "n": null});
        let reads = [
            path(Root::Input, vec![field("status")]),
            path(Root::Input, vec![field("a"), field("b"), field("c")]),
            path(Root::Input, vec![field("xs"), Segment::Index(5)]),
            path(Root::Input, vec![field("n"), field("deeper")]),
        ];
        for read in reads {
            assert!(eval_with(&read, input.clone()).is_err(), "{read}");
            assert_eq!(
                eval_with(&absent_as_null(read), input.clone()),
                Ok(json!(null))
            );
        }
        let each = path(
            Root::Input,
            vec![field("ys"), Segment::Wildcard, field("k")],
        );
        assert_eq!(
            eval_with(&absent_as_null(each), json!({"ys": [{"k": 1}, {}]})),
            Ok(json!([1, null]))
        );
    }

    #[test]
    fn absent_as_null_keeps_type_errors_and_absent_variables() {
        let e = absent_as_null(path(Root::Input, vec![field("a"), field("b")]));
        assert_eq!(
            eval_with(&e, json!({"a": 3})).unwrap_err().message,
            "$Input.a.b: cannot read field 'b' of a number (3)"
        );
        let output = absent_as_null(path(Root::Output, vec![field("x")]));
        assert_eq!(
            eval_with(&output, json!({})).unwrap_err().message,
            "$Output is not available here"
        );
    }

    #[test]
    fn a_condition_on_an_absent_key_is_false() {
        let status = || path(Root::Input, vec![field("status")]);
        let size = || path(Root::Input, vec![field("size")]);
        let flag = || path(Root::Input, vec![field("flag")]);
        let cases = [
            (bin(BinaryOp::Eq, status(), lit(json!("ready"))), false),
            (bin(BinaryOp::Ne, status(), lit(json!("ready"))), true),
            (bin(BinaryOp::Eq, status(), lit(json!(null))), true),
            (bin(BinaryOp::Gt, size(), lit(json!(10))), false),
            (bin(BinaryOp::Le, lit(json!(10)), size()), false),
            (bin(BinaryOp::In, lit(json!("x")), size()), false),
            (bin(BinaryOp::And, flag(), lit(json!(true))), false),
            (bin(BinaryOp::Or, flag(), lit(json!(true))), true),
            (Expr::Unary(UnaryOp::Not, Box::new(flag())), true),
        ];
        for (condition, expected) in cases {
            let e = absent_as_null(condition.clone());
            assert_eq!(eval_with(&e, json!({})), Ok(json!(expected)), "{condition}");
        }
        let present = absent_as_null(bin(BinaryOp::Gt, size(), lit(json!(10))));
        assert_eq!(eval_with(&present, json!({"size": 11})), Ok(json!(true)));
    }

    #[test]
    fn absent_as_null_still_types_present_values() {
        let e = absent_as_null(bin(
            BinaryOp::Gt,
            path(Root::Input, vec![field("size")]),
            lit(json!(10)),
        ));
        assert_eq!(
            eval_with(&e, json!({"size": "big"})).unwrap_err().message,
            "> compares two numbers or two strings, got a string (\"big\") and a number (10)"
        );
        let call = absent_as_null(Expr::Call(
            crate::expr::Function::Length,
            vec![path(Root::Input, vec![field("items")])],
        ));
        assert_eq!(
            eval_with(&call, json!({})).unwrap_err().message,
            "length: argument 1 must be a string, an array or a map, got null"
        );
    }

    #[test]
    fn objects_and_arrays_evaluate_their_parts() {
        let e = Expr::Object(vec![
            ("a".into(), path(Root::Input, vec![field("x")])),
            (
                "b".into(),
                Expr::Array(vec![lit(json!(1)), Expr::Var(Root::Input)]),
            ),
        ]);
        assert_eq!(
            eval_with(&e, json!({"x": 5})),
            Ok(json!({"a": 5, "b": [1, {"x": 5}]}))
        );
    }

    #[test]
    fn deep_hand_built_expressions_fail_instead_of_overflowing() {
        let mut e = lit(json!(true));
        for _ in 0..(MAX_EVAL_DEPTH + 10) {
            e = Expr::Unary(UnaryOp::Not, Box::new(e));
        }
        assert_eq!(
            eval_with(&e, json!(null)).unwrap_err().message,
            "expression is nested too deeply"
        );
    }

    #[test]
    fn random_draws_depend_only_on_seed_and_count() {
        let input = json!(null);
        let context = no_context;
        let a = Env::new(&input, &context, 42);
        let b = Env::new(&input, &context, 42);
        let c = Env::new(&input, &context, 43);
        let first = a.next_random();
        assert_eq!(first, b.next_random());
        assert_ne!(first, a.next_random());
        assert_ne!(first, c.next_random());
    }
}
