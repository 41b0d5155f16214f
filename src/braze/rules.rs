//! Braze's documented rules for what `/users/track` accepts, applied before anything is sent.

use serde_json::{Map, Number, Value};

/// Longest string Braze accepts as a property or custom attribute value, in characters.
pub const MAX_STRING_CHARS: usize = 255;
/// Longest property key or event name.
pub const MAX_NAME_CHARS: usize = 255;
/// The properties object of one event must stay under 50 KB.
pub const MAX_PROPERTIES_BYTES: usize = 50_000;
/// Property keys Braze reserves on events.
const RESERVED_PROPERTY_KEYS: [&str; 2] = ["time", "event_name"];
/// Prefix given to a reserved key so its value still reaches Braze (distinct from the
/// relay's own `extole_` properties, so a sender's `event_name` cannot overwrite them).
const RESERVED_KEY_PREFIX: &str = "extole_data_";
/// Integers beyond this lose precision in a JSON double: sent as strings instead.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// Levels of objects and arrays kept inside one property value.
pub const MAX_NESTING: usize = 8;
/// Property set on an event whose properties had to be cut to fit Braze's size limit.
pub const TRUNCATED_MARKER: &str = "extole_properties_truncated";

/// Whether `key` may name an event property or custom attribute.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && !key.starts_with('$') && key.chars().count() <= MAX_NAME_CHARS
}

/// Drops control characters other than tab and newline (a NUL breaks more systems than it
/// informs), then cuts `text` to Braze's string limit on a character boundary.
pub fn clip_string(text: &str) -> String {
    text.chars().filter(|c| keeps(*c)).take(MAX_STRING_CHARS).collect()
}

/// [`clip_string`] for a string the caller owns: most strings need no change and are kept.
fn clip_owned(text: String) -> String {
    if text.len() <= MAX_STRING_CHARS && text.chars().all(keeps) {
        text
    } else {
        clip_string(&text)
    }
}

fn keeps(c: char) -> bool {
    !c.is_control() || matches!(c, '\t' | '\n')
}

/// Cleans event properties to Braze's rules: invalid keys dropped, reserved keys prefixed,
/// long strings clipped, unsafe numbers stringified, and the whole object kept under 50 KB
/// by dropping the largest values first.
pub fn clean_properties(mut properties: Map<String, Value>) -> Map<String, Value> {
    // Cleaned in place rather than rebuilt: nearly every property stays as it is.
    properties.retain(|key, _| is_valid_key(key));
    for (key, value) in properties.iter_mut() {
        *value = clean_value(key, std::mem::take(value), 1);
    }
    for reserved in RESERVED_PROPERTY_KEYS {
        let Some(value) = properties.remove(reserved) else { continue };
        let renamed = format!("{RESERVED_KEY_PREFIX}{reserved}");
        // Should the sender also have sent the prefixed key, the one later in key order
        // wins, as it always has (the map used to be rebuilt in key order).
        if !properties.contains_key(&renamed) || reserved > renamed.as_str() {
            properties.insert(renamed, value);
        }
    }
    fit_size(&mut properties);
    properties
}

fn clean_value(key: &str, value: Value, depth: usize) -> Value {
    match value {
        Value::String(s) => Value::String(clip_owned(s)),
        Value::Number(n) => clean_number(key, n),
        // Nesting deeper than any real template is a payload, not data: it goes as (clipped) text.
        nested @ (Value::Array(_) | Value::Object(_)) if depth >= MAX_NESTING => Value::String(clip_string(&nested.to_string())),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| clean_value(key, v, depth + 1)).collect()),
        Value::Object(mut map) => {
            map.retain(|k, _| is_valid_key(k));
            for (k, v) in map.iter_mut() {
                *v = clean_value(k, std::mem::take(v), depth + 1);
            }
            Value::Object(map)
        }
        other => other,
    }
}

/// Integer ids, and 64-bit integers past 2^53, would be rounded by a JSON double somewhere
/// downstream: they go as exact strings. Anything else (fractions, exponents, integers past
/// 64 bits, which were read as doubles as Braze itself would read them) stays a number:
/// a rounded id written as text would look exact and name something else.
fn clean_number(key: &str, n: Number) -> Value {
    let is_id = key == "id" || key.ends_with("_id");
    let unsafe_integer = match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => u > MAX_SAFE_INTEGER,
        (None, Some(i)) => i.unsigned_abs() > MAX_SAFE_INTEGER,
        (None, None) => false,
    };
    let is_integer = n.is_i64() || n.is_u64();
    if (is_id && is_integer) || unsafe_integer {
        Value::String(crate::json::number_text(&n))
    } else {
        Value::Number(n)
    }
}

fn fit_size(properties: &mut Map<String, Value>) {
    // Nearly every event is far under the limit, which a bound on its serialised size shows
    // without serialising it.
    if object_size_bound(properties) < MAX_PROPERTIES_BYTES {
        return;
    }
    // Serialised size of one `"key":value,` entry; the object is the sum plus its braces.
    let json_len = |v: &Value| serde_json::to_vec(v).map_or(MAX_PROPERTIES_BYTES, |b| b.len());
    let entry_size = |k: &String, v: &Value| json_len(&Value::String(k.clone())) + json_len(v) + 2;
    let mut entries: Vec<(usize, String)> = properties.iter().map(|(k, v)| (entry_size(k, v), k.clone())).collect();
    let mut total: usize = entries.iter().map(|(size, _)| size).sum::<usize>() + 2;
    if total < MAX_PROPERTIES_BYTES {
        return;
    }
    // Drop the largest values first: one huge blob should not cost every small field.
    entries.sort_unstable_by(|a, b| b.cmp(a));
    let budget = MAX_PROPERTIES_BYTES - TRUNCATED_MARKER.len() - 16;
    for (size, key) in entries {
        if total < budget {
            break;
        }
        properties.remove(&key);
        total -= size;
    }
    properties.insert(TRUNCATED_MARKER.to_string(), Value::Bool(true));
}

