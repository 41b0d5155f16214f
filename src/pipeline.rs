//! The request's journey, top to bottom: route, authenticate, parse, deduplicate,
//! translate, deliver, record, respond. Each step lives in the module named for it; this
//! file only strings them together and decides what Extole is told.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::authenticate::{authenticate, WebhookKeys};
use crate::config::{EnvironmentConfig, SecretNames};
use crate::dead_letters;
use crate::dedup;
use crate::deliver::{deliver, BrazeTarget, ItemDelivery};
use crate::braze::{pack, RequestCaps};
use crate::config::{AuthScheme, DedupMode, DeliveryMode};
use crate::dedup::strict::Claim;
use crate::environment::{is_valid_environment_name, ConfigCache, EffectiveConfig};
use crate::error::RelayError;
use crate::extole::{self, ExtoleEvent, ParseLimits};
use crate::mapping::{translate, TranslateError, Translation};
use crate::ports::{EventLocks, IncomingRequest, Platform, QueueName, QueueProducer};
use crate::queue::{QueuedEvent, MAX_MESSAGE_BYTES};
use crate::respond::{RequestLog, Response};

/// Secret holding the token of the operator endpoints.
pub const ADMIN_TOKEN: &str = "RELAY_ADMIN_TOKEN";

/// Handles one HTTP request end to end. Never fails: every error becomes a response.
pub async fn handle(platform: &impl Platform, configs: &ConfigCache, request: &IncomingRequest) -> Response {
    let started = platform.now();
    let mut log = RequestLog::new(&request.method, &request.path);
    let response = match route(platform, configs, request, &mut log).await {
        Ok(response) => response,
        Err(error) => Response::error(&error),
    };
    log.finish(&response, (platform.now() - started).num_milliseconds());
    platform.log(&log.to_line());
    response
}

async fn route(platform: &impl Platform, configs: &ConfigCache, request: &IncomingRequest, log: &mut RequestLog) -> Result<Response, RelayError> {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let method = request.method.as_str();
    let not_allowed = |allowed| Err(RelayError::MethodNotAllowed { method: method.into(), allowed });
    match segments.as_slice() {
        ["health"] if matches!(method, "GET" | "HEAD") => Ok(Response::ok(json!({"status": "ok"}))),
        ["health"] => not_allowed("GET"),
        ["extole", environment, action @ ..] if action.len() <= 1 => {
            log.environment = is_valid_environment_name(environment).then(|| (*environment).to_string());
            let config = configs.get(platform, environment).await?;
            match (method, action) {
                ("POST", []) => relay_webhook(platform, environment, &config, request, log).await,
                ("POST", ["preview"]) => preview(platform, environment, &config, request, log),
                ("GET", ["config"]) => show_config(platform, environment, &config, request),
                (_, []) | (_, ["preview"]) => not_allowed("POST"),
                (_, ["config"]) => not_allowed("GET"),
                _ => Err(RelayError::NotFound { method: method.into() }),
            }
        }
        ["admin", "dead-letters"] if method == "GET" => {
            require_admin(platform, request)?;
            let letters = dead_letters::list(platform.state_store()).await.map_err(|e| RelayError::StateUnavailable { reason: e.to_string() })?;
            Ok(Response::ok(json!({ "count": letters.len(), "dead_letters": letters })))
        }
        ["admin", "dead-letters", "replay"] if method == "POST" => {
            require_admin(platform, request)?;
            let ids = replay_selection(&request.body)?;
            let report = dead_letters::replay(platform, ids).await.map_err(|e| RelayError::StateUnavailable { reason: e.to_string() })?;
            Ok(Response::ok(json!({ "status": "replayed", "report": report })))
        }
        ["admin", "dead-letters"] => not_allowed("GET"),
        ["admin", "dead-letters", "replay"] => not_allowed("POST"),
        _ => Err(RelayError::NotFound { method: method.into() }),
    }
}

/// Operator endpoints answer only to `Authorization: Bearer <RELAY_ADMIN_TOKEN>`; with no
/// token configured they refuse everyone.
fn require_admin(platform: &impl Platform, request: &IncomingRequest) -> Result<(), RelayError> {
    let admin_keys = WebhookKeys::from_secret(&platform.secret(ADMIN_TOKEN).unwrap_or_default());
    authenticate(AuthScheme::Bearer, &admin_keys, |name| request.header(name), &request.body)
}

