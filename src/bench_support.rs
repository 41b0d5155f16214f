//! The work the benchmarks time, in one place, so that the native benchmark
//! (`benches/pipeline.rs`), the native CPU loop (`examples/cpu_loop.rs`) and the WebAssembly
//! CPU loop (`bench/wasm-cpu.mjs`, through `src/wasm_bench.rs`) time exactly the same thing.
//!
//! Nothing here is used by the relay: in the Worker build it is unreferenced and dropped by
//! the linker (the size report would show it otherwise).

use std::future::Future;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::authenticate::{authenticate, sign_hs256, WebhookKeys, SIGNATURE_HEADER};
use crate::braze::{pack, RequestCaps};
use crate::config::{EmbeddedConfig, EnvironmentConfig};
use crate::extole::{parse_body, ParseLimits};
use crate::environment::ConfigCache;
use crate::mapping::translate;
use crate::memory::MemoryPlatform;
use crate::pipeline::handle;
use crate::ports::IncomingRequest;

/// The HS256 key the benchmarks sign with.
pub const BENCH_KEY: &str = "bench-extole-key";

/// The project's sample payloads (`examples/payloads/`), by name.
pub const SAMPLES: [(&str, &str); 7] = [
    ("converted", include_str!("../examples/payloads/converted.json")),
    ("reward-earned", include_str!("../examples/payloads/reward-earned.json")),
    ("share-link-created", include_str!("../examples/payloads/share-link-created.json")),
    ("shared", include_str!("../examples/payloads/shared.json")),
    ("signed-up", include_str!("../examples/payloads/signed-up.json")),
    ("subscribed", include_str!("../examples/payloads/subscribed.json")),
    ("unsubscribed", include_str!("../examples/payloads/unsubscribed.json")),
];

/// Size of the large payload the benchmarks generate.
pub const LARGE_PAYLOAD_BYTES: usize = 50 * 1024;
/// Size of the largest payload they generate: just under the default body cap (256 KiB),
/// the most CPU one request can cost with the default config.
pub const LARGEST_PAYLOAD_BYTES: usize = 250 * 1024;

/// One payload to time: its name, body, HS256 signature and how many events it holds.
#[derive(Debug, Clone)]
pub struct Payload {
    pub name: String,
    pub body: Vec<u8>,
    pub signature: String,
    pub events: usize,
}

impl Payload {
    pub fn new(name: &str, body: impl Into<Vec<u8>>, events: usize) -> Self {
        let body = body.into();
        let signature = sign_hs256(BENCH_KEY, &body);
        Self { name: name.into(), body, signature, events }
    }
}

/// Every payload the benchmarks time: the seven samples, a large (~50 KB) event, one just
/// under the default body cap (~250 KB), and a batch of 100 events (the most one request
/// may carry).
pub fn payloads() -> Vec<Payload> {
    payload_names().filter_map(payload).collect()
}

/// The name of every bench payload, in the order the benchmarks report them: the samples,
/// then the generated ones.
pub fn payload_names() -> impl Iterator<Item = &'static str> {
    SAMPLES.iter().map(|(name, _)| *name).chain(["large-50KB", "large-250KB", "batch-100"])
}

/// One bench payload, built alone: an instruction count of one payload is then not moved by
/// how the others were generated (the allocator's state carries over).
pub fn payload(name: &str) -> Option<Payload> {
    match name {
        "large-50KB" => Some(Payload::new(name, large_event(LARGE_PAYLOAD_BYTES), 1)),
        "large-250KB" => Some(Payload::new(name, large_event(LARGEST_PAYLOAD_BYTES), 1)),
        "batch-100" => Some(Payload::new(name, batch(100), 100)),
        _ => SAMPLES.iter().find(|(sample, _)| *sample == name).map(|(sample, body)| Payload::new(sample, body.trim_end(), 1)),
    }
}

