//! Authentication: arbitrary scheme, keys, header and body. Never panics, fails closed
//! without keys, never accepts a credential that proves no key, accepts a genuine one.
//! The logic lives in tests/support/fuzz_logic.rs, shared with tests/fuzz_regressions.rs.
#![no_main]

#[path = "../../tests/support/braze_oracle.rs"]
mod braze_oracle;
#[path = "../../tests/support/fuzz_logic.rs"]
mod fuzz_logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_logic::auth_target(data));
