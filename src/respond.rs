//! Step 7: what Extole is answered, and the one log line each request leaves.
//!
//! The log line carries ids, names, outcomes and timings: never an email, a phone number, a
//! key or the body.

use serde::Serialize;
use serde_json::Value;

use crate::error::RelayError;

/// An HTTP answer, platform-neutral.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Response {
    pub fn ok(body: Value) -> Self {
        Self { status: 200, headers: Vec::new(), body }
    }

    pub fn error(error: &RelayError) -> Self {
        let mut headers = Vec::new();
        if let Some(seconds) = error.retry_after_secs() {
            headers.push(("retry-after".to_string(), seconds.to_string()));
        }
        if let RelayError::MethodNotAllowed { allowed, .. } = error {
            headers.push(("allow".to_string(), (*allowed).to_string()));
        }
        Self { status: error.status(), headers, body: error.body() }
    }

    pub fn body_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body).expect("a JSON value always serialises")
    }
}

/// The structured log line of one request.
#[derive(Debug, Default, Serialize)]
pub struct RequestLog {
    /// `info`, `warn` for a 4xx answer, `error` for a 5xx (set by `finish`).
    pub level: &'static str,
    pub msg: &'static str,
    pub method: String,
    /// The route, not the full path: an unknown path may carry anything.
    pub route: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub event_ids: Vec<Option<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub event_names: Vec<String>,
    #[serde(skip)]
    pub events: Vec<(Option<String>, String)>,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub braze_status: Option<u16>,
    #[serde(skip_serializing_if = "is_zero")]
    pub item_errors: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped_attributes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub duration_ms: i64,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Longest event id or name written to a log line.
const MAX_LOGGED_CHARS: usize = 128;

impl RequestLog {
    pub fn new(method: &str, path: &str) -> Self {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let route = match segments.as_slice() {
            ["health"] => "/health",
            ["extole", _] => "/extole/{environment}",
            ["extole", _, "preview"] => "/extole/{environment}/preview",
            ["extole", _, "config"] => "/extole/{environment}/config",
            ["admin", "dead-letters"] => "/admin/dead-letters",
            ["admin", "dead-letters", "replay"] => "/admin/dead-letters/replay",
            _ => "unknown",
        };
        Self { level: "info", msg: "request", method: method.chars().take(16).collect(), route, ..Default::default() }
    }

    pub fn finish(&mut self, response: &Response, duration_ms: i64) {
        self.status = response.status;
        self.level = match response.status {
            500.. => "error",
            400.. => "warn",
            _ => "info",
        };
        // Answers without a `status` of their own (the operator endpoints' documents) log as
        // what their HTTP status says.
        let by_status = if response.status < 400 { "ok" } else { "error" };
        self.outcome = response.body.get("status").and_then(Value::as_str).unwrap_or(by_status).to_string();
        self.error = response.body.get("error").and_then(Value::as_str).map(str::to_owned);
        self.duration_ms = duration_ms;
        let clip = |s: &str| crate::redact::scrub(&s.chars().take(MAX_LOGGED_CHARS).collect::<String>());
        self.event_ids = self.events.iter().map(|(id, _)| id.as_deref().map(clip)).collect();
        self.event_names = self.events.iter().map(|(_, name)| clip(name)).collect();
    }

    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_for(status: u16, body: Value) -> Value {
        let mut log = RequestLog::new("POST", "/extole/production");
        log.environment = Some("production".into());
        log.finish(&Response { status, headers: Vec::new(), body }, 3);
        serde_json::from_str(&log.to_line()).expect("a log line is JSON")
    }

    #[test]
    fn the_log_line_levels_by_status_and_names_the_outcome() {
        let ok = line_for(200, serde_json::json!({"status": "delivered"}));
        assert_eq!((ok["level"].as_str(), ok["outcome"].as_str(), ok["status"].as_u64()), (Some("info"), Some("delivered"), Some(200)));
        assert_eq!((ok["route"].as_str(), ok["environment"].as_str(), ok["duration_ms"].as_i64()), (Some("/extole/{environment}"), Some("production"), Some(3)));
        assert!(ok.get("error").is_none() && ok.get("braze_status").is_none() && ok.get("events").is_none());
        let refused = line_for(401, serde_json::json!({"status": "rejected", "error": "unauthorized"}));
        assert_eq!((refused["level"].as_str(), refused["error"].as_str()), (Some("warn"), Some("unauthorized")));
        assert_eq!(line_for(503, serde_json::json!({"error": "braze_unavailable"}))["level"], "error");
    }
}
