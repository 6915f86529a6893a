//! A definition's dialect told from its text: every example of each language in `tests/data`
//! is recognized as its own, and compiles as it does through its language's parser.

use std::path::{Path, PathBuf};

use sluice_lang::{Dialect, compile, detect};

fn files(dir: &str, extension: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no examples in {}", dir.display());
    files
}

#[test]
fn every_example_is_recognized_as_its_dialect() {
    let examples = [
        ("cloudflow", "yaml", Dialect::CloudFlow),
        ("cloudflow/invalid", "yaml", Dialect::CloudFlow),
        ("dataarts", "json", Dialect::DataArts),
        ("functiongraph/v2", "json", Dialect::FunctionGraphV2),
        ("functiongraph/v1/invalid", "json", Dialect::FunctionGraphV1),
    ];
    let mut wrong = Vec::new();
    for (dir, extension, dialect) in examples {
        for path in files(dir, extension) {
            let text = std::fs::read_to_string(&path).unwrap();
            let found = detect(&text);
            // Broken CloudFlow examples include ones that are no map or of no known form.
            let undetectable = dir == "cloudflow/invalid" && found.is_none();
            if found != Some(dialect) && !undetectable {
                wrong.push(format!("{}: {found:?}, not {dialect:?}", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn a_detected_dialect_compiles_as_its_language_does() {
    for path in files("cloudflow", "yaml") {
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            compile(Dialect::CloudFlow, &text),
            sluice_lang::cloudflow::parse(&text)
        );
    }
    for path in files("functiongraph/v2", "json") {
        let text = std::fs::read_to_string(&path).unwrap();
        let dialect = detect(&text).unwrap();
        assert_eq!(
            compile(dialect, &text),
            sluice_lang::functiongraph::parse_v2(&text)
        );
    }
    for path in files("dataarts", "json") {
        let text = std::fs::read_to_string(&path).unwrap();
        let dialect = detect(&text).unwrap();
        assert_eq!(compile(dialect, &text), sluice_lang::dataarts::parse(&text));
    }
}

#[test]
fn text_of_no_dialect_is_not_guessed() {
    for text in [
        "",
        "[1, 2]",
        "just words",
        "{}",
        "{\"states\": 3}",
        "Name: x",
    ] {
        assert_eq!(detect(text), None, "{text:?}");
    }
}
