use serde_json::{Map, Value};

use super::event::{present, scalar_to_string, ExtoleEvent, Person, SCOPES};
use super::time::parse_event_time;

/// Where the event name may be, in order of precedence.
const NAME_FIELDS: [&str; 3] = ["type", "event_name", "event"];
const ID_FIELDS: [&str; 2] = ["event_id", "eventId"];
const TIME_FIELDS: [&str; 3] = ["event_time", "timestamp", "eventTime"];
/// Name given to Extole's minimal reward webhook, which carries only `reward_id` and `data`.
const MINIMAL_REWARD_NAME: &str = "reward_earned";

/// Limits on what one body may hold.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Events in one JSON array body.
    pub max_events: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self { max_events: 100 }
    }
}

/// Why a body is not something the relay can ever deliver.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("body is empty; expected a JSON event object or array of events")]
    Empty,
    #[error("body is not valid JSON: {problem} at line {line}, column {column}")]
    NotJson { problem: &'static str, line: usize, column: usize },
    #[error("{pointer}: expected a JSON object describing an event, found {found}")]
    NotAnEvent { pointer: String, found: &'static str },
    #[error("body is an empty JSON array: no events to relay")]
    EmptyBatch,
    #[error("body holds {count} events; at most {limit} are accepted in one request")]
    TooManyEvents { count: usize, limit: usize },
    #[error("{pointer}: no event name; expected one of `type`, `event_name` or `event`")]
    MissingEventName { pointer: String },
    #[error("{pointer}: {expected}")]
    InvalidField { pointer: String, expected: &'static str },
}

impl ParseError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_body",
            Self::NotJson { .. } => "invalid_json",
            Self::NotAnEvent { .. } => "not_an_event",
            Self::EmptyBatch => "empty_batch",
            Self::TooManyEvents { .. } => "too_many_events",
            Self::MissingEventName { .. } => "missing_event_name",
            Self::InvalidField { .. } => "invalid_field",
        }
    }

    /// JSON pointer to the offending part of the body, when there is one.
    pub fn pointer(&self) -> Option<&str> {
        match self {
            Self::NotAnEvent { pointer, .. } | Self::MissingEventName { pointer } | Self::InvalidField { pointer, .. } => {
                Some(pointer)
            }
            _ => None,
        }
    }
}

/// Parses a raw webhook body into normalised events. Accepts one event object or a JSON
/// array of them.
pub fn parse_body(raw: &[u8], limits: ParseLimits) -> Result<Vec<ExtoleEvent>, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let document: Value = crate::json::parse_value(raw).map_err(describe_json_error)?;
    match document {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(ParseError::EmptyBatch);
            }
            if items.len() > limits.max_events {
                return Err(ParseError::TooManyEvents { count: items.len(), limit: limits.max_events });
            }
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| normalise(index, format!("/{index}"), item))
                .collect()
        }
        other => Ok(vec![normalise(0, String::new(), other)?]),
    }
}

/// serde_json's messages can quote the input; ours name only the kind and the place.
fn describe_json_error(error: serde_json::Error) -> ParseError {
    let text = error.to_string();
    let problem = [
        ("recursion limit", "nesting too deep"),
        ("EOF", "body ends early (truncated JSON)"),
        ("control character", "unescaped control character in a string"),
        ("unicode", "invalid unicode escape"),
        ("UTF-8", "invalid UTF-8"),
        ("number out of range", "number out of range"),
        ("trailing characters", "unexpected data after the JSON value"),
        ("key must be a string", "object key is not a string"),
        ("expected value", "expected a JSON value"),
    ]
    .iter()
    .find(|(needle, _)| text.contains(needle))
    .map_or("malformed JSON", |(_, problem)| problem);
    ParseError::NotJson { problem, line: error.line(), column: error.column() }
}

