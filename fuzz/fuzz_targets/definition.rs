//! Arbitrary text as a flow definition in every language sluice compiles (CloudFlow in either
//! form, FunctionGraph v2 and v1.0, DataArts jobs, the Amazon States Language), and through `detect`, which tells the
//! language of a text (what `sluice run` does). Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sluice_lang::detect(text);
        let _ = sluice_lang::cloudflow::parse(text);
        let _ = sluice_lang::functiongraph::parse_v2(text);
        let _ = sluice_lang::functiongraph::parse_v1(text);
        let _ = sluice_lang::dataarts::parse(text);
        let _ = sluice_lang::asl::parse(text);
    }
});
