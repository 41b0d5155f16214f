//! What makes a config document valid. Every problem is reported at once, each with its JSON
//! path: first the document's shape against the defaults (unknown settings, wrong types,
//! unknown enum values), then the meaning of the merged result.

use serde::Serialize;
use serde_json::Value;

use super::{ChannelTarget, DedupMode, DeliveryMode, EnvironmentConfig, IdentityFallback};
use crate::braze::BrazeEndpoint;
use crate::mapping::normalise_event_name;

/// One problem found in a config document, with the JSON path it is at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    pub path: String,
    pub problem: String,
}

impl ConfigIssue {
    pub fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { path: path.into(), problem: problem.into() }
    }
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// Maps whose keys are the user's own (event names, attribute names, channels), with the
/// shape each value must have (`None`: any value the typed reading accepts).
const OPEN_MAPS: [(&str, Option<&str>); 4] = [
    ("$.events.map", None),
    ("$.subscriptions.events", None),
    ("$.subscriptions.channels", None),
    ("$.attributes", Some(r#"{"from": "", "transform": "", "enabled": true}"#)),
];

/// Settings whose values come from a fixed list. `*` matches any key of an open map.
const ENUMS: [(&str, &[&str]); 10] = [
    ("$.delivery", &["direct", "queue"]),
    ("$.dedup", &["kv", "strict"]),
    ("$.dedup.mode", &["kv", "strict"]),
    ("$.auth", &["hs256", "bearer", "basic", "none"]),
    ("$.auth.scheme", &["hs256", "bearer", "basic", "none"]),
    ("$.events.unknown", &["forward", "prefix", "ignore"]),
    ("$.identity.fallback", &["email", "user_alias", "reject"]),
    ("$.attributes.*.transform", &["trim", "lowercase", "email", "phone", "country", "array_add", "number", "boolean", "date"]),
    ("$.subscriptions.events.*", &["subscribe", "unsubscribe"]),
    ("$.subscriptions.channels.*.type", &["email_subscribe", "subscription_group"]),
];

/// Settings that default to null, with an example of the value they take otherwise.
const NULLABLE: [(&str, &str); 6] = [
    ("$.auth.secret", r#""""#),
    ("$.auth.max_event_age_seconds", "0"),
    ("$.braze.endpoint", r#""""#),
    ("$.braze.api_key_secret", r#""""#),
    ("$.braze.max_objects_per_request", "0"),
    ("$.conversions.product_id_path", r#""""#),
];

/// Checks `document` against the shape of `defaults`: every key must exist there, with a
/// value of the same JSON type (a null default accepts any value).
pub fn shape_issues(document: &Value, defaults: &Value, issues: &mut Vec<ConfigIssue>) {
    check_shape(document, defaults, "$", "$", issues);
}

fn check_shape(value: &Value, template: &Value, path: &str, pattern: &str, issues: &mut Vec<ConfigIssue>) {
    if let Some((_, allowed)) = ENUMS.iter().find(|(p, _)| *p == pattern) {
        if let Value::String(s) = value {
            if !allowed.contains(&s.as_str()) {
                issues.push(ConfigIssue::new(path, format!("'{s}' is not one of: {}", allowed.join(", "))));
            }
            return;
        }
    }
    if let Some((_, value_shape)) = OPEN_MAPS.iter().find(|(p, _)| *p == pattern) {
        let Value::Object(entries) = value else {
            issues.push(ConfigIssue::new(path, "expected an object"));
            return;
        };
        let shape: Option<Value> = value_shape.map(|s| crate::json::parse_value(s).expect("shapes above are valid JSON"));
        for (key, entry) in entries {
            let entry_path = format!("{path}.{key}");
            let entry_pattern = format!("{pattern}.*");
            match &shape {
                Some(shape) if !entry.is_null() => check_shape(entry, shape, &entry_path, &entry_pattern, issues),
                None if entry.is_object() || ENUMS.iter().any(|(p, _)| *p == entry_pattern) => {
                    check_open_value(entry, &entry_path, &entry_pattern, issues);
                }
                _ => {}
            }
        }
        return;
    }
    match (template, value) {
        (Value::Null, Value::Null) => {}
        (Value::Null, _) => {
            let expected = NULLABLE.iter().find(|(p, _)| *p == pattern).map(|(_, example)| example);
            if let Some(example) = expected {
                let example: Value = crate::json::parse_value(example).expect("examples above are valid JSON");
                check_shape(value, &example, path, pattern, issues);
            }
        }
        (Value::Object(fields), Value::Object(entries)) => {
            for (key, entry) in entries {
                let entry_path = format!("{path}.{key}");
                match fields.get(key) {
                    Some(field) => check_shape(entry, field, &entry_path, &format!("{pattern}.{key}"), issues),
                    None => issues.push(ConfigIssue::new(entry_path, "unknown setting")),
                }
            }
        }
        (Value::Array(items), Value::Array(entries)) => {
            if let Some(item) = items.first() {
                for (i, entry) in entries.iter().enumerate() {
                    check_shape(entry, item, &format!("{path}[{i}]"), &format!("{pattern}[]"), issues);
                }
            }
        }
        (Value::Bool(_), Value::Bool(_)) | (Value::String(_), Value::String(_)) => {}
        (Value::Number(_), Value::Number(n)) if n.is_u64() => {}
        (Value::Number(_), _) => issues.push(ConfigIssue::new(path, "expected a whole number ≥ 0")),
        (expected, _) => issues.push(ConfigIssue::new(path, format!("expected {}", kind(expected)))),
    }
}

/// Values of open maps without a fixed shape: only enum checks apply.
fn check_open_value(value: &Value, path: &str, pattern: &str, issues: &mut Vec<ConfigIssue>) {
    if let Value::Object(entries) = value {
        for (key, entry) in entries {
            check_open_value(entry, &format!("{path}.{key}"), &format!("{pattern}.{key}"), issues);
        }
    } else if let Some((_, allowed)) = ENUMS.iter().find(|(p, _)| *p == pattern) {
        if !value.as_str().is_some_and(|s| allowed.contains(&s)) {
            issues.push(ConfigIssue::new(path, format!("expected one of: {}", allowed.join(", "))));
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// KV rejects a TTL under 60 s; Extole retries for more than a day.
const MIN_DEDUP_WINDOW: u64 = 60;
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Braze's documented per-array cap.
const BRAZE_ARRAY_CAP: usize = 75;

/// Every problem with the meaning of a merged config, at once.
pub fn semantic_issues(config: &EnvironmentConfig) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let mut check = |ok: bool, path: &str, problem: &str| {
        if !ok {
            issues.push(ConfigIssue::new(path, problem));
        }
    };
    check(config.version == 1, "$.version", "only version 1 is understood");
    check((1..=MAX_BODY_BYTES).contains(&config.max_body_bytes), "$.max_body_bytes", "must be 1 to 8388608");
    check((1..=1000).contains(&config.max_events_per_request), "$.max_events_per_request", "must be 1 to 1000");
    check((100..=30_000).contains(&config.braze.timeout_ms), "$.braze.timeout_ms", "must be 100 to 30000");
    check(
        (1..=BRAZE_ARRAY_CAP).contains(&config.braze.max_objects_per_array),
        "$.braze.max_objects_per_array",
        "must be 1 to 75 (Braze's limit)",
    );
    check(
        config.braze.max_objects_per_request.is_none_or(|cap| cap >= 3),
        "$.braze.max_objects_per_request",
        "must be at least 3 (one event can need an attribute, an event and a purchase)",
    );
    if let Some(endpoint) = &config.braze.endpoint {
        if let Err(problem) = BrazeEndpoint::parse(endpoint) {
            check(false, "$.braze.endpoint", &problem);
        }
    }
    let queue = &config.queue;
    check((1..=100).contains(&queue.max_failures), "$.queue.max_failures", "must be 1 to 100");
    check((1..=10_000).contains(&queue.max_rate_limited), "$.queue.max_rate_limited", "must be 1 to 10000");
    check(
        (1..=queue.max_backoff_seconds).contains(&queue.base_backoff_seconds),
        "$.queue.base_backoff_seconds",
        "must be at least 1 and at most max_backoff_seconds",
    );
    // Cloudflare Queues delays messages by at most 12 hours.
    check(queue.max_backoff_seconds <= 43_200, "$.queue.max_backoff_seconds", "must be at most 43200 (12 h)");
    check(
        !(config.dedup.mode == DedupMode::Strict && config.delivery == DeliveryMode::Queue),
        "$.dedup.mode",
        "strict dedup applies to direct delivery only",
    );
    check(config.dedup.window_seconds >= MIN_DEDUP_WINDOW, "$.dedup.window_seconds", "must be at least 60");
    check(
        !config.identity.external_id_paths.is_empty() || config.identity.fallback != IdentityFallback::Reject,
        "$.identity",
        "with no external_id_paths the fallback cannot be reject",
    );
    check(!config.identity.alias_label.trim().is_empty(), "$.identity.alias_label", "must not be empty");
    for (extole, braze) in &config.events.map {
        let path = format!("$.events.map.{extole}");
        check(!normalise_event_name(extole).is_empty(), &path, "event name must not be empty");
        if let Some(braze) = braze {
            check(!braze.trim().is_empty() && braze.chars().count() <= 255, &path, "Braze event name must be 1 to 255 characters");
        }
    }
    check(config.events.prefix.chars().count() <= 64, "$.events.prefix", "must be at most 64 characters");
    for (name, rule) in &config.attributes {
        let path = format!("$.attributes.{name}");
        check(!name.is_empty() && !name.starts_with('$') && name.chars().count() <= 255, &path, "attribute name must be 1 to 255 characters, not starting with $");
        if let Some(rule) = rule {
            check(!rule.from.trim().is_empty(), &format!("{path}.from"), "must name a field");
        }
    }
    let channel = config.subscriptions.default_channel.to_ascii_lowercase();
    check(config.subscriptions.channels.contains_key(&channel), "$.subscriptions.default_channel", "must be one of the configured channels");
    for (name, target) in &config.subscriptions.channels {
        check(name == &name.to_ascii_lowercase(), &format!("$.subscriptions.channels.{name}"), "channel names are lowercase");
        if let ChannelTarget::SubscriptionGroup { group_id } = target {
            check(!group_id.trim().is_empty(), &format!("$.subscriptions.channels.{name}.group_id"), "must not be empty");
        }
    }
    let conversions = &config.conversions;
    check(
        crate::mapping::values::circulating_currency(&conversions.default_currency).is_some(),
        "$.conversions.default_currency",
        "must be the ISO 4217 code of a currency in circulation",
    );
    check(
        !conversions.product_id.trim().is_empty() && conversions.product_id.chars().count() <= 255,
        "$.conversions.product_id",
        "must be 1 to 255 characters",
    );
    check(!conversions.purchase || !conversions.price_paths.is_empty(), "$.conversions.price_paths", "purchases need somewhere to find the price");
    issues
}