/// A sign-up whose `data` carries a large custom template: an order with many line items
/// and many custom fields, grown until the body is at least `target_bytes` long. Deterministic.
pub fn large_event(target_bytes: usize) -> String {
    let sample = SAMPLES.iter().find(|(name, _)| *name == "signed-up").map(|(_, body)| *body).unwrap_or_default();
    let mut event: Value = serde_json::from_str(sample).expect("the samples are valid JSON");
    let json_len = |value: &Value| serde_json::to_vec(value).map_or(0, |b| b.len());
    let data = event["data"].as_object_mut().expect("the sign-up sample has a data map");
    data.insert("order_items".into(), json!([]));
    data.insert("custom".into(), json!({}));
    // The body's length is tracked as it grows (an item, or a `"key":value` entry, plus its
    // comma) rather than measured by serialising the whole event after every addition.
    let mut length = json_len(&event);
    let (mut items, mut fields) = (Vec::new(), Map::new());
    let mut i = 0;
    while length < target_bytes {
        let item = json!({
            "sku": format!("SKU-{:06}", i * 7919 % 1_000_000),
            "name": format!("Product number {i} with a reasonably descriptive title"),
            "quantity": i % 5 + 1,
            "unit_price": format!("{}.{:02}", 10 + i % 90, i % 100),
            "tags": ["referral", "spring", if i % 2 == 0 { "even" } else { "odd" }],
        });
        let comma = usize::from(i > 0);
        length += json_len(&item) + comma;
        items.push(item);
        for (key, value) in [
            (format!("custom_field_{i:04}"), json!(format!("value {i}: {}", "x".repeat(20 + i % 40)))),
            (format!("custom_id_{i:04}"), json!(9_007_199_254_740_993_u64 + i as u64)),
        ] {
            length += json_len(&json!(key)) + 1 + json_len(&value) + usize::from(!fields.is_empty());
            fields.insert(key, value);
        }
        i += 1;
    }
    let data = event["data"].as_object_mut().expect("the sign-up sample has a data map");
    data.insert("order_items".into(), Value::Array(items));
    data.insert("custom".into(), Value::Object(fields));
    let body = serde_json::to_string(&event).expect("serialises");
    debug_assert_eq!(body.len(), length, "the tracked length is the body's");
    body
}

/// A JSON array of `count` events: the samples in turn, each with its own event id.
pub fn batch(count: usize) -> String {
    let events: Vec<Value> = (0..count)
        .map(|i| {
            let mut event: Value = serde_json::from_str(SAMPLES[i % SAMPLES.len()].1).expect("the samples are valid JSON");
            event["event_id"] = json!(format!("bench-batch-{i:04}"));
            event
        })
        .collect();
    serde_json::to_string(&events).expect("serialises")
}

/// The relay's pure pipeline for the embedded `production` environment, with [`BENCH_KEY`]
/// as its Extole key: everything a request costs except KV, the Braze call and logging.
pub struct PurePipeline {
    config: EnvironmentConfig,
    keys: WebhookKeys,
    received_at: DateTime<Utc>,
}

impl Default for PurePipeline {
    fn default() -> Self {
        let config = EmbeddedConfig::load().resolve("production", None).expect("the embedded production config is valid");
        let received_at = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").expect("valid literal").with_timezone(&Utc);
        Self { config, keys: WebhookKeys::from_secret(BENCH_KEY), received_at }
    }
}

impl PurePipeline {
    /// Verifies the HS256 signature on the raw body, parses and normalises the events,
    /// translates each, packs the Braze objects into `/users/track` requests and serialises
    /// their bodies. Returns the number of bytes that would be sent to Braze.
    pub fn run(&self, body: &[u8], signature: &str) -> Result<usize, String> {
        let header = |name: &str| (name == SIGNATURE_HEADER).then_some(signature);
        authenticate(self.config.auth.scheme, &self.keys, header, body).map_err(|e| e.to_string())?;
        let events = parse_body(body, ParseLimits { max_events: self.config.max_events_per_request }).map_err(|e| e.to_string())?;
        let mut objects = Vec::with_capacity(events.len());
        for event in &events {
            let translation = translate(event, &self.config, self.received_at).map_err(|e| format!("{e:?}"))?;
            objects.push(translation.objects);
        }
        let mut sent = 0;
        for request in pack(objects, RequestCaps::for_settings(&self.config.braze)) {
            sent += request.body.to_json().len();
        }
        Ok(sent)
    }

    /// [`run`](Self::run) `iterations` times; the bytes of the last run.
    pub fn run_many(&self, payload: &Payload, iterations: u32) -> Result<usize, String> {
        let mut sent = 0;
        for _ in 0..iterations {
            sent = self.run(std::hint::black_box(&payload.body), std::hint::black_box(&payload.signature))?;
        }
        Ok(sent)
    }
}

/// The whole request through [`handle`], as the Worker runs it (route, authenticate, parse,
/// deduplicate, translate, deliver, record, log, respond), with in-memory KV and a Braze that
/// answers at once and keeps nothing: the relay's CPU per request apart from the runtime's
/// own work for its I/O calls. Every run is a first delivery (what the previous run recorded
/// is forgotten first).
pub struct Journey {
    platform: MemoryPlatform,
    configs: ConfigCache,
}

