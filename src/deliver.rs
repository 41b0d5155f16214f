//! Step 5: send the translated objects to Braze and say, per event, what happened.

use crate::braze::{classify, pack, Accepted, BrazeEndpoint, BrazeOutcome, EventObjects, ItemError, RequestCaps};
use crate::config::{EnvironmentConfig, SecretNames};
use crate::error::RelayError;
use crate::ports::{BrazeTransport, Platform, TransportError};

/// Where and how one environment's events are sent. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct BrazeTarget {
    pub url: String,
    api_key: String,
    pub timeout_ms: u32,
    pub caps: RequestCaps,
}

impl std::fmt::Debug for BrazeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrazeTarget").field("url", &self.url).field("timeout_ms", &self.timeout_ms).finish_non_exhaustive()
    }
}

impl BrazeTarget {
    /// Endpoint from `BRAZE_REST_ENDPOINT_<ENV>` or the config, key from the environment's
    /// secret. Missing either is the operator's to fix: Extole is told to retry.
    pub fn resolve(platform: &impl Platform, environment: &str, config: &EnvironmentConfig) -> Result<Self, RelayError> {
        let names = SecretNames::for_environment(environment, config);
        let misconfigured = |reason: String| RelayError::Misconfigured { environment: environment.to_string(), reason };
        let endpoint_text = platform
            .secret(&names.braze_rest_endpoint)
            .or_else(|| config.braze.endpoint.clone())
            .ok_or_else(|| misconfigured(format!("no Braze endpoint: set {} or braze.endpoint", names.braze_rest_endpoint)))?;
        let endpoint = BrazeEndpoint::parse(&endpoint_text).map_err(|problem| misconfigured(format!("Braze endpoint {problem}")))?;
        let api_key = platform
            .secret(&names.braze_api_key)
            .ok_or_else(|| misconfigured(format!("secret {} (the Braze REST key) is not set", names.braze_api_key)))?;
        Ok(Self {
            url: endpoint.users_track_url(),
            api_key,
            timeout_ms: config.braze.timeout_ms,
            caps: RequestCaps::for_settings(&config.braze),
        })
    }

    /// A target with the given key, for tests and tools.
    pub fn new(url: String, api_key: String, timeout_ms: u32, caps: RequestCaps) -> Self {
        Self { url, api_key, timeout_ms, caps }
    }
}

/// What happened to one item given to [`deliver`].
#[derive(Debug, Clone, PartialEq)]
pub enum ItemDelivery {
    /// In Braze; `errors` are Braze's item-level errors for this item's objects.
    Accepted { errors: Vec<ItemError> },
    /// Nothing to send (an ignored event).
    Skipped,
    Failed(RelayError),
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryReport {
    pub items: Vec<ItemDelivery>,
    /// Braze's answers to the requests it accepted.
    pub accepted: Vec<Accepted>,
    /// Braze's status for the last request sent, if any.
    pub last_status: Option<u16>,
    /// Epoch second until which Braze will refuse us: set after a 429, or when an answer
    /// says no request is left in the current window.
    pub rate_limited_until: Option<i64>,
}

/// Sends `items` in as few requests as the caps allow. Stops at the first request that
/// fails: Braze is down, limiting us or refusing our key, and the rest would fare the same.
pub async fn deliver(transport: &impl BrazeTransport, target: &BrazeTarget, items: Vec<EventObjects>, now_epoch: i64) -> DeliveryReport {
    let mut report = DeliveryReport { items: vec![ItemDelivery::Skipped; items.len()], ..Default::default() };
    let mut failure: Option<RelayError> = None;
    for request in pack(items, target.caps) {
        if let Some(error) = &failure {
            request.items.iter().for_each(|&i| report.items[i] = ItemDelivery::Failed(error.clone()));
            continue;
        }
        let body = request.body.to_json();
        let outcome = match transport.post_json(&target.url, &target.api_key, body, target.timeout_ms).await {
            Ok(reply) => {
                report.last_status = Some(reply.status);
                let outcome = classify(reply.status, |name| reply.header(name), &reply.body, now_epoch);
                report.rate_limited_until = rate_limit_window(&reply, &outcome, now_epoch).or(report.rate_limited_until);
                outcome
            }
            Err(error) => transport_failure(error),
        };
        match outcome {
            BrazeOutcome::Accepted(accepted) => {
                for &i in &request.items {
                    report.items[i] = ItemDelivery::Accepted { errors: Vec::new() };
                }
                for error in &accepted.errors {
                    if let Some(ItemDelivery::Accepted { errors }) =
                        request.origin(&error.input_array, error.index).and_then(|i| report.items.get_mut(i))
                    {
                        errors.push(error.clone());
                    }
                }
                report.accepted.push(accepted);
            }
            BrazeOutcome::Rejected { status, message } => {
                let message = message.replace(&target.api_key, "[redacted]");
                failure = Some(RelayError::BrazeRejected { status, message });
            }
            BrazeOutcome::Unavailable { status, cause, retry_after_secs } => {
                failure = Some(RelayError::BrazeUnavailable { cause, status, retry_after_secs });
            }
        }
        if let Some(error) = &failure {
            request.items.iter().for_each(|&i| report.items[i] = ItemDelivery::Failed(error.clone()));
        }
    }
    report
}

/// When Braze's window resets, if this answer says we have exhausted it.
fn rate_limit_window(reply: &crate::ports::HttpReply, outcome: &BrazeOutcome, now_epoch: i64) -> Option<i64> {
    if let BrazeOutcome::Unavailable { status: Some(429), retry_after_secs, .. } = outcome {
        return Some(now_epoch + i64::from(*retry_after_secs));
    }
    let remaining: i64 = reply.header("x-ratelimit-remaining")?.trim().parse().ok()?;
    let reset: i64 = reply.header("x-ratelimit-reset")?.trim().parse().ok()?;
    (remaining <= 0 && reset > now_epoch).then_some(reset)
}

/// Seconds Extole is asked to wait after a timeout or a network error.
const TRANSPORT_RETRY_AFTER: u32 = 30;

fn transport_failure(error: TransportError) -> BrazeOutcome {
    BrazeOutcome::Unavailable { status: None, cause: error.to_string(), retry_after_secs: TRANSPORT_RETRY_AFTER }
}
