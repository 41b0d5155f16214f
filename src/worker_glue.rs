//! The thin layer between Cloudflare Workers and the pipeline: KV, fetch, secrets, logging.
//! Everything the relay decides is in the platform-neutral modules; this file only moves
//! bytes in and out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::wasm_bindgen::JsValue;
use worker::{
    console_log, event, js_sys, AbortController, BatchMessageBuilder, Context, Delay, Env, Fetch, Headers, MessageBatch, MessageExt,
    QueueContentType, QueueRetryOptionsBuilder, RawMessage, RawMessageBuilder, Request, Response,
};

use crate::dead_letters;
use crate::dedup::strict::{self, Claim, LockState};
use crate::environment::ConfigCache;
use crate::pipeline;
use crate::ports::{
    BrazeTransport, EventLocks, HttpReply, IncomingRequest, KeyValueStore, Platform, QueueError, QueueName, QueueProducer, StoreError,
    TransportError,
};
use crate::queue::{self, Disposition, IncomingMessage, RateGate};

/// Bodies are read up to this many bytes; anything longer is over every environment's cap
/// (the config allows at most 8 MiB), so the rest is never buffered.
const HARD_BODY_CAP: usize = 8 * 1024 * 1024;

thread_local! {
    /// Per-isolate: configs read from KV are reused across requests for a short while.
    static CONFIGS: &'static ConfigCache = Box::leak(Box::new(ConfigCache::default()));
    /// Per-isolate: Braze rate-limit windows the consumer has learnt about.
    static RATE_GATE: &'static RateGate = Box::leak(Box::new(RateGate::default()));
}

#[event(start)]
fn start() {
    // Chain a readable panic message in front of the hook `worker` installed (which schedules
    // the instance's re-initialisation), rather than replacing it.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        console_error_panic_hook::hook(info);
        previous(info);
    }));
}

/// With the variable `RELAY_TEST_HOOKS` = `enabled` (end-to-end tests only, never in
/// production), `POST /__test/panic` panics, to prove the Worker recovers.
const TEST_HOOKS: &str = "RELAY_TEST_HOOKS";

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    if req.path() == "/__test/panic" && env.var(TEST_HOOKS).is_ok_and(|v| v.to_string() == "enabled") {
        panic!("forced panic: the panic-recovery test hook");
    }
    let request = IncomingRequest {
        method: req.method().to_string(),
        path: req.path(),
        headers: req.headers().entries().map(|(n, v)| (n.to_ascii_lowercase(), v)).collect(),
        body: read_body(&mut req).await,
    };
    let platform = WorkerPlatform::new(env)?;
    let configs = CONFIGS.with(|c| *c);
    let response = pipeline::handle(&platform, configs, &request).await;
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    for (name, value) in &response.headers {
        headers.set(name, value)?;
    }
    Ok(Response::from_bytes(response.body_bytes())?.with_status(response.status).with_headers(headers))
}

/// Consumes `RELAY_QUEUE` (delivery to Braze) and `RELAY_DLQ` (into the dead-letter store).
#[event(queue)]
async fn queue(batch: MessageBatch<JsValue>, env: Env, _ctx: Context) -> worker::Result<()> {
    let platform = WorkerPlatform::new(env)?;
    let raw: Vec<RawMessage> = batch.raw_iter().collect();
    let messages: Vec<IncomingMessage> = raw
        .iter()
        .map(|m| IncomingMessage { id: m.id(), body: m.body().as_string().unwrap_or_else(|| js_sys::JSON::stringify(&m.body()).map(String::from).unwrap_or_default()) })
        .collect();
    let dispositions = if batch.queue().ends_with("-dead-letters") {
        dead_letters::consume_dead_letters(&platform, &messages).await
    } else {
        let configs = CONFIGS.with(|c| *c);
        queue::consume_events(&platform, configs, RATE_GATE.with(|g| *g), &messages).await
    };
    for (message, disposition) in raw.iter().zip(dispositions) {
        match disposition {
            Disposition::Ack => message.ack(),
            Disposition::Retry { delay_seconds } => {
                message.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(delay_seconds).build())
            }
        }
    }
    Ok(())
}

/// Reads the body in chunks, stopping one byte past the hard cap: a huge body, with or
/// without `Content-Length`, costs at most that much memory and is answered 413.
async fn read_body(req: &mut Request) -> Vec<u8> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > HARD_BODY_CAP) {
        return vec![0; HARD_BODY_CAP + 1];
    }
    // With a declared length under the cap (the runtime holds the body to it), one copy out
    // of JS is cheaper than a copy per chunk.
    if declared.is_some() {
        return req.bytes().await.unwrap_or_default();
    }
    let Ok(mut stream) = req.stream() else { return Vec::new() };
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(HARD_BODY_CAP));
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { break };
        body.extend_from_slice(&chunk);
        if body.len() > HARD_BODY_CAP {
            body.truncate(HARD_BODY_CAP + 1);
            break;
        }
    }
    body
}

