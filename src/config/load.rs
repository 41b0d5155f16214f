//! Building an environment's effective config: the embedded defaults, then its event preset,
//! then the embedded environment's overrides, then its KV document (objects merge key by
//! key; arrays and scalars replace).

use serde_json::{Map, Value};

use super::validate::{semantic_issues, shape_issues, ConfigIssue};
use super::EnvironmentConfig;

/// The embedded default configuration.
pub const DEFAULT_CONFIG_JSON: &str = include_str!("../../config/default.json");

/// The embedded defaults: which environments exist, what they start from, and the presets.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    environment_defaults: Value,
    event_presets: Map<String, Value>,
    environments: Map<String, Value>,
}

impl EmbeddedConfig {
    pub fn load() -> Self {
        Self::from_json(DEFAULT_CONFIG_JSON).expect("the embedded config/default.json is checked by the test suite")
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let root: Value = crate::json::parse_value(text).map_err(|e| e.to_string())?;
        let object = |key: &str| root.get(key).and_then(Value::as_object).cloned().ok_or(format!("missing {key}"));
        Ok(Self {
            environment_defaults: Value::Object(object("environment_defaults")?),
            event_presets: object("event_presets")?,
            environments: object("environments")?,
        })
    }

    pub fn knows(&self, environment: &str) -> bool {
        self.environments.contains_key(environment)
    }

    pub fn environment_names(&self) -> impl Iterator<Item = &str> {
        self.environments.keys().map(String::as_str)
    }

    pub fn preset_names(&self) -> impl Iterator<Item = &str> {
        self.event_presets.keys().map(String::as_str)
    }

    /// The environment's effective config with `document` (from KV) merged over it, or
    /// every problem the document has, each with its JSON path.
    pub fn resolve(&self, environment: &str, document: Option<&Value>) -> Result<EnvironmentConfig, Vec<ConfigIssue>> {
        let embedded = self.environments.get(environment);
        let mut issues = Vec::new();
        if let Some(document) = document {
            shape_issues(document, &self.environment_defaults, &mut issues);
        }
        // The preset named by the most specific layer applies under every override.
        let preset_name = [document, embedded, Some(&self.environment_defaults)]
            .into_iter()
            .flatten()
            .find_map(|layer| layer.pointer("/events/preset").and_then(Value::as_str))
            .unwrap_or_default();
        let preset = self.event_presets.get(preset_name);
        if preset.is_none() {
            let known: Vec<_> = self.preset_names().collect();
            issues.push(ConfigIssue::new("$.events.preset", format!("unknown preset '{preset_name}'; known: {}", known.join(", "))));
        }
        // Every problem at once: the settings with shape problems are set aside so that the
        // rest of the document can still be read and its values checked.
        let pruned = document.map(|document| {
            let mut pruned = document.clone();
            for issue in &issues {
                prune(&mut pruned, &issue.path);
            }
            pruned
        });
        let preset = preset.or_else(|| self.environment_defaults.pointer("/events/preset").and_then(Value::as_str).and_then(|name| self.event_presets.get(name)));
        let mut merged = self.environment_defaults.clone();
        for layer in [preset, embedded, pruned.as_ref()].into_iter().flatten() {
            merge(&mut merged, layer);
        }
        match serde_json::from_value::<EnvironmentConfig>(merged) {
            Ok(config) => {
                for issue in semantic_issues(&config) {
                    if !issues.iter().any(|known| known.path == issue.path) {
                        issues.push(issue);
                    }
                }
                if issues.is_empty() { Ok(config) } else { Err(issues) }
            }
            Err(error) if issues.is_empty() => Err(vec![ConfigIssue::new("$", error.to_string())]),
            Err(_) => Err(issues),
        }
    }
}

