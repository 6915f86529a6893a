//! Arbitrary text as a flow definition (either CloudFlow form, YAML or JSON). Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sluice_lang::cloudflow::parse(text);
    }
});