struct WorkerPlatform {
    env: Env,
    config: KvStore,
    state: KvStore,
    braze: FetchTransport,
    queues: Queues,
    locks: DurableLocks,
}

impl WorkerPlatform {
    fn new(env: Env) -> worker::Result<Self> {
        Ok(Self {
            config: KvStore(env.kv("RELAY_CONFIG")?),
            state: KvStore(env.kv("RELAY_STATE")?),
            braze: FetchTransport,
            queues: Queues { events: env.queue("RELAY_QUEUE").ok(), dead_letters: env.queue("RELAY_DLQ").ok() },
            locks: DurableLocks(env.durable_object("RELAY_DEDUP").ok()),
            env,
        })
    }
}

impl Platform for WorkerPlatform {
    type Store = KvStore;
    type Braze = FetchTransport;
    type Queues = Queues;
    type Locks = DurableLocks;

    fn config_store(&self) -> &KvStore {
        &self.config
    }

    fn state_store(&self) -> &KvStore {
        &self.state
    }

    fn braze(&self) -> &FetchTransport {
        &self.braze
    }

    fn queues(&self) -> &Queues {
        &self.queues
    }

    fn locks(&self) -> &DurableLocks {
        &self.locks
    }

    fn secret(&self, name: &str) -> Option<String> {
        // Secrets and plain variables are both string bindings.
        self.env.var(name).ok().map(|v| v.to_string()).filter(|v| !v.trim().is_empty())
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
    }

    fn log(&self, line: &str) {
        console_log!("{line}");
    }
}

struct KvStore(worker::kv::KvStore);

