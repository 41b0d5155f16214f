//! Step 3 and 6: drop what was already delivered, and remember what now is.
//!
//! One KV record per delivered event, keyed by environment and Extole's event id (or a
//! SHA-256 of the raw body when the body has none), expiring after the configured window.
//! A record is written only after Braze accepted the event, so a failed delivery stays
//! retryable. KV is eventually consistent: two copies arriving at two locations within about
//! a minute can both pass (see README).

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::extole::ExtoleEvent;
use crate::ports::{KeyValueStore, StoreError};

/// Ids longer than this are hashed to keep keys inside KV's 512-byte limit.
const MAX_RAW_ID_BYTES: usize = 128;

/// The dedup key of each event of one request.
pub fn keys_for(environment: &str, events: &[ExtoleEvent], raw_body: &[u8]) -> Vec<String> {
    let body_hash = || hex::encode(Sha256::digest(raw_body));
    events
        .iter()
        .map(|event| match &event.id {
            Some(id) if id.len() <= MAX_RAW_ID_BYTES => format!("dedup:{environment}:id:{id}"),
            Some(id) => format!("dedup:{environment}:idsha256:{}", hex::encode(Sha256::digest(id.as_bytes()))),
            None if events.len() == 1 => format!("dedup:{environment}:body:{}", body_hash()),
            None => format!("dedup:{environment}:body:{}:{}", body_hash(), event.index),
        })
        .collect()
}

/// Whether each key was already recorded (and, within the same request, repeated).
pub async fn already_handled(store: &impl KeyValueStore, keys: &[String]) -> Result<Vec<bool>, StoreError> {
    let mut seen = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let repeated = keys[..i].contains(key);
        seen.push(repeated || store.get(key).await?.is_some());
    }
    Ok(seen)
}

/// Records delivered events. A failure here is logged by the caller, not fatal: the events
/// are already in Braze, and the worst case is one duplicate if Extole sends them again.
pub async fn record(store: &impl KeyValueStore, keys: &[&String], window_seconds: u64, delivered_at: &str) -> Result<(), StoreError> {
    let value = serde_json::to_string(&json!({ "delivered_at": delivered_at })).unwrap_or_default();
    for key in keys {
        store.put(key, &value, Some(window_seconds)).await?;
    }
    Ok(())
}

/// Strict dedup (`"dedup": "strict"`): one Durable Object per event id serialises every
/// copy of that event, so simultaneous deliveries cannot both pass the way they can
/// through eventually consistent KV. The state machine lives here; the Durable Object
/// (`worker_glue`) and the in-memory locks only store its states.
pub mod strict {
    use serde::{Deserialize, Serialize};

    /// A claim that has not been settled within this long is presumed abandoned (the Worker
    /// died mid-delivery) and may be claimed again.
    pub const IN_FLIGHT_EXPIRY_SECONDS: i64 = 60;

    /// Stored as `{"state": "in_flight", "since": s}` or `{"state": "delivered", "at": s}`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(try_from = "StoredLock", into = "StoredLock")]
    pub enum LockState {
        InFlight { since: i64 },
        Delivered { at: i64 },
    }

    /// `LockState` as stored, read as a plain struct: serde's internally tagged enums buffer
    /// through generic code that costs the Worker's WebAssembly more than this is worth.
    #[derive(Serialize, Deserialize)]
    struct StoredLock {
        state: StoredState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<i64>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum StoredState {
        InFlight,
        Delivered,
    }

    impl TryFrom<StoredLock> for LockState {
        type Error = &'static str;
        fn try_from(stored: StoredLock) -> Result<Self, Self::Error> {
            match (stored.state, stored.since, stored.at) {
                (StoredState::InFlight, Some(since), None) => Ok(Self::InFlight { since }),
                (StoredState::Delivered, None, Some(at)) => Ok(Self::Delivered { at }),
                _ => Err("a lock is {\"state\": \"in_flight\", \"since\": s} or {\"state\": \"delivered\", \"at\": s}"),
            }
        }
    }

    impl From<LockState> for StoredLock {
        fn from(lock: LockState) -> Self {
            match lock {
                LockState::InFlight { since } => Self { state: StoredState::InFlight, since: Some(since), at: None },
                LockState::Delivered { at } => Self { state: StoredState::Delivered, since: None, at: Some(at) },
            }
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Claim {
        /// This copy delivers; it must settle the claim afterwards.
        Claimed,
        AlreadyDelivered,
        /// Another copy is being delivered right now.
        InFlight,
    }

    /// Decides a claim on an event whose lock is in `state`, and the lock's next state.
    pub fn claim(state: Option<LockState>, now: i64, window_seconds: u64) -> (Claim, Option<LockState>) {
        let window = i64::try_from(window_seconds).unwrap_or(i64::MAX);
        match state {
            Some(LockState::Delivered { at }) if now - at < window => (Claim::AlreadyDelivered, state),
            Some(LockState::InFlight { since }) if now - since < IN_FLIGHT_EXPIRY_SECONDS => (Claim::InFlight, state),
            _ => (Claim::Claimed, Some(LockState::InFlight { since: now })),
        }
    }

    /// The lock's state once the claimant is done: delivered, or released for a retry.
    pub fn settle(delivered: bool, now: i64) -> Option<LockState> {
        delivered.then_some(LockState::Delivered { at: now })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn one_claim_at_a_time_and_delivered_stays_delivered() {
            let (first, state) = claim(None, 100, 3600);
            assert_eq!(first, Claim::Claimed);
            assert_eq!(claim(state, 101, 3600).0, Claim::InFlight);
            let delivered = settle(true, 102);
            assert_eq!(claim(delivered, 103, 3600).0, Claim::AlreadyDelivered);
            assert_eq!(claim(delivered, 102 + 3600, 3600).0, Claim::Claimed, "the window has passed");
            assert_eq!(claim(settle(false, 102), 103, 3600).0, Claim::Claimed, "a failed delivery is released");
            assert_eq!(claim(state, 100 + IN_FLIGHT_EXPIRY_SECONDS, 3600).0, Claim::Claimed, "an abandoned claim expires");
        }
    }
}
