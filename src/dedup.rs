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
    let value = json!({ "delivered_at": delivered_at }).to_string();
    for key in keys {
        store.put(key, &value, Some(window_seconds)).await?;
    }
    Ok(())
}
