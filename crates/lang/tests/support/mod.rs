//! Shared by the language tests: invalid definitions with their expected located problems.

use std::path::{Path, PathBuf};

use sluice_ir::Flow;
use sluice_lang::DefinitionError;

/// The `*.{extension}` files of `dir` (under `tests/data/`), in name order.
pub fn data_files(dir: &str, extension: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// Checks every `*.{extension}` file of `dir` (under `tests/data/`) against its `.expected`
/// sibling: one line per problem, `line:column: message fragment`, in order. Returns how many
/// files were checked; panics listing every mismatch.
pub fn check_invalid_dir(
    dir: &str,
    extension: &str,
    parse: fn(&str) -> Result<Flow, DefinitionError>,
) -> usize {
    let entries = data_files(dir, extension);
    let failures: Vec<String> = entries
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            check(parse, &text, &expected)
                .err()
                .map(|why| format!("{name}: {why}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    entries.len()
}

fn check(
    parse: fn(&str) -> Result<Flow, DefinitionError>,
    text: &str,
    expected: &str,
) -> Result<(), String> {
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

/// Garbage every language must refuse, not panic on: empty text, the wrong JSON types, broken
/// syntax, maps where lists belong and lists where maps belong.
pub fn refuses_garbage(parse: fn(&str) -> Result<Flow, DefinitionError>) {
    for text in [
        "",
        "[]",
        "{",
        "\"x\"",
        "{\"states\": 3, \"nodes\": 3}",
        "{\"states\": [{}], \"nodes\": [{}]}",
        "{\"states\": {\"a\": []}, \"nodes\": [[]]}",
        "{\"name\": 1, \"start\": {}, \"states\": {\"a\": {\"type\": 1}}}",
    ] {
        assert!(parse(text).is_err(), "{text}");
    }
}
