//! A definition's dialect told from its text: every example of each language in `tests/data`
//! is recognized as its own, and compiles, valid or broken, as through its language's parser.

mod support;

use sluice_lang::{Dialect, compile, detect};

type Parse = fn(&str) -> Result<sluice_ir::Flow, sluice_lang::DefinitionError>;

/// As `sluice run` compiles a file: detected, or else CloudFlow (whose errors list its forms).
fn compile_detected(text: &str) -> Result<sluice_ir::Flow, sluice_lang::DefinitionError> {
    compile(detect(text).unwrap_or(Dialect::CloudFlow), text)
}

#[test]
fn every_example_is_recognized_as_its_dialect() {
    let examples = [
        ("cloudflow", "yaml", Dialect::CloudFlow),
        ("cloudflow/invalid", "yaml", Dialect::CloudFlow),
        ("dataarts", "json", Dialect::DataArts),
        ("dataarts/invalid", "json", Dialect::DataArts),
        ("functiongraph/v2", "json", Dialect::FunctionGraphV2),
        ("functiongraph/v2/invalid", "json", Dialect::FunctionGraphV2),
        ("functiongraph/v1/invalid", "json", Dialect::FunctionGraphV1),
    ];
    let mut wrong = Vec::new();
    for (dir, extension, dialect) in examples {
        let files = support::data_files(dir, extension);
        assert!(!files.is_empty(), "no examples in {dir}");
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let found = detect(&text);
            // Some broken examples are of no shape at all (no map, an unknown form, no nodes).
            let shapeless = dir.ends_with("invalid") && found.is_none();
            if found != Some(dialect) && !shapeless {
                wrong.push(format!("{}: {found:?}, not {dialect:?}", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn valid_examples_compile_as_through_their_language() {
    let parsers: [(&str, &str, Parse); 3] = [
        ("cloudflow", "yaml", sluice_lang::cloudflow::parse),
        ("dataarts", "json", sluice_lang::dataarts::parse),
        (
            "functiongraph/v2",
            "json",
            sluice_lang::functiongraph::parse_v2,
        ),
    ];
    for (dir, extension, parse) in parsers {
        for path in support::data_files(dir, extension) {
            let text = std::fs::read_to_string(&path).unwrap();
            let compiled = compile_detected(&text);
            assert!(compiled.is_ok(), "{}: {compiled:?}", path.display());
            assert_eq!(compiled, parse(&text), "{}", path.display());
        }
    }
}

#[test]
fn broken_examples_report_their_languages_located_problems() {
    for (dir, extension) in [
        ("cloudflow/invalid", "yaml"),
        ("dataarts/invalid", "json"),
        ("functiongraph/v2/invalid", "json"),
        ("functiongraph/v1/invalid", "json"),
    ] {
        let checked = support::check_invalid_dir(dir, extension, compile_detected);
        assert!(checked > 0, "no examples in {dir}");
    }
}

#[test]
fn text_of_no_dialect_is_not_guessed_and_is_refused() {
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
    support::refuses_garbage(compile_detected);
}