fn normalise(index: usize, pointer: String, value: Value) -> Result<ExtoleEvent, ParseError> {
    let Value::Object(root) = value else {
        let found = kind_of(&value);
        return Err(ParseError::NotAnEvent { pointer: root_pointer(&pointer), found });
    };
    for scope in SCOPES {
        if !matches!(root.get(scope), None | Some(Value::Null) | Some(Value::Object(_))) {
            return Err(ParseError::InvalidField { pointer: format!("{pointer}/{scope}"), expected: "expected an object" });
        }
    }
    let name = event_name(&root, &pointer)?;
    let id = first_field(&root, &ID_FIELDS)
        .map(|(field, value)| {
            id_text(value).ok_or(ParseError::InvalidField {
                pointer: format!("{pointer}/{field}"),
                expected: "expected a non-empty string or integer event id (at most 512 characters, no control characters)",
            })
        })
        .transpose()?;
    let time = first_field(&root, &TIME_FIELDS)
        .map(|(field, value)| {
            parse_event_time(value).ok_or(ParseError::InvalidField {
                pointer: format!("{pointer}/{field}"),
                expected: "expected an ISO 8601 date-time (e.g. 2026-11-22T18:44:31.120Z) or epoch seconds/milliseconds",
            })
        })
        .transpose()?;
    let person = person_of(&root);
    Ok(ExtoleEvent { index, name, id, time, person, root })
}

/// Longest event id accepted; longer ones are not ids but payloads.
const MAX_EVENT_ID_CHARS: usize = 512;

/// An id is a string or an integer of up to 64 bits (kept digit for digit); a boolean, a
/// fraction, an exponent or a longer integer (`true`, `1.5`, `1e3`, 25 digits) is not an id:
/// JSON numbers that long are doubles, and a rounded id would name another event.
pub fn id_text(value: &Value) -> Option<String> {
    let id = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => crate::json::integer_text(n)?,
        _ => return None,
    };
    let valid = !id.is_empty() && id.chars().count() <= MAX_EVENT_ID_CHARS && !id.chars().any(char::is_control);
    valid.then_some(id)
}

fn event_name(root: &Map<String, Value>, pointer: &str) -> Result<String, ParseError> {
    match first_field(root, &NAME_FIELDS) {
        Some((field, Value::String(name))) if name.chars().any(char::is_control) => Err(ParseError::InvalidField {
            pointer: format!("{pointer}/{field}"),
            expected: "event name contains control characters",
        }),
        Some((_, Value::String(name))) if !name.trim().is_empty() => Ok(name.trim().to_string()),
        Some((field, _)) => Err(ParseError::InvalidField {
            pointer: format!("{pointer}/{field}"),
            expected: "expected a non-empty string event name",
        }),
        None if root.contains_key("reward_id") => Ok(MINIMAL_REWARD_NAME.to_string()),
        None => Err(ParseError::MissingEventName { pointer: root_pointer(pointer) }),
    }
}

/// The first of `fields` present (not null) at the top level.
fn first_field<'a>(root: &'a Map<String, Value>, fields: &[&'static str]) -> Option<(&'static str, &'a Value)> {
    fields.iter().find_map(|field| root.get(*field).filter(|v| !v.is_null()).map(|v| (*field, v)))
}

/// How a person field's value is read: as an id (a string or a 64-bit integer, exact) or as
/// text (any scalar).
#[derive(Clone, Copy)]
enum Reading {
    Id,
    Text,
}

/// The names each person field goes by in the shapes Extole sends, in order of precedence,
/// in the order of `Person`'s fields.
const PERSON_FIELDS: [(&[&str], Reading); 13] = [
    (&["partner_user_id"], Reading::Id),
    (&["userId", "user_id"], Reading::Id),
    (&["person_id"], Reading::Id),
    (&["email", "recipient_email", "email_address"], Reading::Text),
    (&["phone_number", "phone"], Reading::Text),
    (&["first_name", "firstName"], Reading::Text),
    (&["last_name", "lastName"], Reading::Text),
    (&["city"], Reading::Text),
    (&["state"], Reading::Text),
    (&["country"], Reading::Text),
    (&["share_link"], Reading::Text),
    (&["funnel"], Reading::Text),
    (&["channel"], Reading::Text),
];

/// The most names one person field goes by.
const MAX_NAMES_PER_FIELD: usize = 3;
// A field given more names than this fails the build here rather than at its first event.
const _: () = {
    let mut field = 0;
    while field < PERSON_FIELDS.len() {
        assert!(PERSON_FIELDS[field].0.len() <= MAX_NAMES_PER_FIELD, "raise MAX_NAMES_PER_FIELD");
        field += 1;
    }
};

