//! Per-environment configuration: the embedded defaults (`config/default.json`), with an
//! environment's document from KV merged over them.
//!
//! A document is merged as JSON first (objects merge key by key; arrays and scalars replace),
//! then read into typed settings and validated, so a config that does not validate is never
//! used.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::braze::BrazeEndpoint;
use crate::mapping::normalise_event_name;

/// The embedded default configuration.
pub const DEFAULT_CONFIG_JSON: &str = include_str!("../config/default.json");

/// The effective settings of one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    pub version: u32,
    pub auth: AuthSettings,
    pub max_body_bytes: usize,
    pub max_events_per_request: usize,
    pub braze: BrazeSettings,
    pub dedup: DedupSettings,
    pub events: EventSettings,
    pub identity: IdentitySettings,
    pub attributes: Vec<AttributeRule>,
    pub subscriptions: SubscriptionSettings,
}

/// `"auth": "none"` is shorthand for `{"scheme": "none"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "AuthSpec")]
pub struct AuthSettings {
    pub scheme: AuthScheme,
    /// Secret holding the Extole key(s); `EXTOLE_WEBHOOK_SECRET_<ENV>` when null.
    pub secret: Option<String>,
    /// Events older than this are refused as replays; null accepts any age.
    pub max_event_age_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AuthSpec {
    Scheme(AuthScheme),
    Full {
        scheme: AuthScheme,
        #[serde(default)]
        secret: Option<String>,
        #[serde(default)]
        max_event_age_seconds: Option<u64>,
    },
}

impl From<AuthSpec> for AuthSettings {
    fn from(spec: AuthSpec) -> Self {
        match spec {
            AuthSpec::Scheme(scheme) => Self { scheme, secret: None, max_event_age_seconds: None },
            AuthSpec::Full { scheme, secret, max_event_age_seconds } => Self { scheme, secret, max_event_age_seconds },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthScheme {
    Hs256,
    Bearer,
    Basic,
    None,
}

impl AuthScheme {
    pub fn label(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256 signature in X-Extole-Signature",
            Self::Bearer => "Authorization: Bearer",
            Self::Basic => "Authorization: Basic",
            Self::None => "no authentication",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrazeSettings {
    /// Instance name (`US-03`) or https URL; `BRAZE_REST_ENDPOINT_<ENV>` overrides it.
    pub endpoint: Option<String>,
    /// Secret holding the Braze REST key; `BRAZE_API_KEY_<ENV>` when null.
    pub api_key_secret: Option<String>,
    pub timeout_ms: u32,
    pub max_objects_per_array: usize,
    /// Some plans cap all objects of one request together (50).
    pub max_objects_per_request: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupSettings {
    pub window_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// What to do with an event whose name is not in `map`.
    pub unknown: UnknownEventPolicy,
    /// Extole event name to Braze event name. Keys match case-insensitively, with spaces,
    /// dashes and underscores alike; a null value ignores that event.
    pub map: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownEventPolicy {
    Forward,
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    /// Where to find the Braze external id, in order.
    pub external_id_paths: Vec<String>,
    /// How to identify a person without an external id.
    pub fallback: IdentityFallback,
    /// `alias_label` of the user alias when `fallback` is `user_alias`.
    pub alias_label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityFallback {
    Email,
    UserAlias,
    Reject,
}

/// One source field written as one Braze attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeRule {
    /// A person field (`email`, `phone`, ...) or a path (`data.tier`).
    pub from: String,
    /// The Braze attribute name.
    pub to: String,
    pub transform: Transform,
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    Trim,
    Lowercase,
    Email,
    Phone,
    Country,
    ArrayAdd,
    Number,
    Boolean,
    Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSettings {
    /// Braze event name to the subscription change it stands for.
    pub events: BTreeMap<String, SubscriptionChange>,
    /// Channel assumed when the event names none.
    pub default_channel: String,
    /// Channel name (lowercase) to where its consent is written in Braze.
    pub channels: BTreeMap<String, ChannelTarget>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionChange {
    Subscribe,
    Unsubscribe,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelTarget {
    EmailSubscribe,
    SubscriptionGroup { group_id: String },
}

/// One problem found in a config document, with the JSON path it is at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    pub path: String,
    pub problem: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// The embedded defaults: which environments exist and what they start from.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    environment_defaults: Value,
    environments: Map<String, Value>,
}

impl EmbeddedConfig {
    pub fn load() -> Self {
        Self::from_json(DEFAULT_CONFIG_JSON).expect("the embedded config/default.json is checked by the test suite")
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let environment_defaults = root.get("environment_defaults").cloned().ok_or("missing environment_defaults")?;
        let environments = root.get("environments").and_then(Value::as_object).cloned().ok_or("missing environments")?;
        Ok(Self { environment_defaults, environments })
    }

    pub fn knows(&self, environment: &str) -> bool {
        self.environments.contains_key(environment)
    }

    pub fn environment_names(&self) -> impl Iterator<Item = &str> {
        self.environments.keys().map(String::as_str)
    }

    /// The environment's effective config: defaults, then the embedded environment
    /// overrides, then `document` (from KV) when there is one.
    pub fn resolve(&self, environment: &str, document: Option<&Value>) -> Result<EnvironmentConfig, Vec<ConfigIssue>> {
        let mut merged = self.environment_defaults.clone();
        if let Some(embedded) = self.environments.get(environment) {
            merge(&mut merged, embedded);
        }
        if let Some(document) = document {
            if !document.is_object() {
                return Err(vec![ConfigIssue { path: "$".into(), problem: "expected a JSON object".into() }]);
            }
            merge(&mut merged, document);
        }
        let config: EnvironmentConfig = serde_json::from_value(merged)
            .map_err(|e| vec![ConfigIssue { path: "$".into(), problem: e.to_string() }])?;
        let issues = config.validate();
        if issues.is_empty() { Ok(config) } else { Err(issues) }
    }
}

/// Deep merge: objects key by key, anything else replaced.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// KV rejects a TTL under 60 s; Extole retries for more than a day.
const MIN_DEDUP_WINDOW: u64 = 60;
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Braze's documented per-array cap.
const BRAZE_ARRAY_CAP: usize = 75;

impl EnvironmentConfig {
    /// Every semantic problem at once, each with its path.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut check = |ok: bool, path: &str, problem: &str| {
            if !ok {
                issues.push(ConfigIssue { path: path.into(), problem: problem.into() });
            }
        };
        check(self.version == 1, "$.version", "only version 1 is understood");
        check((1..=MAX_BODY_BYTES).contains(&self.max_body_bytes), "$.max_body_bytes", "must be 1 to 8388608");
        check((1..=1000).contains(&self.max_events_per_request), "$.max_events_per_request", "must be 1 to 1000");
        check((100..=30_000).contains(&self.braze.timeout_ms), "$.braze.timeout_ms", "must be 100 to 30000");
        check(
            (1..=BRAZE_ARRAY_CAP).contains(&self.braze.max_objects_per_array),
            "$.braze.max_objects_per_array",
            "must be 1 to 75 (Braze's limit)",
        );
        check(
            self.braze.max_objects_per_request.is_none_or(|cap| cap >= 3),
            "$.braze.max_objects_per_request",
            "must be at least 3 (one event can need an attribute, an event and a purchase)",
        );
        if let Some(endpoint) = &self.braze.endpoint {
            if let Err(problem) = BrazeEndpoint::parse(endpoint) {
                check(false, "$.braze.endpoint", &problem);
            }
        }
        check(self.dedup.window_seconds >= MIN_DEDUP_WINDOW, "$.dedup.window_seconds", "must be at least 60");
        check(!self.identity.external_id_paths.is_empty() || self.identity.fallback != IdentityFallback::Reject,
            "$.identity", "with no external_id_paths the fallback cannot be reject");
        check(!self.identity.alias_label.trim().is_empty(), "$.identity.alias_label", "must not be empty");
        for (extole, braze) in &self.events.map {
            let path = format!("$.events.map[{extole:?}]");
            check(!normalise_event_name(extole).is_empty(), &path, "event name must not be empty");
            if let Some(braze) = braze {
                check(!braze.trim().is_empty() && braze.chars().count() <= 255, &path, "Braze event name must be 1 to 255 characters");
            }
        }
        for (i, rule) in self.attributes.iter().enumerate() {
            let ok = !rule.to.is_empty() && !rule.to.starts_with('$') && rule.to.chars().count() <= 255;
            check(ok, &format!("$.attributes[{i}].to"), "attribute name must be 1 to 255 characters, not starting with $");
            check(!rule.from.trim().is_empty(), &format!("$.attributes[{i}].from"), "must name a field");
        }
        let channel = self.subscriptions.default_channel.to_ascii_lowercase();
        check(self.subscriptions.channels.contains_key(&channel), "$.subscriptions.default_channel", "must be one of the configured channels");
        for (name, target) in &self.subscriptions.channels {
            if let ChannelTarget::SubscriptionGroup { group_id } = target {
                check(!group_id.trim().is_empty(), &format!("$.subscriptions.channels.{name}.group_id"), "must not be empty");
            }
        }
        issues
    }
}

/// `production` -> `PRODUCTION`, `eu-staging` -> `EU_STAGING`.
pub fn env_suffix(environment: &str) -> String {
    environment.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// Names of the Worker secrets and variables one environment reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretNames {
    pub braze_api_key: String,
    pub extole_webhook_secret: String,
    pub braze_rest_endpoint: String,
}

impl SecretNames {
    pub fn for_environment(environment: &str, config: &EnvironmentConfig) -> Self {
        let suffix = env_suffix(environment);
        Self {
            braze_api_key: config.braze.api_key_secret.clone().unwrap_or_else(|| format!("BRAZE_API_KEY_{suffix}")),
            extole_webhook_secret: config.auth.secret.clone().unwrap_or_else(|| format!("EXTOLE_WEBHOOK_SECRET_{suffix}")),
            braze_rest_endpoint: format!("BRAZE_REST_ENDPOINT_{suffix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_defaults_are_valid_for_every_environment() {
        let embedded = EmbeddedConfig::load();
        let names: Vec<_> = embedded.environment_names().collect();
        assert_eq!(names, ["production", "staging"]);
        for name in names {
            let config = embedded.resolve(name, None).unwrap();
            assert_eq!(config.auth.scheme, AuthScheme::Hs256);
            assert_eq!(config.max_body_bytes, 256 * 1024);
            assert_eq!(config.dedup.window_seconds, 8 * 24 * 3600);
        }
    }

    #[test]
    fn kv_document_merges_over_defaults() {
        let embedded = EmbeddedConfig::load();
        let doc = json!({"auth": "none", "braze": {"endpoint": "US-03"}, "events": {"map": {"shipped": "Order Shipped"}}});
        let config = embedded.resolve("staging", Some(&doc)).unwrap();
        assert_eq!(config.auth.scheme, AuthScheme::None);
        assert_eq!(config.braze.endpoint.as_deref(), Some("US-03"));
        assert_eq!(config.braze.timeout_ms, 5000);
        assert_eq!(config.events.map["shipped"].as_deref(), Some("Order Shipped"));
        assert_eq!(config.events.map["shared"].as_deref(), Some("Shared"));
    }

    #[test]
    fn invalid_documents_list_every_problem_with_its_path() {
        let embedded = EmbeddedConfig::load();
        let doc = json!({"braze": {"endpoint": "http://braze.example.com", "timeout_ms": 1}, "dedup": {"window_seconds": 5}});
        let issues = embedded.resolve("production", Some(&doc)).unwrap_err();
        let paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["$.braze.timeout_ms", "$.braze.endpoint", "$.dedup.window_seconds"]);
        let typo = embedded.resolve("production", Some(&json!({"brazee": {}}))).unwrap_err();
        assert!(typo[0].problem.contains("brazee"), "{typo:?}");
    }

    #[test]
    fn secret_names_follow_the_contract() {
        let config = EmbeddedConfig::load().resolve("production", None).unwrap();
        let names = SecretNames::for_environment("eu-staging.2", &config);
        assert_eq!(names.braze_api_key, "BRAZE_API_KEY_EU_STAGING_2");
        assert_eq!(names.extole_webhook_secret, "EXTOLE_WEBHOOK_SECRET_EU_STAGING_2");
        assert_eq!(names.braze_rest_endpoint, "BRAZE_REST_ENDPOINT_EU_STAGING_2");
    }
}
