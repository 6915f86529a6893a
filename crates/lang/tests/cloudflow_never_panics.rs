//! No input panics the parser: random text, and the examples mutated byte by byte.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sluice_lang::cloudflow::parse;

fn data_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cloudflow");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("invalid")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A tiny deterministic generator, so that failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % bound.max(1)
    }
}

const INSERTIONS: &[&str] = &[
    " ",
    "\n",
    "\t",
    ":",
    "-",
    "- ",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "&a",
    "*a",
    "$",
    ".$",
    "#",
    "!!str ",
    "|",
    ">",
    "Next: X",
    "End: true",
    "0",
    "-1",
    "1e400",
    "~",
    "\u{e9}",
    "<<: *a",
];

fn mutate(text: &str, rng: &mut Lcg) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=rng.next(4) {
        let at = rng.next(chars.len() + 1);
        match rng.next(4) {
            0 if !chars.is_empty() => {
                chars.remove(at.min(chars.len() - 1));
            }
            1 => {
                let insert = INSERTIONS[rng.next(INSERTIONS.len())];
                chars.splice(at..at, insert.chars());
            }
            2 => chars.truncate(at),
            _ => {
                let lines: Vec<String> = chars
                    .iter()
                    .collect::<String>()
                    .lines()
                    .map(String::from)
                    .collect();
                if lines.len() > 1 {
                    let mut lines = lines;
                    let a = rng.next(lines.len());
                    let b = rng.next(lines.len());
                    lines.swap(a, b);
                    chars = lines.join("\n").chars().collect();
                }
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_examples_never_panic() {
    let mut rng = Lcg(0x5eed);
    for path in data_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for _ in 0..300 {
            let _ = parse(&mutate(&text, &mut rng));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in "([A-Za-z$.:{}\\[\\]\"'&*!|>#,~ -]{0,12}\n){0,12}") {
        let _ = parse(&text);
    }
}
