//! The mapping between the two sides: one normalised Extole event in, the Braze objects it
//! becomes out. Everything it decides comes from the environment's config; nothing here
//! knows about Workers.

mod phone;
mod purchase;
pub mod values;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::braze::rules::{clean_properties, MAX_NAME_CHARS};
use crate::braze::{BrazeObject, EventObjects};
use crate::config::{ChannelTarget, EnvironmentConfig, IdentityFallback, SubscriptionChange, UnknownEventPolicy};
use crate::extole::{format_braze_time, id_text, ExtoleEvent};

/// `Share Link Created`, `share-link-created` and `SHARE_LINK_CREATED` are the same name.
pub fn normalise_event_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for part in name.split(|c: char| c.is_whitespace() || c == '-' || c == '_').filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('_');
        }
        out.extend(part.chars().map(|c| c.to_ascii_lowercase()));
    }
    out
}

/// Longest external id sent; anything longer is not an id (and is not sent).
const MAX_EXTERNAL_ID_CHARS: usize = 512;

/// How a person is named in every Braze object of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Identifier {
    ExternalId(String),
    Email(String),
    Alias { name: String, label: String },
}

impl Identifier {
    fn write_into(&self, object: &mut BrazeObject) {
        let (key, value) = self.field();
        object.insert(key.into(), value);
    }

    /// The identifying field of a Braze object: its key and value.
    fn field(&self) -> (&'static str, Value) {
        match self {
            Self::ExternalId(id) => ("external_id", json!(id)),
            Self::Email(email) => ("email", json!(email)),
            Self::Alias { name, label } => ("user_alias", json!({"alias_name": name, "alias_label": label})),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::ExternalId(_) => "external_id",
            Self::Email(_) => "email",
            Self::Alias { .. } => "user_alias",
        }
    }
}

/// What one Extole event became.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Translation {
    /// The Braze event name, or `None` when the config ignores this event.
    pub braze_name: Option<String>,
    pub objects: EventObjects,
    /// Attributes whose source value could not be sent (names only, never values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
}

/// Why an event cannot be translated. Each is the caller's data, not our fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranslateError {
    Unidentified,
    ExternalIdRequired,
    EventNameTooLong,
}

/// Translates one event with the environment's mapping. `received_at` stands in for a
/// missing event time.
pub fn translate(event: &ExtoleEvent, config: &EnvironmentConfig, received_at: DateTime<Utc>) -> Result<Translation, TranslateError> {
    let Some(braze_name) = braze_event_name(&event.name, config) else {
        return Ok(Translation { braze_name: None, objects: EventObjects::default(), dropped: Vec::new() });
    };
    if braze_name.chars().count() > MAX_NAME_CHARS {
        return Err(TranslateError::EventNameTooLong);
    }
    let (mut attributes, mut dropped) = attributes_of(event, config);
    apply_subscription(&braze_name, event, config, &mut attributes);
    let identifier = identify(event, config)?;

    let time = format_braze_time(&event.time.unwrap_or(received_at));
    let mut properties = event.properties();
    if let Some(id) = &event.id {
        properties.insert("event_id".into(), json!(id));
    }
    if braze_name != event.name {
        properties.insert("extole_event_name".into(), json!(event.name));
    }
    let mut braze_event = Map::new();
    identifier.write_into(&mut braze_event);
    braze_event.insert("name".into(), json!(braze_name));
    braze_event.insert("time".into(), json!(time));
    braze_event.insert("properties".into(), Value::Object(clean_properties(properties)));

    let purchase = if config.conversions.purchase && config.conversions.events.contains(&braze_name) {
        let purchase = purchase::purchase_of(event, &config.conversions, &time);
        if purchase.is_none() {
            dropped.push("purchase".into());
        }
        purchase.map(|mut p| {
            identifier.write_into(&mut p);
            p
        })
    } else {
        None
    };

    let attributes = match &identifier {
        // An alias-only profile is only created when an attributes object says so.
        Identifier::Alias { .. } => Some(with_identifier(&identifier, attributes, Some(false))),
        _ if attributes.is_empty() => None,
        _ => Some(with_identifier(&identifier, attributes, None)),
    };
    Ok(Translation {
        braze_name: Some(braze_name),
        objects: EventObjects { attributes, event: Some(braze_event), purchase },
        dropped,
    })
}

