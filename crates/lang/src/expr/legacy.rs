//! Legacy Serverless Workflow expressions: `$.status == "ready"` in choice conditions,
//! `$input.x`, `$local[*].name`, `$context.execution.name` in mappings.

use sluice_ir::expr::{Expr, Root, Segment};

use super::ExprSyntaxError;
use super::parser::{Syntax, parse};

/// The variables of legacy expressions (names without the `$`; `$` alone is the input).
pub(super) const VARIABLES: [(&str, Root); 4] = [
    ("", Root::Input),
    ("input", Root::Input),
    ("local", Root::Local),
    ("context", Root::Context),
];

/// Parses a legacy expression (a condition, a mapping source, a `collection`).
pub fn parse_legacy(src: &str) -> Result<Expr, ExprSyntaxError> {
    parse(src, Syntax::Legacy)
}

/// Maps a `$context` path onto the CloudFlow `$Context` structure the engine builds:
/// `execution.name` → `Execution.Name`, `step.name` → `Current.Name`. Only the structural
/// part is renamed: below an `Input`/`Output` the keys are user data and stay as written.
pub(super) fn context_segments(segments: Vec<Segment>) -> Vec<Segment> {
    let mut structural = true;
    segments
        .into_iter()
        .enumerate()
        .map(|(position, segment)| match segment {
            Segment::Field(name) if structural => {
                let mapped = if position == 0 && name == "step" {
                    "Current".to_string()
                } else {
                    capitalise(&name)
                };
                structural = !matches!(mapped.as_str(), "Input" | "Output");
                Segment::Field(mapped)
            }
            other => {
                structural = false;
                other
            }
        })
        .collect()
}

fn capitalise(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_ir::expr::{BinaryOp, Env};

    use super::*;

    fn parsed(src: &str) -> Expr {
        match parse_legacy(src) {
            Ok(e) => e,
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn error(src: &str) -> ExprSyntaxError {
        match parse_legacy(src) {
            Err(e) => e,
            Ok(e) => panic!("{src}: expected an error, got {e:?}"),
        }
    }

    fn eval(src: &str, input: Value) -> Result<Value, String> {
        let context = || json!({"Execution": {"Name": "e1", "Input": {"user": 1}}, "Current": {"Name": "s1"}});
        let local = json!([{"name": "a"}, {"name": "b"}]);
        let mut env = Env::new(&input, &context, 1);
        env.local = Some(&local);
        parsed(src).eval(&env).map_err(|e| e.message)
    }

    fn path(root: Root, fields: &[&str]) -> Expr {
        let segments = fields
            .iter()
            .map(|f| Segment::Field(f.to_string()))
            .collect();
        Expr::Path(Box::new(Expr::Var(root)), segments)
    }

    #[test]
    fn dollar_is_the_input() {
        assert_eq!(parsed("$"), Expr::Var(Root::Input));
        assert_eq!(parsed("$.status"), path(Root::Input, &["status"]));
        assert_eq!(parsed("$input.x"), path(Root::Input, &["x"]));
        assert_eq!(
            parsed("$[0]"),
            Expr::Path(Box::new(Expr::Var(Root::Input)), vec![Segment::Index(0)])
        );
    }

    #[test]
    fn local_paths_with_wildcards() {
        assert_eq!(
            parsed("$local[*].name"),
            Expr::Path(
                Box::new(Expr::Var(Root::Local)),
                vec![Segment::Wildcard, Segment::Field("name".into())]
            )
        );
        assert_eq!(eval("$local[*].name", json!({})), Ok(json!(["a", "b"])));
    }

    #[test]
    fn context_paths_map_to_cloudflow_structure() {
        assert_eq!(
            parsed("$context.execution.name"),
            path(Root::Context, &["Execution", "Name"])
        );
        assert_eq!(
            parsed("$context.step.name"),
            path(Root::Context, &["Current", "Name"])
        );
        assert_eq!(
            parsed("$context.execution.input.userKey"),
            path(Root::Context, &["Execution", "Input", "userKey"])
        );
        assert_eq!(eval("$context.execution.name", json!({})), Ok(json!("e1")));
        assert_eq!(eval("$context.step.name", json!({})), Ok(json!("s1")));
        assert_eq!(
            eval("$context.execution.input.user", json!({})),
            Ok(json!(1))
        );
    }

    #[test]
    fn context_segment_mapping() {
        let fields = |names: &[&str]| {
            names
                .iter()
                .map(|n| Segment::Field(n.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            context_segments(fields(&["execution", "roleArn"])),
            fields(&["Execution", "RoleArn"])
        );
        assert_eq!(
            context_segments(fields(&["current", "step"])),
            fields(&["Current", "Step"])
        );
        assert_eq!(
            context_segments(vec![Segment::Wildcard, Segment::Field("x".into())]),
            vec![Segment::Wildcard, Segment::Field("x".into())]
        );
        assert_eq!(capitalise(""), "");
        assert_eq!(capitalise("éa"), "Éa");
    }

    #[test]
    fn conditions_use_the_shared_operators() {
        assert_eq!(
            parsed(r#"$.status == "ready""#),
            Expr::Binary(
                BinaryOp::Eq,
                Box::new(path(Root::Input, &["status"])),
                Box::new(Expr::Literal(json!("ready")))
            )
        );
        let cond = r#"$.status == "ready" && $.count >= 2 || !($.x in [1, 2])"#;
        assert_eq!(
            eval(cond, json!({"status": "ready", "count": 2, "x": 1})),
            Ok(json!(true))
        );
        assert_eq!(
            eval(cond, json!({"status": "no", "count": 2, "x": 1})),
            Ok(json!(false))
        );
        assert_eq!(
            eval(cond, json!({"status": "no", "count": 2, "x": 3})),
            Ok(json!(true))
        );
        assert_eq!(eval("$.a + $.b * 2", json!({"a": 1, "b": 3})), Ok(json!(7)));
        assert_eq!(eval("$.a < 'b'", json!({"a": "a"})), Ok(json!(true)));
        assert_eq!(eval("$.a != null", json!({"a": null})), Ok(json!(false)));
        assert_eq!(eval("$.a > 1.5", json!({"a": 2})), Ok(json!(true)));
        assert_eq!(eval("$.a <= -1", json!({"a": -1})), Ok(json!(true)));
        assert_eq!(
            eval(
                "$.a - 1 == 0 && $.a % 1 == 0 && $.a / 1 == 1",
                json!({"a": 1})
            ),
            Ok(json!(true))
        );
        assert_eq!(
            eval("$.missing == 1", json!({})),
            Err("$Input.missing: key 'missing' not found".into())
        );
    }

    #[test]
    fn literals_are_shared() {
        assert_eq!(
            eval("[1, 'a', `b`, true, false, null, -2.5]", json!({})),
            Ok(json!([1, "a", "b", true, false, null, -2.5]))
        );
    }

    #[test]
    fn errors_name_the_legacy_variables() {
        let e = error("$Input.a == 1");
        assert_eq!(e.column, 1);
        assert_eq!(
            e.message,
            "unknown variable '$Input'; expected one of: $, $input, $local, $context"
        );
        let e = error("$.a ==");
        assert_eq!(
            (e.column, e.message.as_str()),
            (7, "expected an expression, found the end of the expression")
        );
        assert_eq!(error("$.a == 'x").column, 8);
        assert_eq!(error("foo($.a)").column, 1);
        assert_eq!(error("$.a $.b").column, 5);
    }
}
