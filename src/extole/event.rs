use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// One Extole event, normalised from whichever body shape it arrived in.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtoleEvent {
    /// Position in the request body (0 for a single-event body).
    pub index: usize,
    /// The event name as Extole sent it (`type`, `event_name` or `event`).
    pub name: String,
    /// Extole's event id, exactly as sent (numbers keep every digit).
    pub id: Option<String>,
    /// When the event happened, if the body says.
    pub time: Option<DateTime<Utc>>,
    /// The person the event is about.
    pub person: Person,
    /// The event object as received, for configured paths such as `data.customer_number`.
    pub root: Map<String, Value>,
}

/// Person fields, found at the top level, in `data` or in `properties`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Person {
    pub partner_user_id: Option<String>,
    pub user_id: Option<String>,
    pub person_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub share_link: Option<String>,
    pub funnel: Option<String>,
    pub channel: Option<String>,
}

impl Person {
    /// A person field by its normalised name (`email`, `phone`, `partner_user_id`, ...).
    pub fn get(&self, field: &str) -> Option<&str> {
        let value = match field {
            "partner_user_id" => &self.partner_user_id,
            "user_id" => &self.user_id,
            "person_id" => &self.person_id,
            "email" => &self.email,
            "phone" => &self.phone,
            "first_name" => &self.first_name,
            "last_name" => &self.last_name,
            "city" => &self.city,
            "state" => &self.state,
            "country" => &self.country,
            "share_link" => &self.share_link,
            "funnel" => &self.funnel,
            "channel" => &self.channel,
            _ => return None,
        };
        value.as_deref()
    }
}

/// The object scopes that may hold event fields, in the order they are searched.
pub(crate) const SCOPES: [&str; 2] = ["data", "properties"];

impl ExtoleEvent {
    /// Everything worth carrying to Braze as event properties: context fields, then `data`,
    /// then `properties` (later scopes win), minus the person fields and the envelope.
    /// Built when asked (once, by the translation) rather than kept beside `root`.
    pub fn properties(&self) -> Map<String, Value> {
        super::parse::properties_of(&self.root)
    }

    /// Looks a field up by path. A bare name (`email`) is searched at the top level, then in
    /// `data`, then in `properties`; a dotted path (`data.customer_number`) is followed exactly.
    pub fn lookup(&self, path: &str) -> Option<&Value> {
        lookup_in(&self.root, path)
    }

    /// The field at `path` as a non-empty string (numbers and booleans rendered exactly).
    pub fn lookup_string(&self, path: &str) -> Option<String> {
        self.lookup(path).and_then(scalar_to_string)
    }
}

fn lookup_in<'a>(root: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if path.contains('.') {
        let mut current = root;
        let mut segments = path.split('.').peekable();
        while let Some(segment) = segments.next() {
            let value = current.get(segment)?;
            if segments.peek().is_none() {
                return present(value);
            }
            current = value.as_object()?;
        }
        return None;
    }
    present_field(root, path).or_else(|| {
        SCOPES
            .iter()
            .filter_map(|scope| root.get(*scope).and_then(Value::as_object))
            .find_map(|scope| present_field(scope, path))
    })
}

fn present_field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).and_then(present)
}

/// Treats null and blank strings as absent: templates often send `"email": ""`.
pub(crate) fn present(value: &Value) -> Option<&Value> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        other => Some(other),
    }
}

/// Renders a scalar exactly as sent: a 19-digit number stays 19 digits.
pub fn scalar_to_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => {
            let trimmed = s.trim();
            (!trimmed.is_empty()).then(|| trimmed.to_string())
        }
        Value::Number(n) => Some(crate::json::number_text(n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