/// `{}` or an empty body replays everything; `{"ids": [...]}` the listed dead letters.
fn replay_selection(body: &[u8]) -> Result<Option<Vec<String>>, RelayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let invalid = || RelayError::InvalidPayload(extole::ParseError::InvalidField { pointer: "/ids".into(), expected: "expected {} or {\"ids\": [dead-letter ids]}" });
    let selection: Value = crate::json::parse_value(body).map_err(|_| invalid())?;
    match selection.get("ids") {
        None if selection.is_object() => Ok(None),
        Some(Value::Array(ids)) => ids.iter().map(|id| id.as_str().map(str::to_owned).ok_or_else(invalid)).collect::<Result<_, _>>().map(Some),
        _ => Err(invalid()),
    }
}

/// The fate of one event of the request.
enum Fate {
    Delivered { errors: Vec<crate::braze::ItemError> },
    Queued,
    Duplicate,
    Ignored,
    Failed(RelayError),
}

async fn relay_webhook(
    platform: &impl Platform,
    environment: &str,
    config: &EnvironmentConfig,
    request: &IncomingRequest,
    log: &mut RequestLog,
) -> Result<Response, RelayError> {
    // 1 and 2. Authenticate, parse.
    let (events, mut fates, received_at) = admit(platform, environment, config, request, log)?;
    let body = &request.body;

    // 3. Deduplicate.
    let dedup_keys = dedup::keys_for(environment, &events, body);
    let strict = config.dedup.mode == DedupMode::Strict;
    let unavailable = |e: crate::ports::StoreError| RelayError::StateUnavailable { reason: e.to_string() };
    let mut claimed = vec![false; events.len()];
    if strict {
        for (i, key) in dedup_keys.iter().enumerate() {
            if fates[i].is_some() || dedup_keys[..i].contains(key) {
                fates[i].get_or_insert(Fate::Duplicate);
                continue;
            }
            match platform.locks().claim(key, config.dedup.window_seconds).await.map_err(unavailable)? {
                Claim::Claimed => claimed[i] = true,
                Claim::AlreadyDelivered => fates[i] = Some(Fate::Duplicate),
                Claim::InFlight => fates[i] = Some(Fate::Failed(RelayError::InFlight { index: i })),
            }
        }
    } else {
        let handled = dedup::already_handled(platform.state_store(), &dedup_keys).await.map_err(unavailable)?;
        for (fate, seen) in fates.iter_mut().zip(&handled) {
            if fate.is_none() && *seen {
                *fate = Some(Fate::Duplicate);
            }
        }
    }

    // 4. Translate.
    let translations = translate_pending(&events, &mut fates, config, received_at);
    log.dropped_attributes = translations.iter().flatten().flat_map(|t| t.dropped.iter().cloned()).collect();

    // 5. Deliver: now, or through the queue.
    if config.delivery == DeliveryMode::Queue {
        enqueue(platform, environment, &events, &dedup_keys, &mut fates, &translations).await;
        return Ok(respond(&events, fates.into_iter().map(|f| f.unwrap_or(Fate::Ignored)).collect(), Value::Null));
    }
    let objects: Vec<_> = translations.into_iter().map(|t| t.map(|t| t.objects).unwrap_or_default()).collect();
    let mut braze_summary = Value::Null;
    if objects.iter().any(|o| o.count() > 0) {
        match BrazeTarget::resolve(platform, environment, config) {
            Ok(target) => {
                let report = deliver(platform.braze(), &target, objects, platform.now().timestamp()).await;
                log.braze_status = report.last_status;
                braze_summary = braze_summary_of(&report.accepted);
                for (fate, item) in fates.iter_mut().zip(report.items) {
                    match item {
                        ItemDelivery::Accepted { errors } => *fate = Some(Fate::Delivered { errors }),
                        ItemDelivery::Failed(error) => *fate = Some(Fate::Failed(error)),
                        ItemDelivery::Skipped => {}
                    }
                }
            }
            // Not returned early: strict-mode claims below must still be released.
            Err(error) => {
                for (fate, objects) in fates.iter_mut().zip(&objects) {
                    if objects.count() > 0 {
                        *fate = Some(Fate::Failed(error.clone()));
                    }
                }
            }
        }
    }

    // 6. Record what Braze now holds.
    let delivered: Vec<&String> = dedup_keys
        .iter()
        .zip(&fates)
        .filter(|(_, fate)| matches!(fate, Some(Fate::Delivered { .. })))
        .map(|(key, _)| key)
        .collect();
    if strict {
        // Every claim is settled: delivered ones stay taken, the rest are released for a retry.
        for (i, key) in dedup_keys.iter().enumerate().filter(|(i, _)| claimed[*i]) {
            let delivered = matches!(fates[i], Some(Fate::Delivered { .. }));
            if let Err(error) = platform.locks().settle(key, delivered, config.dedup.window_seconds).await {
                log.warnings.push(format!("strict dedup lock not settled: {error}"));
            }
        }
    } else {
        let delivered_at = crate::extole::format_braze_time(&platform.now());
        if let Err(error) = dedup::record(platform.state_store(), &delivered, config.dedup.window_seconds, &delivered_at).await {
            log.warnings.push(format!("dedup record not written: {error}"));
        }
    }

    // 7. Respond.
    let fates: Vec<Fate> = fates.into_iter().map(|f| f.unwrap_or(Fate::Ignored)).collect();
    log.item_errors = fates.iter().map(|f| if let Fate::Delivered { errors } = f { errors.len() } else { 0 }).sum();
    Ok(respond(&events, fates, braze_summary))
}

