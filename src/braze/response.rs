use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::redact::scrub;

/// Bounds on how long Extole is told to wait before retrying.
const MIN_RETRY_AFTER: u32 = 1;
const MAX_RETRY_AFTER: u32 = 3600;
const DEFAULT_RATE_LIMIT_RETRY: u32 = 60;
const DEFAULT_OUTAGE_RETRY: u32 = 30;
/// Braze error messages are clipped to this many characters before they reach a log line.
const MAX_MESSAGE_CHARS: usize = 200;

/// One object Braze refused inside an otherwise successful request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemError {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub input_array: String,
    #[serde(default)]
    pub index: usize,
}

/// What Braze said to a `/users/track` request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accepted {
    pub status: u16,
    pub attributes_processed: u64,
    pub events_processed: u64,
    pub purchases_processed: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ItemError>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BrazeOutcome {
    /// In Braze (except any item-level errors).
    Accepted(Accepted),
    /// Will never succeed as sent: a bad key, a bad URL, a malformed request.
    Rejected { status: u16, message: String },
    /// Braze is down, slow or rate-limiting us: try again later.
    Unavailable { status: Option<u16>, cause: String, retry_after_secs: u32 },
}

#[derive(Deserialize)]
struct SuccessBody {
    message: Option<String>,
    #[serde(default)]
    attributes_processed: u64,
    #[serde(default)]
    events_processed: u64,
    #[serde(default)]
    purchases_processed: u64,
    #[serde(default)]
    errors: Vec<Value>,
}

/// Classifies Braze's answer. `header` looks a response header up by lowercase name;
/// `now_epoch` is the current time in seconds, to turn `X-RateLimit-Reset` into a delay.
pub fn classify<'h>(status: u16, header: impl Fn(&str) -> Option<&'h str>, body: &[u8], now_epoch: i64) -> BrazeOutcome {
    match status {
        200..=299 => match crate::json::parse::<SuccessBody>(body) {
            Ok(parsed) if parsed.message.as_deref() == Some("success") => BrazeOutcome::Accepted(Accepted {
                status,
                attributes_processed: parsed.attributes_processed,
                events_processed: parsed.events_processed,
                purchases_processed: parsed.purchases_processed,
                errors: parsed.errors.into_iter().filter_map(item_error).collect(),
            }),
            // Braze documents a 2xx without `message: success` as an error; whether anything
            // was stored is unknown, so it is retried rather than assumed delivered.
            _ => BrazeOutcome::Unavailable {
                status: Some(status),
                cause: format!("Braze answered {status} without \"message\": \"success\""),
                retry_after_secs: DEFAULT_OUTAGE_RETRY,
            },
        },
        429 => BrazeOutcome::Unavailable {
            status: Some(status),
            cause: "Braze rate limit reached".into(),
            retry_after_secs: rate_limit_delay(&header, now_epoch),
        },
        408 | 500..=599 => BrazeOutcome::Unavailable {
            status: Some(status),
            cause: format!("Braze answered {status}"),
            retry_after_secs: header("retry-after").and_then(parse_seconds).map_or(DEFAULT_OUTAGE_RETRY, bound),
        },
        _ => BrazeOutcome::Rejected { status, message: message_of(body) },
    }
}

fn item_error(value: Value) -> Option<ItemError> {
    let mut error: ItemError = serde_json::from_value(value).ok()?;
    error.kind = clip(&scrub(&error.kind));
    Some(error)
}

/// `Retry-After` (seconds) wins; else `X-RateLimit-Reset` (epoch seconds) minus now.
fn rate_limit_delay<'h>(header: &impl Fn(&str) -> Option<&'h str>, now_epoch: i64) -> u32 {
    if let Some(seconds) = header("retry-after").and_then(parse_seconds) {
        return bound(seconds);
    }
    header("x-ratelimit-reset")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|reset| bound(u32::try_from((reset - now_epoch).max(0)).unwrap_or(MAX_RETRY_AFTER)))
        .unwrap_or(DEFAULT_RATE_LIMIT_RETRY)
}

fn parse_seconds(value: &str) -> Option<u32> {
    value.trim().parse().ok()
}

fn bound(seconds: u32) -> u32 {
    seconds.clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER)
}

/// Braze's `message`, scrubbed of anything personal and clipped.
fn message_of(body: &[u8]) -> String {
    let message = crate::json::parse_value(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "no message".into());
    clip(&scrub(&message))
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_MESSAGE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_with(status: u16, headers: &[(&str, &str)], body: &str) -> BrazeOutcome {
        let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        classify(status, lookup, body.as_bytes(), 1_000)
    }

    #[test]
    fn success_with_item_errors() {
        let body = r#"{"message":"success","attributes_processed":1,"events_processed":2,"errors":[{"type":"bad email a@b.co","input_array":"events","index":1}]}"#;
        let BrazeOutcome::Accepted(accepted) = classify_with(201, &[], body) else { panic!() };
        assert_eq!(accepted.events_processed, 2);
        assert_eq!(accepted.errors[0].index, 1);
        assert!(!accepted.errors[0].kind.contains("a@b.co"));
    }

    #[test]
    fn two_hundreds_without_success_are_retryable() {
        for body in [r#"{"message":"queued"}"#, "not json", ""] {
            assert!(matches!(classify_with(201, &[], body), BrazeOutcome::Unavailable { .. }), "{body}");
        }
    }

    #[test]
    fn permanent_and_retryable_statuses() {
        for status in [400, 401, 403, 404] {
            assert!(matches!(classify_with(status, &[], r#"{"message":"Invalid API key"}"#), BrazeOutcome::Rejected { .. }));
        }
        for status in [500, 502, 503, 504] {
            assert!(matches!(classify_with(status, &[], ""), BrazeOutcome::Unavailable { retry_after_secs: 30, .. }));
        }
    }

    #[test]
    fn rate_limit_delay_comes_from_headers_and_is_bounded() {
        let delay = |headers: &[(&str, &str)]| match classify_with(429, headers, "") {
            BrazeOutcome::Unavailable { retry_after_secs, .. } => retry_after_secs,
            other => panic!("{other:?}"),
        };
        assert_eq!(delay(&[("x-ratelimit-reset", "1007")]), 7);
        assert_eq!(delay(&[("x-ratelimit-reset", "999")]), 1);
        assert_eq!(delay(&[("x-ratelimit-reset", "99999999")]), 3600);
        assert_eq!(delay(&[("retry-after", "12"), ("x-ratelimit-reset", "1007")]), 12);
        assert_eq!(delay(&[]), 60);
    }
}
