//! Queued delivery: the fetch handler enqueues translated events on `RELAY_QUEUE`, and this
//! consumer packs them into few `/users/track` requests, retries what Braze could not take
//! yet, and dead-letters (with the reason) what it never will.
//!
//! Retries are done by re-sending the message with a delay and its counters raised, then
//! acknowledging the original: the counters live in the message, so a rate limit can be
//! waited out without spending the failure budget, and every dead letter says why.

use serde::{Deserialize, Serialize};

use crate::braze::{EventObjects, ItemError};
use crate::config::{EnvironmentConfig, QueueSettings};
use crate::dead_letters::DeadLetter;
use crate::dedup;
use crate::deliver::{deliver, BrazeTarget, ItemDelivery};
use crate::environment::ConfigCache;
use crate::error::RelayError;
use crate::extole::format_braze_time;
use crate::ports::{Platform, QueueName, QueueProducer};

/// Cloudflare Queues takes messages up to 128 KB; this leaves room for its envelope.
pub const MAX_MESSAGE_BYTES: usize = 120 * 1024;
const MESSAGE_VERSION: u8 = 1;

/// One translated Extole event on its way to Braze.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedEvent {
    pub v: u8,
    pub environment: String,
    pub dedup_key: String,
    pub event_id: Option<String>,
    pub event_name: String,
    pub objects: EventObjects,
    /// Braze 5xx, timeouts and network errors so far.
    #[serde(default)]
    pub failures: u32,
    /// 429 deferrals so far.
    #[serde(default)]
    pub rate_limited: u32,
    pub enqueued_at: String,
}

impl QueuedEvent {
    pub fn new(environment: &str, dedup_key: &str, event_id: Option<String>, event_name: &str, objects: &EventObjects, now: &str) -> Self {
        Self {
            v: MESSAGE_VERSION,
            environment: environment.to_string(),
            dedup_key: dedup_key.to_string(),
            event_id,
            event_name: event_name.to_string(),
            objects: objects.clone(),
            failures: 0,
            rate_limited: 0,
            enqueued_at: now.to_string(),
        }
    }

    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("a queued event always serialises")
    }
}

/// One message handed to the consumer.
#[derive(Debug, Clone)]
pub struct IncomingMessage {
    pub id: String,
    pub body: String,
}

/// What the platform should do with a message once the consumer is done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Ack,
    /// Leave it on the queue (the platform's own retry): used only when the relay itself
    /// cannot work (KV or the queue down), never for Braze's answers.
    Retry { delay_seconds: u32 },
}

/// Delay before the next try after `failures` failures: exponential, capped, plus up to 50%
/// jitter so that a burst of failures does not come back all at once.
pub fn backoff_seconds(settings: &QueueSettings, failures: u32, jitter_seed: &str) -> u32 {
    let exponent = failures.saturating_sub(1).min(20);
    let base = settings.base_backoff_seconds.saturating_mul(1 << exponent).min(settings.max_backoff_seconds);
    (base + jitter(jitter_seed, base / 2)).clamp(1, settings.max_backoff_seconds)
}

/// A spread of 0..=span seconds drawn from the message's dedup key (FNV-1a): stable for one
/// message, different across messages, and no random source needed in the Worker.
fn jitter(seed: &str, span: u32) -> u32 {
    let hash = seed.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    hash % (span + 1)
}

/// Per-isolate memory of Braze rate-limit windows, by `/users/track` URL: once Braze has
/// said a window is spent, batches wait it out without spending a request to hear a 429.
#[derive(Default)]
pub struct RateGate {
    closed_until: std::cell::RefCell<std::collections::HashMap<String, i64>>,
}

impl RateGate {
    fn closed_for(&self, url: &str, now: i64) -> Option<u32> {
        let until = *self.closed_until.borrow().get(url)?;
        (until > now).then(|| u32::try_from(until - now).unwrap_or(u32::MAX))
    }

    fn close_until(&self, url: &str, until: i64) {
        let mut map = self.closed_until.borrow_mut();
        let entry = map.entry(url.to_string()).or_insert(until);
        *entry = (*entry).max(until);
    }
}

/// The fate the consumer gives one message.
enum Fate {
    Done,
    Requeue { message: QueuedEvent, delay_seconds: u32 },
    DeadLetter { reason: String, braze_status: Option<u16>, errors: Vec<ItemError> },
    PlatformRetry { delay_seconds: u32 },
}

