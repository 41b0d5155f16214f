//! Every way a request can fail, typed, with the HTTP status Extole is answered with.
//!
//! Messages are written for the marketer reading Extole's Webhook Live View: they say what is
//! wrong and where, and never quote a key, an email address, a phone number or the body.

use serde_json::{json, Value};

/// Why a request was not (fully) handled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RelayError {
    #[error("no route for {method} here: the relay serves POST /extole/{{environment}}, POST /extole/{{environment}}/preview, GET /extole/{{environment}}/config, /admin/dead-letters and GET /health")]
    NotFound { method: String },
    #[error("method {method} is not allowed here; use {allowed}")]
    MethodNotAllowed { method: String, allowed: &'static str },
    #[error("unknown environment '{environment}'")]
    UnknownEnvironment { environment: String },

    #[error("authentication failed: {reason} (this environment expects {scheme})")]
    Unauthorized { scheme: &'static str, reason: &'static str },
    #[error("this environment expects {scheme} but has no key configured, so it refuses every request")]
    AuthNotConfigured { scheme: &'static str },

    #[error("body is {size} bytes, over the {limit}-byte limit")]
    PayloadTooLarge { size: usize, limit: usize },
    #[error("{0}")]
    InvalidPayload(#[from] crate::extole::ParseError),
    #[error("event {index} ('{event_name}') names no person: it has no external id and no valid email address")]
    UnidentifiedPerson { index: usize, event_name: String },
    #[error("event {index} ('{event_name}') has no external id and this environment rejects events without one")]
    ExternalIdRequired { index: usize, event_name: String },

    #[error("event {index} is older than this environment accepts ({max_age_seconds} s): refused as a replay")]
    EventTooOld { index: usize, max_age_seconds: u64 },
    #[error("event {index}: the Braze event name would exceed 255 characters")]
    EventNameTooLong { index: usize },

    #[error("event {index} becomes a {size}-byte queue message, over the {limit}-byte limit of Cloudflare Queues")]
    MessageTooLarge { index: usize, size: usize, limit: usize },
    #[error("the delivery queue is unavailable: {reason}")]
    QueueUnavailable { reason: String },

    #[error("configuration for '{environment}' is unusable: {reason}")]
    Misconfigured { environment: String, reason: String },
    #[error("event {index} is being delivered by another request right now; retry shortly")]
    InFlight { index: usize },
    #[error("the dedup store is unavailable: {reason}")]
    StateUnavailable { reason: String },

    #[error("Braze refused the request with {status}: {message}")]
    BrazeRejected { status: u16, message: String },
    #[error("Braze is unavailable ({cause}); retry later")]
    BrazeUnavailable { cause: String, status: Option<u16>, retry_after_secs: u32 },

    #[error("internal error")]
    Internal,
}

impl RelayError {
    /// The status Extole is answered with. 4xx: the input can never succeed as sent.
    /// 502/503: our side or Braze's; Extole retries them and nothing is recorded as handled.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound { .. } | Self::UnknownEnvironment { .. } => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::Unauthorized { .. } | Self::AuthNotConfigured { .. } => 401,
            Self::PayloadTooLarge { .. } | Self::MessageTooLarge { .. } => 413,
            Self::InvalidPayload(crate::extole::ParseError::TooManyEvents { .. }) => 413,
            Self::InvalidPayload(_) => 400,
            Self::UnidentifiedPerson { .. }
            | Self::ExternalIdRequired { .. }
            | Self::EventTooOld { .. }
            | Self::EventNameTooLong { .. } => 422,
            Self::BrazeRejected { .. } => 502,
            Self::Misconfigured { .. }
            | Self::StateUnavailable { .. }
            | Self::QueueUnavailable { .. }
            | Self::InFlight { .. }
            | Self::BrazeUnavailable { .. } => 503,
            Self::Internal => 500,
        }
    }

    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::UnknownEnvironment { .. } => "unknown_environment",
            Self::Unauthorized { .. } => "unauthorized",
            Self::AuthNotConfigured { .. } => "auth_not_configured",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::InvalidPayload(e) => e.code(),
            Self::UnidentifiedPerson { .. } => "unidentified_person",
            Self::ExternalIdRequired { .. } => "external_id_required",
            Self::EventTooOld { .. } => "event_too_old",
            Self::EventNameTooLong { .. } => "event_name_too_long",
            Self::MessageTooLarge { .. } => "message_too_large",
            Self::QueueUnavailable { .. } => "queue_unavailable",
            Self::InFlight { .. } => "in_flight",
            Self::Misconfigured { .. } => "misconfigured",
            Self::StateUnavailable { .. } => "state_unavailable",
            Self::BrazeRejected { .. } => "braze_rejected",
            Self::BrazeUnavailable { .. } => "braze_unavailable",
            Self::Internal => "internal_error",
        }
    }

    /// Whether Extole should retry the same request later.
    pub fn retryable(&self) -> bool {
        matches!(self.status(), 500 | 502 | 503)
    }

    /// Seconds for the `Retry-After` header, when there is one.
    pub fn retry_after_secs(&self) -> Option<u32> {
        match self {
            Self::BrazeUnavailable { retry_after_secs, .. } => Some(*retry_after_secs),
            Self::StateUnavailable { .. } | Self::Misconfigured { .. } | Self::QueueUnavailable { .. } => Some(60),
            Self::InFlight { .. } => Some(10),
            _ => None,
        }
    }

    /// The JSON body Extole sees.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "status": "error",
            "error": self.code(),
            "message": self.to_string(),
            "retryable": self.retryable(),
        });
        match self {
            Self::BrazeRejected { status, .. } | Self::BrazeUnavailable { status: Some(status), .. } => {
                body["braze_status"] = json!(status);
            }
            Self::InvalidPayload(e) => {
                if let Some(pointer) = e.pointer() {
                    body["at"] = json!(pointer);
                }
            }
            _ => {}
        }
        body
    }
}