/// Which person field `key` names, and its rank among that field's names.
fn person_field_of(key: &str) -> Option<(usize, usize)> {
    PERSON_FIELDS.iter().enumerate().find_map(|(field, (names, _))| names.iter().position(|name| *name == key).map(|rank| (field, rank)))
}

/// The person fields. Each takes the first of its names with a usable value, a name being
/// looked up as [`ExtoleEvent::lookup`] does (the top level, then `data`, then `properties`). One pass
/// over each scope finds every name at once: a map search per name and scope was a fifth
/// of the pipeline's time.
fn person_of(root: &Map<String, Value>) -> Person {
    let mut found = [[None::<&Value>; MAX_NAMES_PER_FIELD]; PERSON_FIELDS.len()];
    let scopes = std::iter::once(root).chain(SCOPES.iter().filter_map(|scope| root.get(*scope).and_then(Value::as_object)));
    for scope in scopes {
        for (key, value) in scope {
            if let Some((field, rank)) = person_field_of(key) {
                let slot = &mut found[field][rank];
                if slot.is_none() {
                    *slot = present(value);
                }
            }
        }
    }
    let [partner_user_id, user_id, person_id, email, phone, first_name, last_name, city, state, country, share_link, funnel, channel] =
        std::array::from_fn(|field| {
            let (names, reading) = PERSON_FIELDS[field];
            found[field][..names.len()].iter().flatten().find_map(|value| match reading {
                Reading::Id => id_text(value),
                Reading::Text => scalar_to_string(value),
            })
        });
    Person { partner_user_id, user_id, person_id, email, phone, first_name, last_name, city, state, country, share_link, funnel, channel }
}

/// Fields that are the person's identity or contact details: they become Braze attributes,
/// not event properties (each property is a billed data point, and these are personal data).
const PERSONAL_FIELDS: [&str; 14] = [
    "email", "recipient_email", "email_address", "phone_number", "phone", "first_name", "firstName", "last_name",
    "lastName", "city", "state", "country", "anonymousId", "ip_address",
];
/// Top-level fields that are plumbing, not information about the event.
const ENVELOPE_FIELDS: [&str; 9] =
    ["type", "event_name", "event", "event_time", "timestamp", "eventTime", "data", "properties", "schema_version"];