/// Consumes one batch from `RELAY_QUEUE`. Returns one disposition per message, in order.
pub async fn consume_events(platform: &impl Platform, configs: &ConfigCache, gate: &RateGate, messages: &[IncomingMessage]) -> Vec<Disposition> {
    let mut fates: Vec<Option<Fate>> = (0..messages.len()).map(|_| None).collect();
    let mut parsed: Vec<Option<QueuedEvent>> = Vec::with_capacity(messages.len());
    for (message, fate) in messages.iter().zip(fates.iter_mut()) {
        match crate::json::parse::<QueuedEvent>(&message.body) {
            Ok(event) => parsed.push(Some(event)),
            Err(error) => {
                *fate = Some(Fate::DeadLetter { reason: format!("unreadable queue message: {error}"), braze_status: None, errors: vec![] });
                parsed.push(None);
            }
        }
    }
    let mut environments: Vec<&str> = parsed.iter().flatten().map(|e| e.environment.as_str()).collect();
    environments.sort_unstable();
    environments.dedup();
    for environment in environments {
        let indices: Vec<usize> = (0..messages.len()).filter(|&i| parsed[i].as_ref().is_some_and(|e| e.environment == environment)).collect();
        let events: Vec<&QueuedEvent> = indices.iter().map(|&i| parsed[i].as_ref().expect("filtered above")).collect();
        let outcomes = deliver_environment(platform, configs, gate, environment, &events).await;
        for (&i, fate) in indices.iter().zip(outcomes) {
            fates[i] = Some(fate);
        }
    }
    let mut dispositions = Vec::with_capacity(messages.len());
    for ((message, fate), event) in messages.iter().zip(fates).zip(parsed) {
        dispositions.push(settle(platform, message, event, fate.unwrap_or(Fate::Done)).await);
    }
    log_batch(platform, &dispositions);
    dispositions
}

/// Delivers one environment's events of a batch and decides each one's fate.
async fn deliver_environment(platform: &impl Platform, configs: &ConfigCache, gate: &RateGate, environment: &str, events: &[&QueuedEvent]) -> Vec<Fate> {
    let infrastructure = |delay_seconds| (0..events.len()).map(|_| Fate::PlatformRetry { delay_seconds }).collect::<Vec<_>>();
    let config = match configs.get(platform, environment).await {
        Ok(config) => config,
        Err(error) => return events.iter().map(|_| dead_letter_or_wait(&error)).collect(),
    };
    let target = match BrazeTarget::resolve(platform, environment, &config) {
        Ok(target) => target,
        Err(error) => return events.iter().map(|_| dead_letter_or_wait(&error)).collect(),
    };
    let now = platform.now().timestamp();
    if let Some(wait) = gate.closed_for(&target.url, now) {
        return events.iter().map(|event| wait_for_window(event, &config.queue, wait)).collect();
    }
    // Already delivered (an earlier copy, or the same event twice in this batch): done.
    let keys: Vec<String> = events.iter().map(|e| e.dedup_key.clone()).collect();
    let Ok(handled) = dedup::already_handled(platform.state_store(), &keys).await else {
        return infrastructure(30);
    };
    let objects: Vec<EventObjects> = events
        .iter()
        .zip(&handled)
        .map(|(e, seen)| {
            let mut objects = if *seen { EventObjects::default() } else { e.objects.clone() };
            objects.refit_properties();
            objects
        })
        .collect();
    let report = deliver(platform.braze(), &target, objects, now).await;
    if let Some(until) = report.rate_limited_until {
        gate.close_until(&target.url, until);
    }

    // An event Braze refused in part is dead-lettered, not recorded, so a replay can deliver it.
    let delivered: Vec<&String> = keys
        .iter()
        .zip(&report.items)
        .filter(|(_, item)| matches!(item, ItemDelivery::Accepted { errors } if errors.is_empty()))
        .map(|(k, _)| k)
        .collect();
    let now = format_braze_time(&platform.now());
    if let Err(error) = dedup::record(platform.state_store(), &delivered, config.dedup.window_seconds, &now).await {
        platform.log(&serde_json::json!({"level": "warn", "msg": "queue", "outcome": "dedup_record_failed", "error": error.to_string()}).to_string());
    }
    events.iter().zip(report.items).map(|(event, item)| fate_of(event, item, &config)).collect()
}

