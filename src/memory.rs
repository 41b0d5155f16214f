//! In-memory stand-ins for the platform, so the whole pipeline runs in a native test:
//! a KV store, a scripted Braze transport that records what it was sent, fixed secrets and
//! a settable clock.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::dedup::strict::{self, Claim, LockState};
use crate::ports::{BrazeTransport, EventLocks, HttpReply, KeyValueStore, Platform, QueueError, QueueName, QueueProducer, StoreError, TransportError};

#[derive(Default)]
pub struct MemoryStore {
    pub entries: RefCell<HashMap<String, (String, Option<u64>)>>,
    /// When set, every call fails: a KV outage.
    pub failing: Cell<bool>,
}

impl KeyValueStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        if self.failing.get() {
            return Err(StoreError("store offline".into()));
        }
        Ok(self.entries.borrow().get(key).map(|(v, _)| v.clone()))
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError> {
        if self.failing.get() {
            return Err(StoreError("store offline".into()));
        }
        self.entries.borrow_mut().insert(key.to_string(), (value.to_string(), ttl_seconds));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if self.failing.get() {
            return Err(StoreError("store offline".into()));
        }
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        if self.failing.get() {
            return Err(StoreError("store offline".into()));
        }
        let mut keys: Vec<String> = self.entries.borrow().keys().filter(|k| k.starts_with(prefix)).cloned().collect();
        keys.sort();
        keys.truncate(limit);
        Ok(keys)
    }
}

/// One message sent to an in-memory queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedMessage {
    pub body: String,
    pub delay_seconds: u32,
}

/// Both queues, in memory: what was sent, in order.
#[derive(Default)]
pub struct MemoryQueues {
    pub events: RefCell<Vec<QueuedMessage>>,
    pub dead_letters: RefCell<Vec<QueuedMessage>>,
    /// When set, every send fails.
    pub failing: Cell<bool>,
}

impl MemoryQueues {
    /// Takes everything sent to `queue` so far.
    pub fn drain(&self, queue: QueueName) -> Vec<QueuedMessage> {
        match queue {
            QueueName::Events => self.events.take(),
            QueueName::DeadLetters => self.dead_letters.take(),
        }
    }
}

impl QueueProducer for MemoryQueues {
    async fn send_batch(&self, queue: QueueName, bodies: &[String], delay_seconds: u32) -> Result<(), QueueError> {
        if self.failing.get() {
            return Err(QueueError("queue offline".into()));
        }
        let target = match queue {
            QueueName::Events => &self.events,
            QueueName::DeadLetters => &self.dead_letters,
        };
        target.borrow_mut().extend(bodies.iter().map(|body| QueuedMessage { body: body.clone(), delay_seconds }));
        Ok(())
    }
}

/// One request the fake Braze received.
#[derive(Debug, Clone)]
pub struct SentRequest {
    pub url: String,
    pub api_key: String,
    pub body: serde_json::Value,
    pub timeout_ms: u32,
}

/// Answers with scripted replies in order, then with a plain success.
#[derive(Default)]
pub struct ScriptedBraze {
    pub sent: RefCell<Vec<SentRequest>>,
    pub script: RefCell<VecDeque<Result<HttpReply, TransportError>>>,
    /// Neither keep nor read what is sent, and answer a fixed success: for benchmarks, whose
    /// figure should be the relay's work, not this stand-in's parse of the body.
    pub forget_sent: Cell<bool>,
}

impl ScriptedBraze {
    pub fn then_reply(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        let headers = headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.to_string())).collect();
        self.script.borrow_mut().push_back(Ok(HttpReply { status, headers, body: body.as_bytes().to_vec() }));
    }

    pub fn then_fail(&self, error: TransportError) {
        self.script.borrow_mut().push_back(Err(error));
    }
}