/// The parsed events of a request, each one's fate so far, and when it arrived.
type Admitted = (Vec<ExtoleEvent>, Vec<Option<Fate>>, DateTime<Utc>);

/// Steps 1 and 2, shared by delivery and preview: the size cap, authentication on the raw
/// bytes, then parsing. Events too old to accept already have their fate.
fn admit(
    platform: &impl Platform,
    environment: &str,
    config: &EnvironmentConfig,
    request: &IncomingRequest,
    log: &mut RequestLog,
) -> Result<Admitted, RelayError> {
    let body = &request.body;
    if body.len() > config.max_body_bytes {
        return Err(RelayError::PayloadTooLarge { size: body.len(), limit: config.max_body_bytes });
    }
    let names = SecretNames::for_environment(environment, config);
    let keys = WebhookKeys::from_secret(&platform.secret(&names.extole_webhook_secret).unwrap_or_default());
    authenticate(config.auth.scheme, &keys, |name| request.header(name), body)?;
    let events = extole::parse_body(body, ParseLimits { max_events: config.max_events_per_request })?;
    log.events = events.iter().map(|e| (e.id.clone(), e.name.clone())).collect();
    let received_at = platform.now();
    let fates = events.iter().map(|e| too_old(e, config, received_at).map(Fate::Failed)).collect();
    Ok((events, fates, received_at))
}

/// Step 4 for every event that has no fate yet; an ignored or untranslatable event gets one.
fn translate_pending(
    events: &[ExtoleEvent],
    fates: &mut [Option<Fate>],
    config: &EnvironmentConfig,
    received_at: DateTime<Utc>,
) -> Vec<Option<Translation>> {
    events
        .iter()
        .zip(fates.iter_mut())
        .map(|(event, fate)| {
            if fate.is_some() {
                return None;
            }
            match translate(event, config, received_at) {
                Ok(t) if t.braze_name.is_none() => {
                    *fate = Some(Fate::Ignored);
                    None
                }
                Ok(t) => Some(t),
                Err(error) => {
                    *fate = Some(Fate::Failed(translate_error(event, error)));
                    None
                }
            }
        })
        .collect()
}