/// Removes the setting at `path` (`$.braze.timeout_ms`, `$.identity.external_id_paths[0]`)
/// from `document`; an array element takes its whole array with it.
fn prune(document: &mut Value, path: &str) {
    let Some(rest) = path.strip_prefix("$.") else { return };
    let rest = rest.split('[').next().unwrap_or(rest);
    let mut segments: Vec<&str> = rest.split('.').collect();
    let Some(last) = segments.pop() else { return };
    let mut current = document;
    for segment in segments {
        match current.get_mut(segment) {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Some(object) = current.as_object_mut() {
        object.remove(last);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AuthScheme, SecretNames, UnknownEventPolicy};
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
            assert_eq!(config.events.map["advocate_code_created"].as_deref(), Some("Created Share Link"));
        }
    }

    #[test]
    fn every_preset_resolves() {
        let embedded = EmbeddedConfig::load();
        for preset in embedded.preset_names() {
            let config = embedded.resolve("production", Some(&json!({"events": {"preset": preset}}))).unwrap();
            assert!(!config.events.map.is_empty(), "{preset}");
        }
        let native = embedded.resolve("production", Some(&json!({"events": {"preset": "extole_native"}}))).unwrap();
        assert_eq!(native.events.unknown, UnknownEventPolicy::Prefix);
        assert!(!native.events.map.contains_key("converted"), "presets must not inherit each other's tables");
    }

    #[test]
    fn kv_document_merges_over_defaults() {
        let embedded = EmbeddedConfig::load();
        let doc = json!({"auth": "none", "braze": {"endpoint": "US-03"}, "events": {"map": {"shipped": "Order Shipped"}},
            "attributes": {"home_city": null, "tier": {"from": "data.tier", "transform": "lowercase"}}});
        let config = embedded.resolve("staging", Some(&doc)).unwrap();
        assert_eq!(config.auth.scheme, AuthScheme::None);
        assert_eq!(config.braze.endpoint.as_deref(), Some("US-03"));
        assert_eq!(config.braze.timeout_ms, 5000);
        assert_eq!(config.events.map["shipped"].as_deref(), Some("Order Shipped"));
        assert_eq!(config.events.map["shared"].as_deref(), Some("Shared"));
        assert_eq!(config.attributes["home_city"], None);
        assert_eq!(config.attributes["tier"].as_ref().unwrap().from, "data.tier");
        assert!(config.attributes["email"].is_some());
    }

    #[test]
    fn invalid_documents_list_every_problem_with_its_path() {
        let embedded = EmbeddedConfig::load();
        let doc = json!({
            "brazee": {},
            "braze": {"endpoint": 3, "timeout_ms": "fast"},
            "auth": {"scheme": "hmac"},
            "events": {"unknown": "drop", "preset": "nope"},
            "attributes": {"tier": {"from": "data.tier", "transform": "upper", "colour": 1}},
        });
        let issues = embedded.resolve("production", Some(&doc)).unwrap_err();
        let paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
        for expected in [
            "$.brazee",
            "$.braze.endpoint",
            "$.braze.timeout_ms",
            "$.auth.scheme",
            "$.events.unknown",
            "$.attributes.tier.transform",
            "$.attributes.tier.colour",
            "$.events.preset",
        ] {
            assert!(paths.contains(&expected), "{expected} not in {paths:?}");
        }
        // Shape and value problems are reported together, not in two rounds.
        let both = embedded.resolve("production", Some(&json!({"colour": 1, "events": {"unknown": "drop"}, "dedup": {"window_seconds": 5}}))).unwrap_err();
        let paths: Vec<_> = both.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["$.colour", "$.events.unknown", "$.dedup.window_seconds"]);
        let semantic = embedded.resolve("production", Some(&json!({"braze": {"endpoint": "http://x.com", "timeout_ms": 1}, "dedup": {"window_seconds": 5}}))).unwrap_err();
        let paths: Vec<_> = semantic.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["$.braze.timeout_ms", "$.braze.endpoint", "$.dedup.window_seconds"]);
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