/// At least the serialised size of a JSON value: every string byte counted as the six of a
/// `\u00XX` escape, every number as 40 characters.
fn size_bound(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 40,
        Value::String(s) => 2 + 6 * s.len(),
        Value::Array(items) => 2 + items.iter().map(|v| size_bound(v) + 1).sum::<usize>(),
        Value::Object(map) => object_size_bound(map),
    }
}

fn object_size_bound(map: &Map<String, Value>) -> usize {
    2 + map.iter().map(|(k, v)| 2 + 6 * k.len() + 1 + size_bound(v) + 1).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_cleaned() {
        let long_key = "k".repeat(256);
        let input = json!({"$bad": 1, "": 2, "time": "t", "event_name": "n", "ok": 3, long_key: 4});
        let out = clean_properties(input.as_object().unwrap().clone());
        assert_eq!(Value::Object(out), json!({"extole_data_time": "t", "extole_data_event_name": "n", "ok": 3}));
    }

    #[test]
    fn a_renamed_reserved_key_meets_the_senders_own_prefixed_key() {
        let input = json!({"time": "t", "extole_data_time": "x", "event_name": "n", "extole_data_event_name": "y"});
        let out = clean_properties(input.as_object().unwrap().clone());
        assert_eq!(Value::Object(out), json!({"extole_data_time": "t", "extole_data_event_name": "y"}));
    }

    #[test]
    fn strings_clipped_on_char_boundaries() {
        let out = clean_properties(json!({"s": "é".repeat(300), "n": {"deep": "x".repeat(300), "$x": 1}}).as_object().unwrap().clone());
        assert_eq!(out["s"].as_str().unwrap().chars().count(), 255);
        assert_eq!(out["n"]["deep"].as_str().unwrap().len(), 255);
        assert!(out["n"].get("$x").is_none());
    }

    #[test]
    fn deep_nesting_becomes_text() {
        let deep: Value = serde_json::from_str(&format!("{}1{}", "[".repeat(60), "]".repeat(60))).unwrap();
        let out = clean_properties(json!({ "deep": deep }).as_object().unwrap().clone());
        let mut value = &out["deep"];
        let mut levels = 0;
        while let Value::Array(items) = value {
            value = &items[0];
            levels += 1;
        }
        assert_eq!(levels, MAX_NESTING - 1);
        assert!(value.as_str().is_some_and(|s| s.starts_with("[[[")), "{value}");
    }

    #[test]
    fn numbers_stay_exact() {
        let raw = r#"{"person_id": 6816411215104951917, "order_id": 42, "face_value": 20, "big": 123456789012345678901234567890, "price": 129.90, "neg": -9007199254740993}"#;
        let map: Map<String, Value> = serde_json::from_str(raw).unwrap();
        let out = clean_properties(map);
        assert_eq!(out["person_id"], "6816411215104951917");
        assert_eq!(out["order_id"], "42");
        assert_eq!(out["face_value"].to_string(), "20");
        assert_eq!(out["big"].as_f64(), Some(1.2345678901234568e29), "past 64 bits: the double Braze would read");
        assert_eq!(out["price"].to_string(), "129.9");
        assert_eq!(out["neg"], "-9007199254740993");
    }

    #[test]
    fn oversized_properties_fit_under_50kb() {
        let mut map = Map::new();
        for i in 0..400 {
            map.insert(format!("field_{i}"), json!("v".repeat(250)));
        }
        let out = clean_properties(map);
        assert!(serde_json::to_vec(&out).unwrap().len() < MAX_PROPERTIES_BYTES);
        assert_eq!(out[TRUNCATED_MARKER], true);
    }

    #[test]
    fn only_integer_ids_become_strings() {
        let raw = r#"{"order_id": 42, "big_id": 18446744073709551616, "odd_id": 1e3, "price": 129.99}"#;
        let map: Map<String, Value> = serde_json::from_str(raw).unwrap();
        let out = clean_properties(map);
        assert_eq!(out["order_id"], "42");
        assert!(out["big_id"].is_number(), "a rounded id must not look exact: {}", out["big_id"]);
        assert!(out["odd_id"].is_number());
        assert_eq!(serde_json::to_string(&out["price"]).unwrap(), "129.99");
    }

    #[test]
    fn size_bound_is_never_under_the_serialised_size() {
        let values = [
            json!({"s": "\u{1}\u{1f}\"\\\n", "e": "é漢😀", "n": [1.2345678901234567e-300, -9223372036854775808_i64, u64::MAX, null, true]}),
            json!({"deep": [[[{"k\u{0}": "x"}]]], "": ""}),
            json!({}),
        ];
        for value in values {
            assert!(size_bound(&value) >= serde_json::to_vec(&value).unwrap().len(), "{value}");
        }
    }
}
