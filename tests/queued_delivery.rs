//! Queued delivery, natively: enqueue at the edge, batch into Braze, retry, dead-letter,
//! list and replay.

use extole_braze_relay::authenticate::sign_hs256;
use extole_braze_relay::dead_letters::consume_dead_letters;
use extole_braze_relay::environment::{config_key, ConfigCache};
use extole_braze_relay::memory::MemoryPlatform;
use extole_braze_relay::pipeline::handle;
use extole_braze_relay::ports::{IncomingRequest, QueueName, TransportError};
use extole_braze_relay::queue::{consume_events, Disposition, IncomingMessage, QueuedEvent, RateGate};
use extole_braze_relay::respond::Response;
use serde_json::{json, Value};

const EXTOLE_KEY: &str = "q-extole-key";
const ADMIN: &str = "q-admin";

fn platform() -> MemoryPlatform {
    let platform = MemoryPlatform::new(&[
        ("EXTOLE_WEBHOOK_SECRET_PRODUCTION", EXTOLE_KEY),
        ("BRAZE_API_KEY_PRODUCTION", "q-braze-key"),
        ("BRAZE_REST_ENDPOINT_PRODUCTION", "US-02"),
        ("RELAY_ADMIN_TOKEN", ADMIN),
    ]);
    let config = json!({"delivery": "queue", "queue": {"max_failures": 3, "base_backoff_seconds": 2, "max_backoff_seconds": 60}});
    platform.config.entries.borrow_mut().insert(config_key("production"), (config.to_string(), None));
    platform
}

fn post(platform: &MemoryPlatform, configs: &ConfigCache, body: &str) -> Response {
    let request = IncomingRequest {
        method: "POST".into(),
        path: "/extole/production".into(),
        headers: vec![("x-extole-signature".into(), sign_hs256(EXTOLE_KEY, body.as_bytes()))],
        body: body.as_bytes().to_vec(),
    };
    pollster::block_on(handle(platform, configs, &request))
}

fn admin(platform: &MemoryPlatform, configs: &ConfigCache, method: &str, path: &str, body: &str) -> Response {
    let request = IncomingRequest {
        method: method.into(),
        path: path.into(),
        headers: vec![("authorization".into(), format!("Bearer {ADMIN}"))],
        body: body.as_bytes().to_vec(),
    };
    pollster::block_on(handle(platform, configs, &request))
}

fn event(id: usize) -> String {
    format!(r#"{{"type":"shared","event_id":"q-{id}","data":{{"partner_user_id":"u-{id}","email":"p{id}@example.com"}}}}"#)
}

/// Runs the consumer once over everything on `queue`, as Cloudflare would hand it over.
fn run_consumer(platform: &MemoryPlatform, configs: &ConfigCache, queue: QueueName) -> Vec<(QueuedEvent, Disposition, u32)> {
    let sent = platform.queues.drain(queue);
    let messages: Vec<IncomingMessage> = sent.iter().enumerate().map(|(i, m)| IncomingMessage { id: format!("m{i}"), body: m.body.clone() }).collect();
    let dispositions = match queue {
        QueueName::Events => pollster::block_on(consume_events(platform, configs, &RateGate::default(), &messages)),
        QueueName::DeadLetters => pollster::block_on(consume_dead_letters(platform, &messages)),
    };
    sent.iter()
        .zip(dispositions)
        .filter_map(|(m, d)| serde_json::from_str::<QueuedEvent>(&m.body).ok().map(|e| (e, d, m.delay_seconds)))
        .collect()
}

fn requeued(platform: &MemoryPlatform) -> Vec<(QueuedEvent, u32)> {
    platform.queues.events.borrow().iter().map(|m| (serde_json::from_str(&m.body).unwrap(), m.delay_seconds)).collect()
}

#[test]
fn the_edge_answers_queued_only_after_the_send() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let response = post(&platform, &configs, &event(1));
    assert_eq!((response.status, response.body["status"].as_str()), (200, Some("queued")), "{}", response.body);
    assert!(platform.braze.sent.borrow().is_empty());
    let queued = requeued(&platform);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].0.event_name, "Shared");
    assert_eq!(queued[0].0.dedup_key, "dedup:production:id:q-1");

    platform.queues.failing.set(true);
    let response = post(&platform, &configs, &event(2));
    assert_eq!((response.status, response.body["error"].as_str()), (503, Some("queue_unavailable")));
    assert!(response.headers.iter().any(|(n, _)| n == "retry-after"));
}