/// The attributes object: the identifier and flag are added where the attributes do not
/// already set them (the attributes win, as they always have).
fn with_identifier(identifier: &Identifier, mut attributes: BrazeObject, update_existing_only: Option<bool>) -> BrazeObject {
    let (key, value) = identifier.field();
    attributes.entry(key).or_insert(value);
    if let Some(flag) = update_existing_only {
        attributes.entry("_update_existing_only").or_insert(json!(flag));
    }
    attributes
}

/// The Braze name for an Extole event, or `None` if it is to be ignored.
pub fn braze_event_name(extole_name: &str, config: &EnvironmentConfig) -> Option<String> {
    let wanted = normalise_event_name(extole_name);
    match config.events.by_normalised_name.get(&wanted) {
        Some(target) => target.clone(),
        None => match config.events.unknown {
            UnknownEventPolicy::Forward => Some(extole_name.trim().to_string()),
            UnknownEventPolicy::Prefix => Some(format!("{}{wanted}", config.events.prefix)),
            UnknownEventPolicy::Ignore => None,
        },
    }
}

/// Source value of a configured field: a normalised person field first, then a path.
fn source_value<'e>(event: &'e ExtoleEvent, from: &str) -> Option<Cow<'e, Value>> {
    event.person.get(from).map(|v| Cow::Owned(json!(v))).or_else(|| event.lookup(from).map(Cow::Borrowed))
}

fn attributes_of(event: &ExtoleEvent, config: &EnvironmentConfig) -> (BrazeObject, Vec<String>) {
    let country = event.person.country.as_deref().and_then(values::country_alpha2);
    let mut attributes = Map::new();
    let mut dropped = Vec::new();
    let rules = config.attributes.iter().filter_map(|(name, rule)| rule.as_ref().filter(|r| r.enabled).map(|r| (name, r)));
    for (name, rule) in rules {
        let Some(source) = source_value(event, &rule.from) else { continue };
        match values::apply(rule.transform, &source, country) {
            Some(value) => {
                attributes.insert(name.clone(), value);
            }
            None => dropped.push(name.clone()),
        }
    }
    (attributes, dropped)
}

fn apply_subscription(braze_name: &str, event: &ExtoleEvent, config: &EnvironmentConfig, attributes: &mut BrazeObject) {
    let settings = &config.subscriptions;
    let Some(change) = settings.events.get(braze_name) else { return };
    let channel = event.person.channel.as_deref().unwrap_or(&settings.default_channel).to_ascii_lowercase();
    let subscribed = *change == SubscriptionChange::Subscribe;
    match settings.channels.get(&channel) {
        Some(ChannelTarget::EmailSubscribe) => {
            attributes.insert("email_subscribe".into(), json!(if subscribed { "opted_in" } else { "unsubscribed" }));
        }
        Some(ChannelTarget::SubscriptionGroup { group_id }) => {
            let state = if subscribed { "subscribed" } else { "unsubscribed" };
            attributes.insert(
                "subscription_groups".into(),
                json!([{"subscription_group_id": group_id, "subscription_state": state}]),
            );
        }
        // A channel with no configured target changes no consent: the event still goes.
        None => {}
    }
}

fn identify(event: &ExtoleEvent, config: &EnvironmentConfig) -> Result<Identifier, TranslateError> {
    let identity = &config.identity;
    let external_id = identity
        .external_id_paths
        .iter()
        .find_map(|path| source_value(event, path).and_then(|v| id_text(&v)))
        .filter(|id| id.chars().count() <= MAX_EXTERNAL_ID_CHARS && !id.chars().any(char::is_control));
    if let Some(id) = external_id {
        return Ok(Identifier::ExternalId(id));
    }
    let email = event.person.email.as_deref().and_then(values::normalise_email);
    match (identity.fallback, email) {
        (IdentityFallback::Reject, _) => Err(TranslateError::ExternalIdRequired),
        (_, None) => Err(TranslateError::Unidentified),
        (IdentityFallback::Email, Some(email)) => Ok(Identifier::Email(email)),
        (IdentityFallback::UserAlias, Some(email)) => Ok(Identifier::Alias { name: email, label: identity.alias_label.clone() }),
    }
}