impl Default for Journey {
    fn default() -> Self {
        let platform = MemoryPlatform::new(&[
            ("EXTOLE_WEBHOOK_SECRET_PRODUCTION", BENCH_KEY),
            ("BRAZE_API_KEY_PRODUCTION", "bench-braze-key"),
            ("BRAZE_REST_ENDPOINT_PRODUCTION", "US-03"),
        ]);
        platform.braze.forget_sent.set(true);
        Self { platform, configs: ConfigCache::default() }
    }
}

impl Journey {
    /// The signed webhook request that carries `payload`.
    pub fn request(payload: &Payload) -> IncomingRequest {
        IncomingRequest {
            method: "POST".into(),
            path: "/extole/production".into(),
            headers: vec![("content-type".into(), "application/json".into()), (SIGNATURE_HEADER.into(), payload.signature.clone())],
            body: payload.body.clone(),
        }
    }

    /// One request, start to answer; an error unless every event was delivered.
    pub fn run(&self, request: &IncomingRequest) -> Result<(), String> {
        self.platform.state.entries.borrow_mut().clear();
        self.platform.logs.borrow_mut().clear();
        // The in-memory parts never wait, so one poll runs the request to its answer and no
        // executor is needed (none is at hand in the wasm bench build).
        let mut answer = std::pin::pin!(handle(&self.platform, &self.configs, request));
        let Poll::Ready(response) = answer.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
            return Err("the in-memory request waited".into());
        };
        match (response.status, response.body["status"].as_str()) {
            (200, Some("delivered")) => Ok(()),
            _ => Err(format!("{}: {}", response.status, response.body)),
        }
    }

    /// [`run`](Self::run) `iterations` times.
    pub fn run_many(&self, request: &IncomingRequest, iterations: u32) -> Result<(), String> {
        (0..iterations).try_for_each(|_| self.run(std::hint::black_box(request)))
    }
}

/// The in-run baseline: what any JSON webhook relay does at the least, a JSON parse of the
/// body and a serialisation of it.
pub fn json_roundtrip(body: &[u8]) -> usize {
    let value: Value = serde_json::from_slice(body).expect("bench payloads are JSON");
    serde_json::to_vec(&value).map_or(0, |b| b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payload_goes_through_the_pure_pipeline() {
        let pipeline = PurePipeline::default();
        for payload in payloads() {
            let sent = pipeline.run(&payload.body, &payload.signature).unwrap_or_else(|e| panic!("{}: {e}", payload.name));
            assert!(sent > 50, "{}: {sent} bytes", payload.name);
        }
    }

    #[test]
    fn the_large_payloads_are_their_size_deterministic_and_under_the_cap() {
        let large = large_event(LARGE_PAYLOAD_BYTES);
        assert!((LARGE_PAYLOAD_BYTES..LARGE_PAYLOAD_BYTES + 1024).contains(&large.len()), "{}", large.len());
        assert_eq!(large, large_event(LARGE_PAYLOAD_BYTES));
        let largest = large_event(LARGEST_PAYLOAD_BYTES);
        let cap = crate::config::EmbeddedConfig::load().resolve("production", None).expect("valid").max_body_bytes;
        assert!((LARGEST_PAYLOAD_BYTES..=cap).contains(&largest.len()), "{} bytes, cap {cap}", largest.len());
    }

    #[test]
    fn every_named_payload_is_built_under_its_own_name() {
        let built: Vec<String> = payloads().into_iter().map(|p| p.name).collect();
        assert_eq!(built, payload_names().collect::<Vec<_>>());
        assert_eq!(built.len(), SAMPLES.len() + 3);
        assert!(payload("no-such-payload").is_none());
    }

    #[test]
    fn every_payload_goes_through_the_whole_journey_as_a_first_delivery_each_time() {
        let journey = Journey::default();
        for payload in payloads() {
            let request = Journey::request(&payload);
            journey.run_many(&request, 3).unwrap_or_else(|e| panic!("{}: {e}", payload.name));
        }
        let wrong = Payload { signature: sign_hs256("other-key", b"{}"), ..payload("converted").expect("a sample") };
        assert!(journey.run(&Journey::request(&wrong)).unwrap_err().starts_with("401"));
    }

    #[test]
    fn a_wrong_signature_is_refused() {
        let pipeline = PurePipeline::default();
        let payload = &payloads()[0];
        assert!(pipeline.run(&payload.body, &sign_hs256("other-key", &payload.body)).is_err());
    }
}
