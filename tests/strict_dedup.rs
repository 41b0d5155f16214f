//! Strict dedup, natively: per-event locks serialise copies of one event.

use extole_braze_relay::authenticate::sign_hs256;
use extole_braze_relay::dedup::strict::LockState;
use extole_braze_relay::environment::{config_key, ConfigCache};
use extole_braze_relay::memory::MemoryPlatform;
use extole_braze_relay::pipeline::handle;
use extole_braze_relay::ports::{EventLocks, IncomingRequest, Platform};
use extole_braze_relay::respond::Response;

const KEY: &str = "strict-key";

fn platform(document: &str) -> MemoryPlatform {
    let platform = MemoryPlatform::new(&[
        ("EXTOLE_WEBHOOK_SECRET_PRODUCTION", KEY),
        ("BRAZE_API_KEY_PRODUCTION", "b"),
        ("BRAZE_REST_ENDPOINT_PRODUCTION", "US-01"),
    ]);
    platform.config.entries.borrow_mut().insert(config_key("production"), (document.into(), None));
    platform
}

fn post(platform: &MemoryPlatform, configs: &ConfigCache, body: &str) -> Response {
    let request = IncomingRequest {
        method: "POST".into(),
        path: "/extole/production".into(),
        headers: vec![("x-extole-signature".into(), sign_hs256(KEY, body.as_bytes()))],
        body: body.as_bytes().to_vec(),
    };
    pollster::block_on(handle(platform, configs, &request))
}

const EVENT: &str = r#"{"type":"shared","event_id":"s-1","userId":"u"}"#;
const LOCK: &str = "dedup:production:id:s-1";

#[test]
fn a_copy_arriving_while_another_delivers_is_told_to_retry_and_never_sent() {
    let (platform, configs) = (platform(r#"{"dedup": "strict"}"#), ConfigCache::default());
    // Another request holds the claim, mid-delivery.
    pollster::block_on(platform.locks().claim(LOCK, 3600)).unwrap();
    let response = post(&platform, &configs, EVENT);
    assert_eq!((response.status, response.body["error"].as_str()), (503, Some("in_flight")), "{}", response.body);
    assert!(response.headers.iter().any(|(n, v)| n == "retry-after" && v == "10"));
    assert!(platform.braze.sent.borrow().is_empty());
    // The holder delivers; the retry is then a duplicate.
    pollster::block_on(platform.locks().settle(LOCK, true, 3600)).unwrap();
    assert_eq!(post(&platform, &configs, EVENT).body["status"], "duplicate");
    assert!(platform.braze.sent.borrow().is_empty());
}

#[test]
fn delivery_settles_the_lock_and_failures_release_it() {
    let (platform, configs) = (platform(r#"{"dedup": {"mode": "strict"}}"#), ConfigCache::default());
    platform.braze.then_reply(503, &[], "");
    assert_eq!(post(&platform, &configs, EVENT).status, 503);
    assert!(platform.locks.states.borrow().get(LOCK).is_none(), "a failed delivery releases its claim");
    assert_eq!(post(&platform, &configs, EVENT).body["status"], "delivered");
    assert!(matches!(platform.locks.states.borrow().get(LOCK), Some(LockState::Delivered { .. })));
    assert_eq!(post(&platform, &configs, EVENT).body["status"], "duplicate");
    assert_eq!(platform.braze.sent.borrow().len(), 2);
    assert!(platform.state.entries.borrow().is_empty(), "strict mode keeps its records in the locks, not KV");
}

#[test]
fn a_missing_braze_key_releases_claims_too() {
    let platform = MemoryPlatform::new(&[("EXTOLE_WEBHOOK_SECRET_PRODUCTION", KEY)]);
    platform.config.entries.borrow_mut().insert(config_key("production"), (r#"{"dedup": "strict"}"#.into(), None));
    let configs = ConfigCache::default();
    assert_eq!(post(&platform, &configs, EVENT).body["error"], "misconfigured");
    assert!(platform.locks.states.borrow().is_empty());
}

#[test]
fn strict_dedup_is_refused_with_queue_delivery() {
    let (platform, configs) = (platform(r#"{"dedup": "strict", "delivery": "queue"}"#), ConfigCache::default());
    // The invalid document is not used: the embedded (KV-mode, direct) config serves.
    assert_eq!(post(&platform, &configs, EVENT).body["status"], "delivered");
    assert!(platform.logs.borrow().iter().any(|l| l.contains("$.dedup.mode")));
}
