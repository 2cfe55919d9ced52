//! Manifest loading and validation on arbitrary bytes: no input may panic, hang or take memory
//! out of proportion to its size. The corpus in `fuzz/corpus/manifest` is replayed by
//! `cargo test` (tests/cli/hostile.rs), so every crash found here stays a regression test once
//! its input is copied there.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `manifest::load` refuses text that is not UTF-8 before parsing; the parser and the
    // validator are what hostile text can reach.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = slascone_sync::manifest::check_str(Path::new("fuzz.yaml"), text);
    }
});