/// `POST /extole/{environment}/preview`: the exact `/users/track` bodies delivery would
/// send, without delivering or recording anything.
fn preview(platform: &impl Platform, environment: &str, config: &EffectiveConfig, request: &IncomingRequest, log: &mut RequestLog) -> Result<Response, RelayError> {
    let (events, mut fates, received_at) = admit(platform, environment, config, request, log)?;
    let translations = translate_pending(&events, &mut fates, config, received_at);
    let objects: Vec<_> = translations.iter().map(|t| t.as_ref().map(|t| t.objects.clone()).unwrap_or_default()).collect();
    let requests: Vec<_> = pack(objects, RequestCaps::for_settings(&config.braze)).into_iter().map(|p| p.body).collect();
    let per_event: Vec<Value> = events
        .iter()
        .zip(&fates)
        .zip(&translations)
        .map(|((event, fate), translation)| {
            let mut entry = json!({
                "event_id": event.id,
                "extole_name": event.name,
                "braze_name": translation.as_ref().and_then(|t| t.braze_name.clone()),
                "status": fate.as_ref().map_or("translated", fate_label),
            });
            if let Some(Fate::Failed(error)) = fate {
                entry["error"] = error.body();
            }
            if let Some(t) = translation.as_ref().filter(|t| !t.dropped.is_empty()) {
                entry["dropped_attributes"] = json!(t.dropped);
            }
            entry
        })
        .collect();
    Ok(Response::ok(json!({
        "status": "preview",
        "environment": environment,
        "config": { "version": config.version, "revision": config.revision, "source": config.source, "preset": config.events.preset },
        "users_track": requests.first(),
        "requests": requests,
        "events": per_event,
    })))
}

/// `GET /extole/{environment}/config`: the effective config, for operators holding
/// `RELAY_ADMIN_TOKEN`. Shows which secrets it reads and whether they are set, never values.
fn show_config(platform: &impl Platform, environment: &str, config: &EffectiveConfig, request: &IncomingRequest) -> Result<Response, RelayError> {
    require_admin(platform, request)?;
    let names = SecretNames::for_environment(environment, config);
    let secret = |name: &str| json!({ "name": name, "set": platform.secret(name).is_some() });
    let endpoint = BrazeTarget::resolve(platform, environment, config).ok().map(|t| t.url);
    Ok(Response::ok(json!({
        "environment": environment,
        "config": config,
        "secrets": {
            "braze_api_key": secret(&names.braze_api_key),
            "extole_webhook_secret": secret(&names.extole_webhook_secret),
            "braze_rest_endpoint": secret(&names.braze_rest_endpoint),
        },
        "braze_users_track_url": endpoint,
    })))
}

/// Cloudflare Queues takes at most 100 messages and 256 KB in one `sendBatch`.
const MAX_SEND_BATCH_MESSAGES: usize = 100;
const MAX_SEND_BATCH_BYTES: usize = 250 * 1024;

/// Step 5 in queue mode: each translated event becomes one message on `RELAY_QUEUE`. An event
/// is `Queued` only once its send succeeded; the consumer delivers and records it.
async fn enqueue(
    platform: &impl Platform,
    environment: &str,
    events: &[ExtoleEvent],
    dedup_keys: &[String],
    fates: &mut [Option<Fate>],
    translations: &[Option<Translation>],
) {
    let now = crate::extole::format_braze_time(&platform.now());
    let mut pending: Vec<(usize, String)> = Vec::new();
    for (i, translation) in translations.iter().enumerate() {
        let Some(translation) = translation.as_ref().filter(|_| fates[i].is_none()) else { continue };
        let event = &events[i];
        let name = translation.braze_name.as_deref().unwrap_or(&event.name);
        let body = QueuedEvent::new(environment, &dedup_keys[i], event.id.clone(), name, &translation.objects, &now).to_body();
        if body.len() > MAX_MESSAGE_BYTES {
            fates[i] = Some(Fate::Failed(RelayError::MessageTooLarge { index: i, size: body.len(), limit: MAX_MESSAGE_BYTES }));
        } else {
            pending.push((i, body));
        }
    }
    let mut chunk_start = 0;
    while chunk_start < pending.len() {
        let mut bytes = 0;
        let chunk_end = pending[chunk_start..]
            .iter()
            .take(MAX_SEND_BATCH_MESSAGES)
            .take_while(|(_, body)| {
                bytes += body.len();
                bytes <= MAX_SEND_BATCH_BYTES
            })
            .count()
            .max(1)
            + chunk_start;
        let chunk = &pending[chunk_start..chunk_end];
        let bodies: Vec<String> = chunk.iter().map(|(_, body)| body.clone()).collect();
        let result = platform.queues().send_batch(QueueName::Events, &bodies, 0).await;
        for (i, _) in chunk {
            fates[*i] = Some(match &result {
                Ok(()) => Fate::Queued,
                Err(error) => Fate::Failed(RelayError::QueueUnavailable { reason: error.to_string() }),
            });
        }
        chunk_start = chunk_end;
    }
}