impl KeyValueStore for KvStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.0.get(key).text().await.map_err(|e| StoreError(e.to_string()))
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), StoreError> {
        // As bytes: `put(key, &str)` would take worker's serde path, whose code (float
        // formatting among it) the Worker does not otherwise need. `get().text()` reads it back.
        let mut put = self.0.put_bytes(key, value.as_bytes()).map_err(|e| StoreError(e.to_string()))?;
        if let Some(ttl) = ttl_seconds {
            put = put.expiration_ttl(ttl);
        }
        put.execute().await.map_err(|e| StoreError(e.to_string()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await.map_err(|e| StoreError(e.to_string()))
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        while keys.len() < limit {
            let mut request = self.0.list().prefix(prefix.to_string()).limit(1000);
            if let Some(cursor) = cursor.take() {
                request = request.cursor(cursor);
            }
            let page = request.execute().await.map_err(|e| StoreError(e.to_string()))?;
            keys.extend(page.keys.into_iter().map(|k| k.name));
            if page.list_complete {
                break;
            }
            cursor = page.cursor;
        }
        keys.truncate(limit);
        Ok(keys)
    }
}

/// `RELAY_QUEUE` and `RELAY_DLQ`; absent bindings only matter to environments in queue mode.
struct Queues {
    events: Option<worker::Queue>,
    dead_letters: Option<worker::Queue>,
}

impl QueueProducer for Queues {
    async fn send_batch(&self, queue: QueueName, bodies: &[String], delay_seconds: u32) -> Result<(), QueueError> {
        let (binding, name) = match queue {
            QueueName::Events => (&self.events, "RELAY_QUEUE"),
            QueueName::DeadLetters => (&self.dead_letters, "RELAY_DLQ"),
        };
        let queue = binding.as_ref().ok_or_else(|| QueueError(format!("no {name} binding")))?;
        let messages = bodies.iter().map(|body| {
            let mut message = RawMessageBuilder::new(JsValue::from_str(body));
            if delay_seconds > 0 {
                message = message.delay_seconds(delay_seconds);
            }
            message.build_with_content_type(QueueContentType::Text)
        });
        let batch = BatchMessageBuilder::new().messages(messages).build();
        queue.send_raw_batch(batch).await.map_err(|e| QueueError(e.to_string()))
    }
}

/// Strict dedup: the Durable Object namespace `RELAY_DEDUP`, one object per event key. The
/// object (`EventLock`, in shim/entry.mjs) is only an atomic register with get and
/// compare-and-set; the state machine stays here, in `dedup::strict`. (A Rust Durable
/// Object would have cost a fifth of the Worker's size for the same few lines.)
struct DurableLocks(Option<worker::ObjectNamespace>);

#[derive(serde::Deserialize)]
struct Register {
    value: Option<LockState>,
    #[serde(default)]
    swapped: bool,
}

/// Compare-and-set attempts before giving up (only concurrent writers make one fail).
const CAS_ATTEMPTS: usize = 8;

impl DurableLocks {
    async fn call(&self, key: &str, path: &str, body: Option<String>) -> Result<Register, StoreError> {
        let failed = |e: worker::Error| StoreError(format!("strict dedup lock: {e}"));
        let namespace = self.0.as_ref().ok_or_else(|| StoreError("no RELAY_DEDUP binding (needed by \"dedup\": \"strict\")".into()))?;
        let stub = namespace.id_from_name(key).map_err(failed)?.get_stub().map_err(failed)?;
        let request = post_request(&format!("https://event-lock{path}"), None, body.map(|b| JsValue::from_str(&b))).map_err(failed)?;
        let text = stub.fetch_with_request(request).await.map_err(failed)?.text().await.map_err(failed)?;
        crate::json::parse(&text).map_err(|e| StoreError(format!("strict dedup lock: unreadable answer: {e}")))
    }

    /// Moves the lock from its current state to `step(current)`, atomically.
    async fn transition<T>(&self, key: &str, step: impl Fn(Option<LockState>) -> (T, Option<LockState>), expire_in_ms: Option<u64>) -> Result<T, StoreError> {
        let mut current = self.call(key, "/get", None).await?.value;
        for _ in 0..CAS_ATTEMPTS {
            let (outcome, next) = step(current);
            if next == current {
                return Ok(outcome);
            }
            let expire = matches!(next, Some(LockState::Delivered { .. })).then_some(expire_in_ms).flatten();
            let body = serde_json::json!({ "expected": current, "next": next, "expire_in_ms": expire }).to_string();
            let answer = self.call(key, "/cas", Some(body)).await?;
            if answer.swapped {
                return Ok(outcome);
            }
            current = answer.value;
        }
        Err(StoreError("strict dedup lock: too much contention".into()))
    }
}

fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

impl EventLocks for DurableLocks {
    async fn claim(&self, key: &str, window_seconds: u64) -> Result<Claim, StoreError> {
        let now = now_seconds();
        self.transition(key, |current| strict::claim(current, now, window_seconds), None).await
    }

    async fn settle(&self, key: &str, delivered: bool, window_seconds: u64) -> Result<(), StoreError> {
        let now = now_seconds();
        self.transition(key, |_| ((), strict::settle(delivered, now)), Some(window_seconds.saturating_mul(1000))).await
    }
}

/// A POST request built with the runtime's own `RequestInit`: worker's `RequestInit` would
/// bring its `cf` options converter (serde_wasm_bindgen and image-resizing types) into the
/// Worker's WebAssembly, for options the relay never sets.
fn post_request(url: &str, headers: Option<&Headers>, body: Option<JsValue>) -> worker::Result<Request> {
    let init = worker::web_sys::RequestInit::new();
    init.set_method("POST");
    if let Some(headers) = headers {
        init.set_headers(headers.as_ref());
    }
    if let Some(body) = body {
        init.set_body(&body);
    }
    Ok(Request::from(worker::web_sys::Request::new_with_str_and_init(url, &init)?))
}

struct FetchTransport;

impl BrazeTransport for FetchTransport {
    async fn post_json(&self, url: &str, api_key: &str, body: Vec<u8>, timeout_ms: u32) -> Result<HttpReply, TransportError> {
        let network = |e: worker::Error| TransportError::Network(e.to_string());
        let headers = Headers::new();
        headers.set("content-type", "application/json").map_err(network)?;
        headers.set("authorization", &format!("Bearer {api_key}")).map_err(network)?;
        let request = post_request(url, Some(&headers), Some(js_sys::Uint8Array::from(body.as_slice()).into())).map_err(network)?;

        let controller = AbortController::default();
        let signal = controller.signal();
        let exchange = async {
            let mut response = Fetch::Request(request).send_with_signal(&signal).await?;
            let status = response.status_code();
            let headers = response.headers().entries().map(|(n, v)| (n.to_ascii_lowercase(), v)).collect();
            let body = response.bytes().await?;
            Ok::<_, worker::Error>(HttpReply { status, headers, body })
        };
        let timeout = Delay::from(Duration::from_millis(u64::from(timeout_ms)));
        futures_util::pin_mut!(exchange);
        match select(exchange, timeout).await {
            Either::Left((result, _)) => result.map_err(network),
            Either::Right(_) => {
                controller.abort();
                Err(TransportError::Timeout(timeout_ms))
            }
        }
    }
}