#[test]
fn an_event_too_large_for_a_queue_message_is_refused_at_the_edge() {
    let platform = platform();
    // Many configured attributes of 250 characters each make one event's objects large.
    let attributes: serde_json::Map<String, Value> =
        (0..450).map(|i| (format!("a{i}"), json!({"from": format!("data.f{i}"), "transform": "trim"}))).collect();
    let config = json!({"delivery": "queue", "attributes": attributes});
    platform.config.entries.borrow_mut().insert(config_key("production"), (config.to_string(), None));
    let configs = ConfigCache::default();
    let fields: Vec<String> = (0..450).map(|i| format!(r#""f{i}":"{}""#, "x".repeat(250))).collect();
    let body = format!(r#"{{"type":"shared","event_id":"big","userId":"u","data":{{{}}}}}"#, fields.join(","));
    assert!(body.len() < 256 * 1024);
    let response = post(&platform, &configs, &body);
    assert_eq!((response.status, response.body["error"].as_str()), (413, Some("message_too_large")), "{}", response.body);
    assert!(platform.queues.events.borrow().is_empty());
}

#[test]
fn many_events_become_few_braze_requests() {
    let (platform, configs) = (platform(), ConfigCache::default());
    for i in 0..150 {
        assert_eq!(post(&platform, &configs, &event(i)).status, 200);
    }
    // The same event twice in one batch is delivered once.
    post(&platform, &configs, &event(7));
    let outcomes = run_consumer(&platform, &configs, QueueName::Events);
    assert_eq!(outcomes.len(), 151);
    assert!(outcomes.iter().all(|(_, d, _)| *d == Disposition::Ack));
    let sent = platform.braze.sent.borrow();
    assert_eq!(sent.iter().map(|r| r.body["events"].as_array().unwrap().len()).collect::<Vec<_>>(), [75, 75]);
    assert!(sent.iter().all(|r| r.body["attributes"].as_array().unwrap().len() <= 75));
    assert!(platform.state.entries.borrow().contains_key("dedup:production:id:q-149"));
    drop(sent);
    // Once recorded, a late duplicate is acknowledged without a Braze request.
    post(&platform, &configs, &event(3));
    run_consumer(&platform, &configs, QueueName::Events);
    assert_eq!(platform.braze.sent.borrow().len(), 2);
}

#[test]
fn a_rate_limit_is_waited_out_without_spending_the_failure_budget() {
    let (platform, configs) = (platform(), ConfigCache::default());
    post(&platform, &configs, &event(1));
    let reset = (platform.now.get().timestamp() + 20).to_string();
    platform.braze.then_reply(429, &[("X-RateLimit-Reset", &reset)], "");
    let outcomes = run_consumer(&platform, &configs, QueueName::Events);
    assert_eq!(outcomes[0].1, Disposition::Ack, "the original is acknowledged once its retry is on the queue");
    let again = requeued(&platform);
    assert_eq!((again[0].0.rate_limited, again[0].0.failures), (1, 0));
    assert!((20..=22).contains(&again[0].1), "delay {} should follow X-RateLimit-Reset", again[0].1);
    run_consumer(&platform, &configs, QueueName::Events);
    assert_eq!(platform.braze.sent.borrow().len(), 2);
    assert!(platform.queues.events.borrow().is_empty());
    assert!(platform.state.entries.borrow().contains_key("dedup:production:id:q-1"));
}

#[test]
fn outages_back_off_exponentially_then_dead_letter_with_the_reason() {
    let (platform, configs) = (platform(), ConfigCache::default());
    post(&platform, &configs, &event(1));
    let mut delays = Vec::new();
    for _ in 0..3 {
        platform.braze.then_reply(503, &[], "");
        run_consumer(&platform, &configs, QueueName::Events);
        let next = requeued(&platform);
        assert_eq!(next.len(), 1);
        delays.push(next[0].1);
    }
    assert!(delays[0] >= 2 && delays[1] >= 4 && delays[2] >= 8, "{delays:?}");
    assert!(delays.windows(2).all(|w| w[1] > w[0]), "{delays:?}");
    platform.braze.then_fail(TransportError::Timeout(5000));
    run_consumer(&platform, &configs, QueueName::Events);
    assert!(platform.queues.events.borrow().is_empty());
    assert_eq!(platform.queues.dead_letters.borrow().len(), 1);
    run_consumer(&platform, &configs, QueueName::DeadLetters);
    let listing = admin(&platform, &configs, "GET", "/admin/dead-letters", "");
    assert_eq!(listing.status, 200, "{}", listing.body);
    let letter = &listing.body["dead_letters"][0];
    assert_eq!(letter["event_id"], "q-1");
    assert!(letter["reason"].as_str().unwrap().contains("retries exhausted after 4 failures"), "{letter}");
    assert!(!listing.body.to_string().contains("example.com"), "listings carry no personal data");
}

#[test]
fn item_errors_dead_letter_only_their_event_and_replay_redelivers() {
    let (platform, configs) = (platform(), ConfigCache::default());
    for i in 0..3 {
        post(&platform, &configs, &event(i));
    }
    platform.braze.then_reply(
        201,
        &[],
        r#"{"message":"success","events_processed":2,"errors":[{"type":"'name' is invalid","input_array":"events","index":1}]}"#,
    );
    run_consumer(&platform, &configs, QueueName::Events);
    let dead = platform.queues.dead_letters.borrow().clone();
    assert_eq!(dead.len(), 1);
    let letter: Value = serde_json::from_str(&dead[0].body).unwrap();
    assert_eq!(letter["event"]["event_id"], "q-1");
    assert_eq!(letter["braze_errors"][0]["index"], 1);
    run_consumer(&platform, &configs, QueueName::DeadLetters);

    let listing = admin(&platform, &configs, "GET", "/admin/dead-letters", "");
    assert_eq!(listing.body["count"], 1);
    let id = listing.body["dead_letters"][0]["id"].as_str().unwrap().to_string();
    let replay = admin(&platform, &configs, "POST", "/admin/dead-letters/replay", &json!({"ids": [id]}).to_string());
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.body["report"]["replayed"].as_array().unwrap().len(), 1);
    assert_eq!(admin(&platform, &configs, "GET", "/admin/dead-letters", "").body["count"], 0);
    run_consumer(&platform, &configs, QueueName::Events);
    let last = platform.braze.sent.borrow().last().unwrap().body.clone();
    assert_eq!(last["events"][0]["properties"]["event_id"], "q-1");
}

#[test]
fn a_permanent_refusal_dead_letters_everything_and_a_fix_then_replay_delivers() {
    let (platform, configs) = (platform(), ConfigCache::default());
    post(&platform, &configs, &event(1));
    post(&platform, &configs, &event(2));
    platform.braze.then_reply(401, &[], r#"{"message":"Invalid API key"}"#);
    run_consumer(&platform, &configs, QueueName::Events);
    assert_eq!(platform.braze.sent.borrow().len(), 1, "a 401 is not retried");
    run_consumer(&platform, &configs, QueueName::DeadLetters);
    let listing = admin(&platform, &configs, "GET", "/admin/dead-letters", "");
    assert_eq!(listing.body["count"], 2);
    assert_eq!(listing.body["dead_letters"][0]["braze_status"], 401);
    let replay = admin(&platform, &configs, "POST", "/admin/dead-letters/replay", "{}");
    assert_eq!(replay.body["report"]["replayed"].as_array().unwrap().len(), 2);
    run_consumer(&platform, &configs, QueueName::Events);
    assert_eq!(platform.braze.sent.borrow().len(), 2);
    assert_eq!(platform.braze.sent.borrow()[1].body["events"].as_array().unwrap().len(), 2);
}

#[test]
fn admin_endpoints_need_the_admin_token() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let anonymous = IncomingRequest { method: "GET".into(), path: "/admin/dead-letters".into(), ..Default::default() };
    assert_eq!(pollster::block_on(handle(&platform, &configs, &anonymous)).status, 401);
    let bad = admin(&platform, &configs, "POST", "/admin/dead-letters/replay", r#"{"ids": 5}"#);
    assert_eq!((bad.status, bad.body["error"].as_str()), (400, Some("invalid_field")));
    assert_eq!(admin(&platform, &configs, "DELETE", "/admin/dead-letters", "").status, 405);
}

#[test]
fn unreadable_messages_are_kept_not_dropped() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let messages = [IncomingMessage { id: "junk".into(), body: "{not json".into() }];
    let dispositions = pollster::block_on(consume_events(&platform, &configs, &RateGate::default(), &messages));
    assert_eq!(dispositions, [Disposition::Ack]);
    run_consumer(&platform, &configs, QueueName::DeadLetters);
    let listing = admin(&platform, &configs, "GET", "/admin/dead-letters", "");
    assert_eq!(listing.body["dead_letters"][0]["replayable"], false);
    assert!(listing.body["dead_letters"][0]["reason"].as_str().unwrap().contains("unreadable"));
}

#[test]
fn a_spent_rate_limit_window_holds_later_batches_without_asking_braze() {
    let (platform, configs, gate) = (platform(), ConfigCache::default(), RateGate::default());
    let consume = |platform: &MemoryPlatform| {
        let sent = platform.queues.drain(QueueName::Events);
        let messages: Vec<IncomingMessage> = sent.iter().enumerate().map(|(i, m)| IncomingMessage { id: format!("g{i}"), body: m.body.clone() }).collect();
        pollster::block_on(consume_events(platform, &configs, &gate, &messages))
    };
    post(&platform, &configs, &event(1));
    let reset = (platform.now.get().timestamp() + 20).to_string();
    // Braze accepts, but says the window is spent.
    platform.braze.then_reply(201, &[("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", &reset)], r#"{"message":"success","events_processed":1}"#);
    consume(&platform);
    post(&platform, &configs, &event(2));
    consume(&platform);
    assert_eq!(platform.braze.sent.borrow().len(), 1, "the second batch waited instead of spending a request");
    let waiting = requeued(&platform);
    assert_eq!((waiting[0].0.event_id.as_deref(), waiting[0].0.rate_limited), (Some("q-2"), 1));
    assert!((20..=22).contains(&waiting[0].1), "{}", waiting[0].1);
    // Once the window has reset, it goes.
    platform.now.set(platform.now.get() + chrono::Duration::seconds(21));
    consume(&platform);
    assert_eq!(platform.braze.sent.borrow().len(), 2);
}
