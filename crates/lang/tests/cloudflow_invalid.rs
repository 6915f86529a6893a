//! Each file in `tests/data/cloudflow/invalid/` is rejected with the problems listed in its
//! `.expected` sibling: one line per problem, `line:column: message fragment`, in order.

use std::path::Path;

use sluice_lang::cloudflow::parse;

#[test]
fn invalid_definitions_report_located_problems() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cloudflow/invalid");
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if let Err(why) = check(&text, &expected) {
            failures.push(format!("{name}: {why}"));
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} invalid examples found");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn check(text: &str, expected: &str) -> Result<(), String> {
    let error = match parse(text) {
        Ok(_) => return Err("accepted".into()),
        Err(e) => e,
    };
    let expected: Vec<&str> = expected.lines().filter(|l| !l.is_empty()).collect();
    if error.problems.len() != expected.len() {
        return Err(format!(
            "expected {} problem(s), got {}:\n{error}",
            expected.len(),
            error.problems.len()
        ));
    }
    for (problem, line) in error.problems.iter().zip(&expected) {
        let (position, fragment) = line.split_once(": ").ok_or("bad .expected line")?;
        let (l, c) = position.split_once(':').ok_or("bad position")?;
        let at = (problem.line, problem.column);
        let want = (l.parse().ok(), c.parse().ok());
        if at != want || !problem.message.contains(fragment) {
            return Err(format!("expected {line}\n     got {problem}"));
        }
    }
    Ok(())
}

#[test]
fn display_names_line_column_and_state() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cloudflow/invalid/unknown-next.yaml"),
    )
    .unwrap();
    let error = parse(&text).unwrap_err();
    assert_eq!(
        error.problems[0].to_string(),
        "line 8, column 11, state \"Pass1\": unknown Next \"Pas2\" (did you mean \"Pass2\"?); states in this scope: Pass1, Pass2, Pass3"
    );
}
