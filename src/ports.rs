//! The small interfaces between the pipeline and the platform it runs on. The Worker
//! implements them with KV, fetch and secrets (`worker_glue`); native tests with the
//! in-memory parts in [`crate::memory`].

use chrono::{DateTime, Utc};

/// A request as the pipeline sees it: no Workers types.
#[derive(Debug, Clone, Default)]
pub struct IncomingRequest {
    pub method: String,
    pub path: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl IncomingRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An answer from Braze, or any HTTP server.
#[derive(Debug, Clone, Default)]
pub struct HttpReply {
    pub status: u16,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("no answer within {0} ms")]
    Timeout(u32),
    #[error("network error: {0}")]
    Network(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key-value store error: {0}")]
pub struct StoreError(pub String);

/// Sends a `/users/track` body.
#[allow(async_fn_in_trait)] // Workers futures are not Send; no caller needs them to be.
pub trait BrazeTransport {
    async fn post_json(&self, url: &str, api_key: &str, body: Vec<u8>, timeout_ms: u32) -> Result<HttpReply, TransportError>;
}

/// A Workers KV namespace, or anything with the same contract.
#[allow(async_fn_in_trait)]
pub trait KeyValueStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Keys starting with `prefix`, in key order, at most `limit`.
    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError>;
}

/// The two queues of queued delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueName {
    /// `RELAY_QUEUE`: translated events waiting for Braze.
    Events,
    /// `RELAY_DLQ`: events that will not be delivered without an operator.
    DeadLetters,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue error: {0}")]
pub struct QueueError(pub String);

/// A Cloudflare Queue producer. Message bodies are JSON text.
#[allow(async_fn_in_trait)]
pub trait QueueProducer {
    async fn send_batch(&self, queue: QueueName, bodies: &[String], delay_seconds: u32) -> Result<(), QueueError>;
}

/// Strict dedup's per-event locks (a Durable Object per event in the Worker).
#[allow(async_fn_in_trait)]
pub trait EventLocks {
    async fn claim(&self, key: &str, window_seconds: u64) -> Result<crate::dedup::strict::Claim, StoreError>;
    async fn settle(&self, key: &str, delivered: bool, window_seconds: u64) -> Result<(), StoreError>;
}

/// Everything the pipeline needs from where it runs.
pub trait Platform {
    type Store: KeyValueStore;
    type Braze: BrazeTransport;
    type Queues: QueueProducer;
    type Locks: EventLocks;

    /// `RELAY_CONFIG`: per-environment config documents.
    fn config_store(&self) -> &Self::Store;
    /// `RELAY_STATE`: dedup records.
    fn state_store(&self) -> &Self::Store;
    fn braze(&self) -> &Self::Braze;
    fn queues(&self) -> &Self::Queues;
    fn locks(&self) -> &Self::Locks;
    /// A Worker secret or variable; `None` when unset or empty.
    fn secret(&self, name: &str) -> Option<String>;
    fn now(&self) -> DateTime<Utc>;
    /// Writes one structured log line.
    fn log(&self, line: &str);
}
