//! `sluice --help` and `sluice serve --help` describe the whole server: every dialect it
//! serves and both stores.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .output()
        .expect("sluice runs");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn the_help_names_every_dialect_and_both_stores() {
    for args in [&["--help"][..], &["serve", "--help"]] {
        let text = help(args);
        for name in [
            "CloudFlow",
            "FunctionGraph",
            "v1.0",
            "DataArts",
            "GES",
            "Step Functions",
            "SQLite",
            "PostgreSQL",
        ] {
            assert!(
                text.contains(name),
                "{args:?} does not mention {name}:\n{text}"
            );
        }
    }
    let serve = help(&["serve", "--help"]);
    for setting in [
        "/healthz",
        "/metrics",
        "--header-timeout",
        "--max-connections",
        "--metrics-key",
    ] {
        assert!(
            serve.contains(setting),
            "serve --help does not mention {setting}"
        );
    }
}
