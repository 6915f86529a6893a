use sluice_lang::doc::{Loc, NodeKind, parse_document};

#[test]
fn locations_of_keys_and_values() {
    let doc = parse_document("a: 1\nb:\n  - x: \"q\"\n    y: [1, 2]\n").unwrap();
    let NodeKind::Map(entries) = &doc.kind else {
        panic!("not a map: {doc:?}")
    };
    assert_eq!(entries[0].0.loc, Loc::new(1, 1));
    assert_eq!(entries[0].1.loc, Loc::new(1, 4));
    let b = &entries[1].1;
    assert_eq!(b.loc.line, 3, "{b:?}");
    let item = &b.as_seq().unwrap()[0];
    let x = item.get("x").unwrap();
    assert_eq!(x.loc, Loc::new(3, 8));
    assert!(x.quoted);
    assert_eq!(x.text_loc(), Loc::new(3, 9));
    assert_eq!(item.get("y").unwrap().loc, Loc::new(4, 8));
}

#[test]
fn duplicate_keys_are_located() {
    let err = parse_document("a: 1\nb: 2\na: 3\n").unwrap_err();
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.message.contains("duplicate"), "{err}");
}

#[test]
fn syntax_errors_are_located() {
    let err = parse_document("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
    assert!(err.line.is_some(), "{err}");
    assert!(err.message.contains("invalid YAML"), "{err}");
}

#[test]
fn json_is_accepted() {
    let doc = parse_document("{\"a\": {\"b\": [1, 2.5, true, null, \"s\"]}}").unwrap();
    assert_eq!(
        doc.to_json(),
        serde_json::json!({"a": {"b": [1, 2.5, true, null, "s"]}})
    );
}

#[test]
fn alias_bombs_and_deep_nesting_are_rejected() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert!(parse_document(&bomb).is_err());
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    assert!(parse_document(&deep).is_err());
    let big = "a".repeat(1024 * 1024 + 1);
    assert!(parse_document(&big).is_err());
}
