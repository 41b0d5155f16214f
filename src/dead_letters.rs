//! The dead-letter store: events that will not reach Braze without an operator, each with
//! the reason. `RELAY_DLQ` is consumed into KV (`RELAY_STATE`, keys `deadletter:...`), listed
//! by `GET /admin/dead-letters` and re-driven by `POST /admin/dead-letters/replay`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::braze::ItemError;
use crate::extole::format_braze_time;
use crate::ports::{KeyValueStore, Platform, QueueName, QueueProducer, StoreError};
use crate::queue::{Disposition, IncomingMessage, QueuedEvent};

pub const KEY_PREFIX: &str = "deadletter:";
/// Most records one listing or replay handles; a larger backlog is worked through in turns.
pub const MAX_LISTED: usize = 1000;

/// One event given up on, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub message_id: String,
    pub reason: String,
    pub braze_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub braze_errors: Vec<ItemError>,
    pub failed_at: String,
    /// The event, to replay; `None` when the message could not be read at all.
    pub event: Option<QueuedEvent>,
    /// The unreadable message itself, kept so that nothing is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl DeadLetter {
    pub fn new(
        message_id: &str,
        event: Option<QueuedEvent>,
        body: &str,
        reason: String,
        braze_status: Option<u16>,
        braze_errors: Vec<ItemError>,
        failed_at: &str,
    ) -> Self {
        let raw = event.is_none().then(|| body.to_string());
        Self { message_id: message_id.to_string(), reason, braze_status, braze_errors, failed_at: failed_at.to_string(), event, raw }
    }

    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("a dead letter always serialises")
    }

    /// Store key: ordered by failure time.
    fn key(&self) -> String {
        let id: String = self.message_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
        format!("{KEY_PREFIX}{}:{id}", self.failed_at)
    }

    /// What a listing shows: no Braze objects, so no personal data.
    fn summary(&self, key: &str) -> Value {
        json!({
            "id": key.trim_start_matches(KEY_PREFIX),
            "environment": self.event.as_ref().map(|e| &e.environment),
            "event_id": self.event.as_ref().and_then(|e| e.event_id.as_ref()),
            "event_name": self.event.as_ref().map(|e| &e.event_name),
            "reason": self.reason,
            "braze_status": self.braze_status,
            "braze_errors": self.braze_errors,
            "failed_at": self.failed_at,
            "failures": self.event.as_ref().map(|e| e.failures),
            "replayable": self.event.is_some(),
        })
    }
}

/// Consumes one batch from `RELAY_DLQ` into the store. A message that is not one of our dead
/// letters (Cloudflare moves a message there itself once its retries run out) is kept too.
pub async fn consume_dead_letters(platform: &impl Platform, messages: &[IncomingMessage]) -> Vec<Disposition> {
    let mut dispositions = Vec::with_capacity(messages.len());
    for message in messages {
        let letter = crate::json::parse::<DeadLetter>(&message.body).unwrap_or_else(|_| {
            let event = crate::json::parse::<QueuedEvent>(&message.body).ok();
            let reason = if event.is_some() { "the queue's own retry limit was reached" } else { "unreadable queue message" };
            DeadLetter::new(&message.id, event, &message.body, reason.into(), None, vec![], &format_braze_time(&platform.now()))
        });
        let stored = platform.state_store().put(&letter.key(), &letter.to_body(), None).await;
        dispositions.push(match stored {
            Ok(()) => Disposition::Ack,
            Err(_) => Disposition::Retry { delay_seconds: 30 },
        });
        platform.log(
            &json!({"level": "warn", "msg": "dead_letter", "event_id": letter.event.as_ref().and_then(|e| e.event_id.clone()),
                "environment": letter.event.as_ref().map(|e| e.environment.clone()), "reason": crate::redact::scrub(&letter.reason)})
            .to_string(),
        );
    }
    dispositions
}

/// Every stored dead letter, oldest first, without personal data.
pub async fn list(store: &impl KeyValueStore) -> Result<Vec<Value>, StoreError> {
    let mut summaries = Vec::new();
    for key in store.list(KEY_PREFIX, MAX_LISTED).await? {
        if let Some(letter) = read(store, &key).await? {
            summaries.push(letter.summary(&key));
        }
    }
    Ok(summaries)
}

async fn read(store: &impl KeyValueStore, key: &str) -> Result<Option<DeadLetter>, StoreError> {
    Ok(store.get(key).await?.and_then(|text| crate::json::parse(&text).ok()))
}

/// Outcome of a replay.
#[derive(Debug, Default, Serialize)]
pub struct ReplayReport {
    pub replayed: Vec<String>,
    pub not_replayable: Vec<String>,
    pub not_found: Vec<String>,
}

/// Re-sends the selected dead letters (all when `ids` is `None`) to `RELAY_QUEUE` with fresh
/// retry counters, then removes them from the store. A record is removed only after its
/// event is back on the queue.
pub async fn replay(platform: &impl Platform, ids: Option<Vec<String>>) -> Result<ReplayReport, StoreError> {
    let store = platform.state_store();
    let keys = match ids {
        Some(ids) => ids.iter().map(|id| format!("{KEY_PREFIX}{id}")).collect(),
        None => store.list(KEY_PREFIX, MAX_LISTED).await?,
    };
    let mut report = ReplayReport::default();
    for key in keys {
        let id = key.trim_start_matches(KEY_PREFIX).to_string();
        let Some(letter) = read(store, &key).await? else {
            report.not_found.push(id);
            continue;
        };
        let Some(mut event) = letter.event else {
            report.not_replayable.push(id);
            continue;
        };
        event.failures = 0;
        event.rate_limited = 0;
        platform
            .queues()
            .send_batch(QueueName::Events, &[event.to_body()], 0)
            .await
            .map_err(|e| StoreError(e.to_string()))?;
        store.delete(&key).await?;
        report.replayed.push(id);
    }
    Ok(report)
}
