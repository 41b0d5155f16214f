//! Parsing: arbitrary bytes into parse_body. Never panics; what it accepts is well formed.
//! The logic lives in tests/support/fuzz_logic.rs, shared with tests/fuzz_regressions.rs.
#![no_main]

#[path = "../../tests/support/braze_oracle.rs"]
mod braze_oracle;
#[path = "../../tests/support/fuzz_logic.rs"]
mod fuzz_logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_logic::parse_target(data));