/// Context fields, then `data`, then `properties` (later scopes win), minus personal fields.
pub(crate) fn properties_of(root: &Map<String, Value>) -> Map<String, Value> {
    let top = root.iter().filter(|(k, _)| !ENVELOPE_FIELDS.contains(&k.as_str()));
    let scoped = SCOPES.iter().filter_map(|s| root.get(*s).and_then(Value::as_object)).flat_map(|m| m.iter());
    top.chain(scoped)
        .filter(|(k, v)| !PERSONAL_FIELDS.contains(&k.as_str()) && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn root_pointer(pointer: &str) -> String {
    if pointer.is_empty() { "/".to_string() } else { pointer.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Vec<ExtoleEvent>, ParseError> {
        parse_body(raw.as_bytes(), ParseLimits::default())
    }

    #[test]
    fn journey_webhook_reads_person_from_data() {
        let events = parse(include_str!("../../examples/payloads/signed-up.json")).unwrap();
        let e = &events[0];
        assert_eq!(e.name, "signed_up");
        assert_eq!(e.id.as_deref(), Some("c3f2e4d5a6b7c8d9e0f1"));
        assert_eq!(e.person.partner_user_id.as_deref(), Some("cust-20871"));
        assert_eq!(e.person.email.as_deref(), Some("Omar.Haddad@Example.com"));
        assert_eq!(e.person.phone.as_deref(), Some("+1 (617) 555-0142"));
        assert_eq!(e.person.country.as_deref(), Some("US"));
        assert_eq!(e.properties()["advocate_partner_user_id"], "cust-10442");
        assert_eq!(e.properties()["program_label"], "refer-a-friend");
        assert!(!e.properties().contains_key("email"));
        assert!(!e.properties().contains_key("phone_number"));
    }

    #[test]
    fn reward_webhook_keeps_large_ids_exact() {
        let raw = r#"{"type":"reward_earned","event_id":18446744073709551615,"person_id":6816411215104951917,"reward_id":"r1","data":{"recipient_email":"a@b.co"}}"#;
        let e = &parse(raw).unwrap()[0];
        assert_eq!(e.id.as_deref(), Some("18446744073709551615"));
        assert_eq!(e.person.person_id.as_deref(), Some("6816411215104951917"));
        assert_eq!(e.person.email.as_deref(), Some("a@b.co"));
    }

    #[test]
    fn segment_style_template_reads_properties() {
        let raw = r#"{"event":"purchased","userId":"u-9","timestamp":"2026-11-22T18:44:31Z","properties":{"email":"x@y.io","funnel":"ADVOCATE","cart_value":42.5}}"#;
        let e = &parse(raw).unwrap()[0];
        assert_eq!(e.name, "purchased");
        assert_eq!(e.person.user_id.as_deref(), Some("u-9"));
        assert_eq!(e.person.funnel.as_deref(), Some("ADVOCATE"));
        assert_eq!(e.properties()["cart_value"].to_string(), "42.5");
        assert!(e.time.is_some());
    }

    #[test]
    fn name_precedence_and_minimal_reward() {
        assert_eq!(parse(r#"{"type":"a","event_name":"b","event":"c"}"#).unwrap()[0].name, "a");
        assert_eq!(parse(r#"{"event_name":"b","event":"c"}"#).unwrap()[0].name, "b");
        assert_eq!(parse(r#"{"reward_id":"r","data":{}}"#).unwrap()[0].name, "reward_earned");
    }

    #[test]
    fn arrays_are_batches() {
        let events = parse(r#"[{"event":"a"},{"event":"b"}]"#).unwrap();
        assert_eq!(events.iter().map(|e| (e.index, e.name.as_str())).collect::<Vec<_>>(), vec![(0, "a"), (1, "b")]);
        let too_many = format!("[{}]", vec![r#"{"event":"a"}"#; 101].join(","));
        assert_eq!(parse(&too_many).unwrap_err().code(), "too_many_events");
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases = [
            ("", "empty_body", None),
            ("  \n", "empty_body", None),
            ("{\"type\":", "invalid_json", None),
            ("not json", "invalid_json", None),
            ("[]", "empty_batch", None),
            ("42", "not_an_event", Some("/")),
            ("[{\"event\":\"a\"}, 7]", "not_an_event", Some("/1")),
            ("{\"data\":{}}", "missing_event_name", Some("/")),
            ("[{\"event\":\"a\"},{\"data\":{}}]", "missing_event_name", Some("/1")),
            ("{\"type\":5}", "invalid_field", Some("/type")),
            ("{\"type\":\"  \"}", "invalid_field", Some("/type")),
            ("{\"type\":\"a\",\"event_time\":\"soon\"}", "invalid_field", Some("/event_time")),
            ("{\"type\":\"a\",\"event_id\":{}}", "invalid_field", Some("/event_id")),
            ("{\"type\":\"a\",\"event_id\":1e400}", "invalid_json", None),
            ("{\"type\":\"a\",\"event_id\":1e3}", "invalid_field", Some("/event_id")),
            ("{\"type\":\"a\",\"event_id\":18446744073709551616}", "invalid_field", Some("/event_id")),
            ("{\"type\":\"a\",\"event_id\":1.5}", "invalid_field", Some("/event_id")),
            ("{\"type\":\"a\",\"event_id\":\"\"}", "invalid_field", Some("/event_id")),
            ("{\"type\":\"sh\\u0000ared\"}", "invalid_field", Some("/type")),
            ("{\"type\":\"a\",\"data\":[1]}", "invalid_field", Some("/data")),
        ];
        for (raw, code, pointer) in cases {
            let err = parse(raw).unwrap_err();
            assert_eq!(err.code(), code, "{raw}");
            assert_eq!(err.pointer(), pointer, "{raw}");
        }
    }

    #[test]
    fn json_errors_never_quote_the_body() {
        let err = parse(r#"{"email": "secret@example.com" "x"}"#).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        let deep = "[".repeat(10_000);
        assert_eq!(parse(&deep).unwrap_err().code(), "invalid_json");
    }
}