/// Sends an event back to wait until Braze's rate-limit window reopens.
fn wait_for_window(event: &QueuedEvent, settings: &QueueSettings, wait_seconds: u32) -> Fate {
    let mut next = event.clone();
    next.rate_limited += 1;
    if next.rate_limited > settings.max_rate_limited {
        return Fate::DeadLetter { reason: format!("still rate limited after {} deferrals", event.rate_limited), braze_status: Some(429), errors: vec![] };
    }
    let delay_seconds = wait_seconds.saturating_add(jitter(&event.dedup_key, 2)).clamp(1, settings.max_backoff_seconds);
    Fate::Requeue { message: next, delay_seconds }
}

/// Configuration problems wait for an operator's fix; an unknown environment never heals.
fn dead_letter_or_wait(error: &RelayError) -> Fate {
    match error {
        RelayError::UnknownEnvironment { .. } => Fate::DeadLetter { reason: error.to_string(), braze_status: None, errors: vec![] },
        other => Fate::PlatformRetry { delay_seconds: other.retry_after_secs().unwrap_or(60) },
    }
}

fn fate_of(event: &QueuedEvent, item: ItemDelivery, config: &EnvironmentConfig) -> Fate {
    let settings = &config.queue;
    match item {
        ItemDelivery::Skipped => Fate::Done,
        ItemDelivery::Accepted { errors } if errors.is_empty() => Fate::Done,
        ItemDelivery::Accepted { errors } => {
            let kinds: Vec<&str> = errors.iter().map(|e| e.kind.as_str()).collect();
            Fate::DeadLetter { reason: format!("Braze refused part of the event: {}", kinds.join("; ")), braze_status: Some(201), errors }
        }
        ItemDelivery::Failed(RelayError::BrazeRejected { status, message }) => {
            Fate::DeadLetter { reason: format!("Braze refused the request with {status}: {message}"), braze_status: Some(status), errors: vec![] }
        }
        // Wait out the window Braze named; a little jitter spreads the restart.
        ItemDelivery::Failed(RelayError::BrazeUnavailable { status: Some(429), retry_after_secs, .. }) => {
            wait_for_window(event, settings, retry_after_secs)
        }
        ItemDelivery::Failed(RelayError::BrazeUnavailable { status, cause, .. }) => {
            let mut next = event.clone();
            next.failures += 1;
            if next.failures > settings.max_failures {
                return Fate::DeadLetter { reason: format!("retries exhausted after {} failures; last: {cause}", event.failures + 1), braze_status: status, errors: vec![] };
            }
            let delay_seconds = backoff_seconds(settings, next.failures, &event.dedup_key);
            Fate::Requeue { message: next, delay_seconds }
        }
        ItemDelivery::Failed(other) => Fate::PlatformRetry { delay_seconds: other.retry_after_secs().unwrap_or(30) },
    }
}

/// Carries out a fate: re-send or dead-letter first, acknowledge after, so that a failed send
/// leaves the original on the queue rather than losing it.
async fn settle(platform: &impl Platform, message: &IncomingMessage, event: Option<QueuedEvent>, fate: Fate) -> Disposition {
    let queues = platform.queues();
    match fate {
        Fate::Done => Disposition::Ack,
        Fate::PlatformRetry { delay_seconds } => Disposition::Retry { delay_seconds },
        Fate::Requeue { message: next, delay_seconds } => match queues.send_batch(QueueName::Events, &[next.to_body()], delay_seconds).await {
            Ok(()) => Disposition::Ack,
            Err(_) => Disposition::Retry { delay_seconds },
        },
        Fate::DeadLetter { reason, braze_status, errors } => {
            let letter = DeadLetter::new(&message.id, event, &message.body, reason, braze_status, errors, &format_braze_time(&platform.now()));
            match queues.send_batch(QueueName::DeadLetters, &[letter.to_body()], 0).await {
                Ok(()) => Disposition::Ack,
                Err(_) => Disposition::Retry { delay_seconds: 30 },
            }
        }
    }
}

fn log_batch(platform: &impl Platform, dispositions: &[Disposition]) {
    let acked = dispositions.iter().filter(|d| **d == Disposition::Ack).count();
    platform.log(
        &serde_json::json!({
            "level": "info",
            "msg": "queue",
            "outcome": "batch",
            "messages": dispositions.len(),
            "acked": acked,
            "left_for_retry": dispositions.len() - acked,
        })
        .to_string(),
    );
}