impl BrazeTransport for ScriptedBraze {
    async fn post_json(&self, url: &str, api_key: &str, body: Vec<u8>, timeout_ms: u32) -> Result<HttpReply, TransportError> {
        if self.forget_sent.get() {
            let reply = br#"{"message":"success","attributes_processed":1,"events_processed":1}"#;
            return Ok(HttpReply { status: 201, headers: Vec::new(), body: reply.to_vec() });
        }
        let parsed = serde_json::from_slice(&body).expect("the relay always sends JSON");
        self.sent.borrow_mut().push(SentRequest { url: url.into(), api_key: api_key.into(), body: parsed, timeout_ms });
        self.script.borrow_mut().pop_front().unwrap_or_else(|| {
            let sent = self.sent.borrow();
            let body = &sent.last().expect("just pushed").body;
            let count = |k: &str| body.get(k).and_then(|v| v.as_array()).map_or(0, Vec::len);
            let reply = serde_json::json!({
                "message": "success",
                "attributes_processed": count("attributes"),
                "events_processed": count("events"),
                "purchases_processed": count("purchases"),
            });
            Ok(HttpReply { status: 201, headers: Vec::new(), body: reply.to_string().into_bytes() })
        })
    }
}

/// Strict dedup locks, in memory, with the same state machine as the Durable Object.
#[derive(Default)]
pub struct MemoryLocks {
    pub states: RefCell<HashMap<String, LockState>>,
    /// The clock the locks read (seconds), shared with the platform's.
    pub now: Cell<i64>,
}

impl EventLocks for MemoryLocks {
    async fn claim(&self, key: &str, window_seconds: u64) -> Result<Claim, StoreError> {
        let current = self.states.borrow().get(key).copied();
        let (claim, next) = strict::claim(current, self.now.get(), window_seconds);
        match next {
            Some(state) => self.states.borrow_mut().insert(key.to_string(), state),
            None => self.states.borrow_mut().remove(key),
        };
        Ok(claim)
    }

    async fn settle(&self, key: &str, delivered: bool, _window_seconds: u64) -> Result<(), StoreError> {
        match strict::settle(delivered, self.now.get()) {
            Some(state) => self.states.borrow_mut().insert(key.to_string(), state),
            None => self.states.borrow_mut().remove(key),
        };
        Ok(())
    }
}

/// The whole platform, in memory.
pub struct MemoryPlatform {
    pub config: MemoryStore,
    pub state: MemoryStore,
    pub braze: ScriptedBraze,
    pub queues: MemoryQueues,
    pub locks: MemoryLocks,
    pub secrets: HashMap<String, String>,
    pub now: Cell<DateTime<Utc>>,
    pub logs: RefCell<Vec<String>>,
}

impl MemoryPlatform {
    pub fn new(secrets: &[(&str, &str)]) -> Self {
        Self {
            config: MemoryStore::default(),
            state: MemoryStore::default(),
            braze: ScriptedBraze::default(),
            queues: MemoryQueues::default(),
            locks: MemoryLocks::default(),
            secrets: secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            now: Cell::new(DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").expect("valid literal").with_timezone(&Utc)),
            logs: RefCell::new(Vec::new()),
        }
    }
}

impl Platform for MemoryPlatform {
    type Store = MemoryStore;
    type Braze = ScriptedBraze;
    type Queues = MemoryQueues;
    type Locks = MemoryLocks;

    fn config_store(&self) -> &MemoryStore {
        &self.config
    }

    fn state_store(&self) -> &MemoryStore {
        &self.state
    }

    fn braze(&self) -> &ScriptedBraze {
        &self.braze
    }

    fn queues(&self) -> &MemoryQueues {
        &self.queues
    }

    fn locks(&self) -> &MemoryLocks {
        self.locks.now.set(self.now.get().timestamp());
        &self.locks
    }

    fn secret(&self, name: &str) -> Option<String> {
        self.secrets.get(name).filter(|v| !v.is_empty()).cloned()
    }

    fn now(&self) -> DateTime<Utc> {
        self.now.get()
    }

    fn log(&self, line: &str) {
        self.logs.borrow_mut().push(line.to_string());
    }
}