fn too_old(event: &ExtoleEvent, config: &EnvironmentConfig, now: DateTime<Utc>) -> Option<RelayError> {
    let max_age = config.auth.max_event_age_seconds?;
    let age = (now - event.time?).num_seconds();
    (age > i64::try_from(max_age).unwrap_or(i64::MAX)).then_some(RelayError::EventTooOld { index: event.index, max_age_seconds: max_age })
}

fn translate_error(event: &ExtoleEvent, error: TranslateError) -> RelayError {
    let index = event.index;
    let event_name = event.name.chars().take(80).collect();
    match error {
        TranslateError::Unidentified => RelayError::UnidentifiedPerson { index, event_name },
        TranslateError::ExternalIdRequired => RelayError::ExternalIdRequired { index, event_name },
        TranslateError::EventNameTooLong => RelayError::EventNameTooLong { index },
    }
}

fn braze_summary_of(accepted: &[crate::braze::Accepted]) -> Value {
    match accepted {
        [] => Value::Null,
        [one] => json!(one),
        many => json!({ "requests": many }),
    }
}

/// One event: its own answer. Several: 200 only if every event is settled (delivered,
/// duplicate or ignored), else the most urgent failure, with each event's fate listed so a
/// retry (which skips the delivered ones) is understood.
fn respond(events: &[ExtoleEvent], fates: Vec<Fate>, braze: Value) -> Response {
    let per_event: Vec<Value> = events
        .iter()
        .zip(&fates)
        .map(|(event, fate)| {
            let mut entry = json!({ "event_id": event.id, "status": fate_label(fate) });
            match fate {
                Fate::Failed(error) => entry["error"] = error.body(),
                Fate::Delivered { errors } if !errors.is_empty() => entry["braze_errors"] = json!(errors),
                _ => {}
            }
            entry
        })
        .collect();
    let failure = fates
        .iter()
        .filter_map(|f| if let Fate::Failed(e) = f { Some(e) } else { None })
        .max_by_key(|e| failure_priority(e));
    if let Some(error) = failure {
        let mut response = Response::error(error);
        if events.len() > 1 {
            response.body["events"] = json!(per_event);
        }
        return response;
    }
    let status = if fates.iter().any(|f| matches!(f, Fate::Delivered { .. })) {
        "delivered"
    } else if fates.iter().any(|f| matches!(f, Fate::Queued)) {
        "queued"
    } else if fates.iter().all(|f| matches!(f, Fate::Duplicate)) {
        "duplicate"
    } else {
        "ignored"
    };
    let mut body = json!({ "status": status });
    if let [single] = events {
        body["event_id"] = json!(single.id);
    } else {
        body["events"] = json!(per_event);
    }
    if !braze.is_null() {
        body["braze"] = braze;
    }
    if let ([Fate::Delivered { errors }], false) = (fates.as_slice(), events.len() > 1) {
        if !errors.is_empty() {
            body["braze_errors"] = json!(errors);
        }
    }
    Response::ok(body)
}

fn fate_label(fate: &Fate) -> &'static str {
    match fate {
        Fate::Delivered { .. } => "delivered",
        Fate::Queued => "queued",
        Fate::Duplicate => "duplicate",
        Fate::Ignored => "ignored",
        Fate::Failed(_) => "failed",
    }
}

/// Retryable failures first: Extole must come back for those events.
fn failure_priority(error: &RelayError) -> u8 {
    match error.status() {
        503 => 3,
        502 => 2,
        500 => 1,
        _ => 0,
    }
}
