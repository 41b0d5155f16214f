//! Reading JSON text into the relay's own types.
//!
//! Every document is parsed to a [`serde_json::Value`] first and the typed value taken from
//! that, so the Worker carries serde_json's text parser once (for `Value`) rather than once
//! more for each derived type, and once per input kind (`&str` and `&[u8]`). The extra step
//! costs little: these are small internal documents (queue messages, Braze answers, config).

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses JSON text (UTF-8 bytes) into `T`.
pub fn parse<T: DeserializeOwned>(text: impl AsRef<[u8]>) -> Result<T, serde_json::Error> {
    serde_json::from_value(parse_value(text)?)
}

/// Parses JSON text (UTF-8 bytes) into a [`Value`].
pub fn parse_value(text: impl AsRef<[u8]>) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(text.as_ref())
}

/// Decimal text of an integer (anything serde_json holds as an `i64` or `u64`); `None` for a
/// fraction, an exponent or an integer past 64 bits (which serde_json reads as a double).
pub fn integer_text(number: &serde_json::Number) -> Option<String> {
    number.as_i64().map(|i| i.to_string()).or_else(|| number.as_u64().map(|u| u.to_string()))
}

/// Text of any number: integers digit for digit, others as serde_json writes them (its own
/// shortest round-trip form, rather than `Display`'s, whose float code the Worker can do
/// without).
pub fn number_text(number: &serde_json::Number) -> String {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer up to it is a double
    if let Some(text) = integer_text(number) {
        return text;
    }
    match number.as_f64() {
        // `1e3` reads as 1000, not `1000.0`.
        Some(f) if f.fract() == 0.0 && f.abs() <= EXACT => (f as i64).to_string(),
        _ => serde_json::to_string(number).unwrap_or_default(),
    }
}
