//! SLASCONE's answers on arbitrary bytes: every decoder the client uses, the checks its answers
//! get, the redaction of the key and the error messages of every status. No input may panic,
//! and no error may carry a raw control character. The corpus in `fuzz/corpus/answers` is
//! replayed by `cargo test` (tests/cli/hostile.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = slascone_sync::remote::decode_answer(data);
});
