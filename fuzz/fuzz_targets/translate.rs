//! Translation: parse, then translate under the default config, the Extole-native preset,
//! the retailer example and an all-transforms config; every Braze body must obey Braze's
//! rules (the shared oracle) and packing must respect the caps without splitting an event.
//! The logic lives in tests/support/fuzz_logic.rs, shared with tests/fuzz_regressions.rs.
#![no_main]

#[path = "../../tests/support/braze_oracle.rs"]
mod braze_oracle;
#[path = "../../tests/support/fuzz_logic.rs"]
mod fuzz_logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_logic::translate_target(data));
