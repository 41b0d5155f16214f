//! Finding an environment's effective config: the embedded defaults with its KV document
//! merged over them, read through a short per-isolate cache.
//!
//! A document that does not validate is never used: the last good config (or the embedded
//! one) keeps serving, and the problem is logged with every error's JSON path.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::{ConfigIssue, EmbeddedConfig, EnvironmentConfig};
use crate::error::RelayError;
use crate::ports::{KeyValueStore, Platform};

/// How long a config read from KV is reused before KV is asked again; the variable
/// `RELAY_CONFIG_CACHE_SECONDS` overrides it (tests use 1).
pub const CONFIG_CACHE_SECONDS: i64 = 30;
const CACHE_SECONDS_VARIABLE: &str = "RELAY_CONFIG_CACHE_SECONDS";

/// An environment's config and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveConfig {
    /// `embedded` (config/default.json only) or `kv` (a document from RELAY_CONFIG).
    pub source: &'static str,
    /// Short hash of the effective settings: changes whenever they do.
    pub revision: String,
    pub settings: EnvironmentConfig,
}

/// The settings with `source` and `revision` beside them (what `#[serde(flatten)]` would
/// write, without its generic buffering code in the Worker).
impl Serialize for EffectiveConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut document = serde_json::to_value(&self.settings).map_err(serde::ser::Error::custom)?;
        if let Some(fields) = document.as_object_mut() {
            fields.insert("source".into(), self.source.into());
            fields.insert("revision".into(), self.revision.clone().into());
        }
        document.serialize(serializer)
    }
}

impl EffectiveConfig {
    fn new(source: &'static str, settings: EnvironmentConfig) -> Self {
        let bytes = serde_json::to_vec(&settings).expect("config always serialises");
        let revision = hex::encode(&Sha256::digest(&bytes)[..6]);
        Self { source, revision, settings }
    }
}

impl std::ops::Deref for EffectiveConfig {
    type Target = EnvironmentConfig;
    fn deref(&self) -> &EnvironmentConfig {
        &self.settings
    }
}

/// Environment names are URL path segments and KV key parts: keep them plain.
pub fn is_valid_environment_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// KV key of an environment's config document in `RELAY_CONFIG`.
pub fn config_key(environment: &str) -> String {
    format!("config:{environment}")
}

#[derive(Clone)]
struct CachedEntry {
    fetched_at: DateTime<Utc>,
    /// `None`: the environment does not exist.
    config: Option<Rc<EffectiveConfig>>,
}

/// Per-isolate cache of effective configs.
pub struct ConfigCache {
    embedded: EmbeddedConfig,
    entries: RefCell<HashMap<String, CachedEntry>>,
}

impl Default for ConfigCache {
    fn default() -> Self {
        Self::new(EmbeddedConfig::load())
    }
}

impl ConfigCache {
    pub fn new(embedded: EmbeddedConfig) -> Self {
        Self { embedded, entries: RefCell::new(HashMap::new()) }
    }

    /// The effective config of `environment`, or 404 if it exists neither in the embedded
    /// defaults nor in KV.
    pub async fn get(&self, platform: &impl Platform, environment: &str) -> Result<Rc<EffectiveConfig>, RelayError> {
        if !is_valid_environment_name(environment) {
            // Not echoed: a path segment can carry anything, personal data included.
            return Err(RelayError::UnknownEnvironment { environment: "(not a valid environment name)".into() });
        }
        let unknown = || RelayError::UnknownEnvironment { environment: environment.to_string() };
        let now = platform.now();
        let cached = self.entries.borrow().get(environment).cloned();
        if let Some(entry) = &cached {
            let ttl = platform.secret(CACHE_SECONDS_VARIABLE).and_then(|v| v.trim().parse().ok()).unwrap_or(CONFIG_CACHE_SECONDS);
            if now - entry.fetched_at < Duration::seconds(ttl) {
                return entry.config.clone().ok_or_else(unknown);
            }
        }
        let last_good = cached.and_then(|e| e.config);
        let config = self.load(platform, environment, last_good).await?;
        self.entries.borrow_mut().insert(environment.to_string(), CachedEntry { fetched_at: now, config: config.clone() });
        config.ok_or_else(unknown)
    }

    async fn load(
        &self,
        platform: &impl Platform,
        environment: &str,
        last_good: Option<Rc<EffectiveConfig>>,
    ) -> Result<Option<Rc<EffectiveConfig>>, RelayError> {
        let fallback = || -> Option<Rc<EffectiveConfig>> {
            last_good.clone().or_else(|| {
                let embedded = self.embedded.resolve(environment, None).ok().filter(|_| self.embedded.knows(environment));
                embedded.map(|c| Rc::new(EffectiveConfig::new("embedded", c)))
            })
        };
        let stored = match platform.config_store().get(&config_key(environment)).await {
            Ok(stored) => stored,
            Err(error) => {
                // KV briefly unavailable: keep serving what we had rather than fail traffic.
                log_config_problem(platform, environment, "config_store_unavailable", &[ConfigIssue { path: "$".into(), problem: error.to_string() }]);
                return Ok(fallback());
            }
        };
        let Some(text) = stored else {
            if !self.embedded.knows(environment) {
                return Ok(None);
            }
            return self.embedded.resolve(environment, None).map(|c| Some(Rc::new(EffectiveConfig::new("embedded", c)))).map_err(|issues| RelayError::Misconfigured {
                environment: environment.into(),
                reason: issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            });
        };
        let document: Result<Value, _> = crate::json::parse_value(&text);
        let resolved = match document {
            Ok(document) => self.embedded.resolve(environment, Some(&document)),
            Err(error) => Err(vec![ConfigIssue { path: "$".into(), problem: format!("not JSON: {error}") }]),
        };
        match resolved {
            Ok(config) => Ok(Some(Rc::new(EffectiveConfig::new("kv", config)))),
            Err(issues) => {
                log_config_problem(platform, environment, "config_invalid_using_last_good", &issues);
                Ok(fallback())
            }
        }
    }
}

fn log_config_problem(platform: &impl Platform, environment: &str, outcome: &str, issues: &[ConfigIssue]) {
    let line = json!({
        "level": "warn",
        "msg": "config",
        "environment": environment,
        "outcome": outcome,
        "issues": issues,
    });
    platform.log(&line.to_string());
}
