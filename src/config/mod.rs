//! Per-environment configuration: the typed settings of one environment.
//!
//! Where they come from (embedded defaults, presets, a KV document) is [`load`]; what makes
//! a document valid is [`validate`].

mod load;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mapping::normalise_event_name;

pub use load::{merge, EmbeddedConfig, DEFAULT_CONFIG_JSON};
pub use validate::ConfigIssue;

/// The effective settings of one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    pub version: u32,
    pub auth: AuthSettings,
    pub max_body_bytes: usize,
    pub max_events_per_request: usize,
    /// `direct`: Extole's answer waits for Braze. `queue`: through Cloudflare Queues.
    pub delivery: DeliveryMode,
    pub queue: QueueSettings,
    pub braze: BrazeSettings,
    pub dedup: DedupSettings,
    pub events: EventSettings,
    pub identity: IdentitySettings,
    /// Braze attribute name to where its value comes from; null turns a default off.
    pub attributes: BTreeMap<String, Option<AttributeRule>>,
    pub subscriptions: SubscriptionSettings,
    pub conversions: ConversionSettings,
}

/// `"auth": "none"` is shorthand for `{"scheme": "none"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct AuthSettings {
    pub scheme: AuthScheme,
    /// Secret holding the Extole key(s); `EXTOLE_WEBHOOK_SECRET_<ENV>` when null.
    pub secret: Option<String>,
    /// Events older than this are refused as replays; null accepts any age.
    pub max_event_age_seconds: Option<u64>,
}

#[derive(Deserialize)]
struct AuthDocument {
    scheme: AuthScheme,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    max_event_age_seconds: Option<u64>,
}

// The shorthand is told apart by hand rather than with `#[serde(untagged)]`, whose buffering
// code cost the Worker's WebAssembly more than the few config enums using it are worth.
impl TryFrom<Value> for AuthSettings {
    type Error = serde_json::Error;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        if value.is_string() {
            return Ok(Self { scheme: serde_json::from_value(value)?, secret: None, max_event_age_seconds: None });
        }
        let AuthDocument { scheme, secret, max_event_age_seconds } = serde_json::from_value(value)?;
        Ok(Self { scheme, secret, max_event_age_seconds })
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryMode {
    Direct,
    Queue,
}

/// Retry policy of queued delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// Braze 5xx, timeouts and network errors tolerated before an event is dead-lettered.
    pub max_failures: u32,
    /// 429 deferrals tolerated before an event is dead-lettered; they do not count as
    /// failures, since waiting out a rate limit is expected work.
    pub max_rate_limited: u32,
    /// First backoff after a failure; doubles with each further failure, plus jitter.
    pub base_backoff_seconds: u32,
    pub max_backoff_seconds: u32,
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

/// `"dedup": "strict"` is shorthand for `{"mode": "strict"}` with the default window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct DedupSettings {
    pub mode: DedupMode,
    pub window_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DedupMode {
    /// Workers KV: cheap, eventually consistent (see README).
    Kv,
    /// A Durable Object per event id: simultaneous copies deliver once.
    Strict,
}

/// Eight days: Extole retries for more than a day and keeps a dead-letter queue for a week.
const DEFAULT_DEDUP_WINDOW: u64 = 8 * 24 * 3600;

#[derive(Deserialize)]
struct DedupDocument {
    #[serde(default = "kv_mode")]
    mode: DedupMode,
    window_seconds: u64,
}

fn kv_mode() -> DedupMode {
    DedupMode::Kv
}

impl TryFrom<Value> for DedupSettings {
    type Error = serde_json::Error;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        if value.is_string() {
            return Ok(Self { mode: serde_json::from_value(value)?, window_seconds: DEFAULT_DEDUP_WINDOW });
        }
        let DedupDocument { mode, window_seconds } = serde_json::from_value(value)?;
        Ok(Self { mode, window_seconds })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "EventSettingsDocument")]
pub struct EventSettings {
    /// Named base table (`braze_partner`, `extole_native`) that `map` is merged over.
    pub preset: String,
    /// What to do with an event whose name is not in `map`.
    pub unknown: UnknownEventPolicy,
    /// Put in front of unknown names when `unknown` is `prefix`.
    pub prefix: String,
    /// Extole event name to Braze event name. Keys match case-insensitively, with spaces,
    /// dashes and underscores alike; a null value ignores that event.
    pub map: BTreeMap<String, Option<String>>,
    /// `map` by normalised name, built once when the config is read rather than for every
    /// event. Where two keys normalise alike, the first in `map`'s order wins.
    #[serde(skip)]
    pub by_normalised_name: BTreeMap<String, Option<String>>,
}

/// [`EventSettings`] as written in a config document.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventSettingsDocument {
    preset: String,
    unknown: UnknownEventPolicy,
    prefix: String,
    map: BTreeMap<String, Option<String>>,
}

impl From<EventSettingsDocument> for EventSettings {
    fn from(document: EventSettingsDocument) -> Self {
        let mut by_normalised_name = BTreeMap::new();
        for (name, target) in &document.map {
            by_normalised_name.entry(normalise_event_name(name)).or_insert_with(|| target.clone());
        }
        let EventSettingsDocument { preset, unknown, prefix, map } = document;
        Self { preset, unknown, prefix, map, by_normalised_name }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownEventPolicy {
    Forward,
    Prefix,
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

/// Where one Braze attribute's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeRule {
    /// A person field (`email`, `phone`, ...), a field name, or a path (`data.tier`).
    pub from: String,
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
#[serde(try_from = "ChannelDocument", into = "ChannelDocument")]
pub enum ChannelTarget {
    EmailSubscribe,
    SubscriptionGroup { group_id: String },
}

/// `{"type": "email_subscribe"}` or `{"type": "subscription_group", "group_id": "..."}`,
/// read as a plain struct (serde's internally tagged enums buffer through generic code that
/// cost the Worker's WebAssembly more than this enum is worth).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelDocument {
    #[serde(rename = "type")]
    kind: ChannelKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ChannelKind {
    EmailSubscribe,
    SubscriptionGroup,
}

impl TryFrom<ChannelDocument> for ChannelTarget {
    type Error = &'static str;
    fn try_from(document: ChannelDocument) -> Result<Self, Self::Error> {
        match (document.kind, document.group_id) {
            // A `group_id` left over from a former subscription_group target is ignored, as
            // documents written before this parser relied on.
            (ChannelKind::EmailSubscribe, _) => Ok(Self::EmailSubscribe),
            (ChannelKind::SubscriptionGroup, Some(group_id)) => Ok(Self::SubscriptionGroup { group_id }),
            (ChannelKind::SubscriptionGroup, None) => Err("subscription_group needs a group_id"),
        }
    }
}

impl From<ChannelTarget> for ChannelDocument {
    fn from(target: ChannelTarget) -> Self {
        match target {
            ChannelTarget::EmailSubscribe => Self { kind: ChannelKind::EmailSubscribe, group_id: None },
            ChannelTarget::SubscriptionGroup { group_id } => Self { kind: ChannelKind::SubscriptionGroup, group_id: Some(group_id) },
        }
    }
}

/// Whether conversions also write a Braze purchase, and from what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversionSettings {
    /// Braze event names that are conversions.
    pub events: Vec<String>,
    /// Write a purchase object besides the custom event.
    pub purchase: bool,
    /// Product id when `product_id_path` is null or finds nothing.
    pub product_id: String,
    pub product_id_path: Option<String>,
    /// Where the price is, in order.
    pub price_paths: Vec<String>,
    /// Where the ISO 4217 currency is, in order.
    pub currency_paths: Vec<String>,
    pub default_currency: String,
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

