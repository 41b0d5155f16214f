//! An oracle for Braze's `POST /users/track` rules, written from
//! `../shared/reference/braze-users-track.md` and independent of `src/braze/rules.rs`:
//! nothing here calls the relay, so a mistake in the relay's cleaning is not repeated here.
//!
//! Shared by the property tests (`tests/properties.rs`), the fuzz targets (`fuzz/`) and the
//! fuzz regression tests, each including it with `#[path]`. It needs only `serde_json`. Number
//! tokens are also read from the body's text ([`check_bytes`]), so that an integer past 64
//! bits (which `serde_json` reads as a rounded double) is still seen as written.
//!
//! Where the sheet is vague the stricter reading is taken (as the Braze stand-in does):
//! `country` is an assigned ISO 3166-1 alpha-2 code, `currency` the ISO 4217 code of a
//! currency in circulation, times are ISO 8601 extended date-times with seconds and a zone.
//!
//! Known differences with the stand-in's `rules.mjs` (the cross-check in tests/properties.rs
//! allows for exactly these): the number-text rules ([`Rule::needs_number_text`]) are
//! invisible to `JSON.parse`; `rules.mjs` also refuses values nested over 50 levels and
//! bodies over 64, a guard of the stand-in that is not a Braze rule, so not checked here.
#![allow(dead_code)]

use serde_json::{Map, Value};

pub const MAX_OBJECTS_PER_ARRAY: usize = 75;
pub const MAX_CHARS: usize = 255;
pub const MAX_PROPERTIES_BYTES: usize = 50_000;
/// 2^53 - 1: the largest integer every JSON reader holds exactly.
const MAX_SAFE_INTEGER_DIGITS: &str = "9007199254740991";

const ARRAYS: [&str; 3] = ["attributes", "events", "purchases"];
const PRIMARY_IDS: [&str; 3] = ["external_id", "user_alias", "braze_id"];
const CONTACT_IDS: [&str; 2] = ["email", "phone"];
const EVENT_FIELDS: [&str; 10] =
    ["external_id", "user_alias", "braze_id", "email", "phone", "app_id", "name", "time", "properties", "_update_existing_only"];
const PURCHASE_FIELDS: [&str; 13] = [
    "external_id", "user_alias", "braze_id", "email", "phone", "app_id", "product_id", "currency", "price", "quantity", "time",
    "properties", "_update_existing_only",
];

/// Which rule a violation breaks. Rules marked "text only" need the number's JSON text and
/// are invisible to a checker that reads the body with `JSON.parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// The body is not `{"attributes"?: [...], "events"?: [...], "purchases"?: [...]}` with something in it.
    BodyShape,
    /// More than 75 objects in one array, or more than the plan's combined cap.
    TooManyObjects,
    /// Not exactly one user identifier, or a malformed one.
    Identifier,
    /// An alias-only attributes object without `"_update_existing_only": false`.
    AliasWithoutCreate,
    /// A field the object type does not have.
    UnknownField,
    /// Event `name` missing, empty, not a string or over 255 characters.
    EventName,
    /// `time` missing or not ISO 8601.
    Time,
    /// A property or nested key empty, over 255 characters or starting with `$`.
    Key,
    /// A top-level property key `time` or `event_name`.
    ReservedKey,
    /// `properties` not an object.
    PropertiesShape,
    /// A string value over 255 characters, at any depth.
    StringTooLong,
    /// The properties object is 50,000 bytes of JSON or more.
    PropertiesTooLarge,
    /// An attribute name empty, over 255 characters or starting with `$`.
    AttributeName,
    /// `email` not an email address.
    Email,
    /// `phone` not E.164.
    Phone,
    /// `country` not an assigned ISO 3166-1 alpha-2 code in capitals.
    Country,
    /// Another standard attribute (names, language, dob, gender, time zone) malformed.
    StandardAttribute,
    /// `email_subscribe`/`push_subscribe` not `opted_in`/`subscribed`/`unsubscribed`.
    SubscribeState,
    /// `subscription_groups` malformed.
    SubscriptionGroups,
    /// A malformed `add`/`remove`/`inc` operation.
    AttributeOperation,
    /// Purchase `product_id` missing, empty or over 255 characters.
    ProductId,
    /// Purchase `currency` not an ISO 4217 code in circulation, in capitals.
    Currency,
    /// Purchase `price` missing or not a finite number.
    Price,
    /// Purchase `quantity` not an integer from 1 to 100.
    Quantity,
    /// `app_id` not a string.
    AppId,
    /// An integer beyond 2^53 written as a JSON number (text only).
    UnsafeInteger,
    /// A number beyond the range of a double (text only).
    NumberOutOfRange,
}

impl Rule {
    /// Rules that need the number's JSON text, which `JSON.parse` does not keep.
    pub fn needs_number_text(self) -> bool {
        matches!(self, Rule::UnsafeInteger | Rule::NumberOutOfRange)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `attributes`, `events` or `purchases`, or `None` for the request as a whole.
    pub array: Option<&'static str>,
    pub index: Option<usize>,
    pub rule: Rule,
    /// Where in the object, e.g. `properties.$x`.
    pub at: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.array, self.index) {
            (Some(array), Some(index)) => write!(f, "{array}[{index}].{}: {:?}", self.at, self.rule),
            _ => write!(f, "request {}: {:?}", self.at, self.rule),
        }
    }
}

/// Checks a serialised `/users/track` body, number tokens as written included.
pub fn check_bytes(body: &[u8], combined_cap: Option<usize>) -> Vec<Violation> {
    let mut violations = match serde_json::from_slice::<Value>(body) {
        Ok(value) => check_body(&value, combined_cap),
        Err(_) => return vec![Violation { array: None, index: None, rule: Rule::BodyShape, at: "(not JSON)".into() }],
    };
    // Integer tokens that fit 64 bits are seen by `check_body` (serde_json keeps them
    // exact); longer ones only here.
    for token in number_tokens(body) {
        let fits_64_bits = token.parse::<i64>().is_ok() || token.parse::<u64>().is_ok();
        if is_unsafe_integer_token(&token) && !fits_64_bits {
            violations.push(Violation { array: None, index: None, rule: Rule::UnsafeInteger, at: format!("(number token {token})") });
        }
    }
    violations
}

/// The number tokens of a JSON text, in order (outside strings).
fn number_tokens(body: &[u8]) -> Vec<String> {
    let mut tokens = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
        } else if b == b'"' {
            in_string = true;
            i += 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < body.len() && matches!(body[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                i += 1;
            }
            tokens.push(String::from_utf8_lossy(&body[start..i]).into_owned());
        } else {
            i += 1;
        }
    }
    tokens
}

/// Panics with every violation when the body breaks any rule.
pub fn assert_valid(body: &[u8], combined_cap: Option<usize>, context: &str) {
    let violations = check_bytes(body, combined_cap);
    if !violations.is_empty() {
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        panic!(
            "Braze body breaks the rules ({context}):\n  {}\nbody: {}",
            list.join("\n  "),
            String::from_utf8_lossy(body).chars().take(4000).collect::<String>()
        );
    }
}

/// Checks a parsed body. Integers past 64 bits are doubles in a `Value`: only
/// [`check_bytes`] sees those as written.
pub fn check_body(body: &Value, combined_cap: Option<usize>) -> Vec<Violation> {
    let mut out = Vec::new();
    let request = |rule, at: &str| Violation { array: None, index: None, rule, at: at.to_string() };
    let Value::Object(top) = body else {
        out.push(request(Rule::BodyShape, "(body)"));
        return out;
    };
    for key in top.keys() {
        if !ARRAYS.contains(&key.as_str()) {
            out.push(request(Rule::BodyShape, key));
        }
    }
    let mut total = 0;
    for name in ARRAYS {
        match top.get(name) {
            None => {}
            Some(Value::Array(items)) => {
                total += items.len();
                if items.len() > MAX_OBJECTS_PER_ARRAY {
                    out.push(request(Rule::TooManyObjects, name));
                }
            }
            Some(_) => out.push(request(Rule::BodyShape, name)),
        }
    }
    if combined_cap.is_some_and(|cap| total > cap) {
        out.push(request(Rule::TooManyObjects, "(all arrays)"));
    }
    if total == 0 {
        out.push(request(Rule::BodyShape, "(no objects)"));
    }
    if !out.is_empty() {
        return out;
    }
    for name in ARRAYS {
        let Some(Value::Array(items)) = top.get(name) else { continue };
        for (index, item) in items.iter().enumerate() {
            let mut object_issues = Vec::new();
            check_object(name, item, &mut object_issues);
            out.extend(object_issues.into_iter().map(|(rule, at)| Violation { array: Some(name), index: Some(index), rule, at }));
        }
    }
    out
}

type Issues = Vec<(Rule, String)>;

fn check_object(array: &'static str, item: &Value, issues: &mut Issues) {
    let Value::Object(object) = item else {
        issues.push((Rule::BodyShape, "(object)".into()));
        return;
    };
    check_identifier(array, object, issues);
    walk_numbers(item, "", issues);
    match array {
        "attributes" => check_attributes(object, issues),
        "events" => check_event(object, issues),
        _ => check_purchase(object, issues),
    }
}

fn non_empty_string(value: &Value) -> bool {
    value.as_str().is_some_and(|s| !s.is_empty())
}

fn check_identifier(array: &str, object: &Map<String, Value>, issues: &mut Issues) {
    let primary: Vec<&str> = PRIMARY_IDS.iter().copied().filter(|k| object.contains_key(*k)).collect();
    let contact: Vec<&str> = CONTACT_IDS.iter().copied().filter(|k| object.get(*k).is_some_and(|v| !v.is_null())).collect();
    if primary.len() > 1 {
        issues.push((Rule::Identifier, primary.join("+")));
    }
    if primary.is_empty() && contact.is_empty() {
        issues.push((Rule::Identifier, "(no identifier)".into()));
    }
    // Outside attributes objects `email`/`phone` can only be identifiers: one more is two.
    if array != "attributes" && !primary.is_empty() && !contact.is_empty() {
        issues.push((Rule::Identifier, contact.join("+")));
    }
    for key in ["external_id", "braze_id"] {
        if object.get(key).is_some_and(|v| !non_empty_string(v)) {
            issues.push((Rule::Identifier, key.into()));
        }
    }
    if let Some(alias) = object.get("user_alias") {
        let ok = alias.as_object().is_some_and(|a| {
            a.len() == 2 && a.get("alias_name").is_some_and(non_empty_string) && a.get("alias_label").is_some_and(non_empty_string)
        });
        if !ok {
            issues.push((Rule::Identifier, "user_alias".into()));
        }
    }
    if object.get("_update_existing_only").is_some_and(|v| !v.is_boolean()) {
        issues.push((Rule::Identifier, "_update_existing_only".into()));
    }
    if array == "attributes" && primary == ["user_alias"] && object.get("_update_existing_only") != Some(&Value::Bool(false)) {
        issues.push((Rule::AliasWithoutCreate, "_update_existing_only".into()));
    }
    if array != "attributes" {
        if object.get("email").is_some_and(|v| !v.as_str().is_some_and(is_email)) {
            issues.push((Rule::Email, "email".into()));
        }
        if object.get("phone").is_some_and(|v| !v.as_str().is_some_and(is_e164)) {
            issues.push((Rule::Phone, "phone".into()));
        }
    }
}

/// Every number anywhere in the object: no integer token beyond 2^53, nothing beyond a double.
fn walk_numbers(value: &Value, at: &str, issues: &mut Issues) {
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            if is_unsafe_integer_token(&text) {
                issues.push((Rule::UnsafeInteger, at.into()));
            }
            if !text.parse::<f64>().is_ok_and(f64::is_finite) {
                issues.push((Rule::NumberOutOfRange, at.into()));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_numbers(item, &format!("{at}[{i}]"), issues);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                walk_numbers(v, &join(at, k), issues);
            }
        }
        _ => {}
    }
}

/// `-?digits` (no fraction, no exponent) with a magnitude over 2^53 - 1.
pub fn is_unsafe_integer_token(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits = digits.trim_start_matches('0');
    match digits.len().cmp(&MAX_SAFE_INTEGER_DIGITS.len()) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => digits > MAX_SAFE_INTEGER_DIGITS,
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() { key.to_string() } else { format!("{at}.{key}") }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// A key of a property, of a nested object, or an attribute name.
fn key_problem(key: &str) -> bool {
    key.is_empty() || key.starts_with('$') || chars(key) > MAX_CHARS
}

/// A custom value (property value or custom attribute value) at any depth: strings at most
/// 255 characters, object keys valid.
fn check_nested(value: &Value, at: &str, issues: &mut Issues) {
    match value {
        Value::String(s) if chars(s) > MAX_CHARS => issues.push((Rule::StringTooLong, at.into())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_nested(item, &format!("{at}[{i}]"), issues);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let path = join(at, k);
                if key_problem(k) {
                    issues.push((Rule::Key, path.clone()));
                }
                check_nested(v, &path, issues);
            }
        }
        _ => {}
    }
}

fn check_attributes(object: &Map<String, Value>, issues: &mut Issues) {
    for (key, value) in object {
        if matches!(key.as_str(), "external_id" | "user_alias" | "braze_id" | "_update_existing_only") {
            continue;
        }
        if key_problem(key) {
            issues.push((Rule::AttributeName, key.clone()));
            continue;
        }
        if value.is_null() && is_standard_attribute(key) {
            continue; // null unsets
        }
        let bad = |rule: Rule, issues: &mut Issues| issues.push((rule, key.clone()));
        match key.as_str() {
            "first_name" | "last_name" | "home_city" => {
                if value.as_str().is_none_or(|s| chars(s) > MAX_CHARS) {
                    bad(Rule::StandardAttribute, issues);
                }
            }
            "email" => {
                if !value.as_str().is_some_and(is_email) {
                    bad(Rule::Email, issues);
                }
            }
            "phone" => {
                if !value.as_str().is_some_and(is_e164) {
                    bad(Rule::Phone, issues);
                }
            }
            "country" => {
                if !value.as_str().is_some_and(is_country) {
                    bad(Rule::Country, issues);
                }
            }
            "language" => {
                if !value.as_str().is_some_and(|s| LANGUAGES.split_whitespace().any(|c| c == s)) {
                    bad(Rule::StandardAttribute, issues);
                }
            }
            "dob" => {
                if !value.as_str().is_some_and(is_date) {
                    bad(Rule::StandardAttribute, issues);
                }
            }
            "gender" => {
                if !value.as_str().is_some_and(|s| ["m", "f", "o", "n", "p", "u"].contains(&s.to_lowercase().as_str())) {
                    bad(Rule::StandardAttribute, issues);
                }
            }
            "time_zone" => {
                if !value.as_str().is_some_and(looks_like_time_zone) {
                    bad(Rule::StandardAttribute, issues);
                }
            }
            "email_subscribe" | "push_subscribe" => {
                if !value.as_str().is_some_and(|s| ["opted_in", "subscribed", "unsubscribed"].contains(&s)) {
                    bad(Rule::SubscribeState, issues);
                }
            }
            "subscription_groups" => {
                if !is_subscription_groups(value) {
                    bad(Rule::SubscriptionGroups, issues);
                }
            }
            _ => check_custom_attribute(key, value, issues),
        }
    }
}

fn is_standard_attribute(key: &str) -> bool {
    [
        "first_name", "last_name", "home_city", "email", "phone", "country", "language", "dob", "gender", "time_zone",
        "email_subscribe", "push_subscribe", "subscription_groups",
    ]
    .contains(&key)
}

fn is_subscription_groups(value: &Value) -> bool {
    let Value::Array(groups) = value else { return false };
    groups.iter().all(|group| {
        let Value::Object(g) = group else { return false };
        let known = g.keys().all(|k| ["subscription_group_id", "subscription_state", "use_double_opt_in_logic"].contains(&k.as_str()));
        known
            && g.get("subscription_group_id").is_some_and(non_empty_string)
            && g.get("subscription_state").and_then(Value::as_str).is_some_and(|s| s == "subscribed" || s == "unsubscribed")
            && g.get("use_double_opt_in_logic").is_none_or(Value::is_boolean)
    })
}

fn check_custom_attribute(key: &str, value: &Value, issues: &mut Issues) {
    if let Value::Object(map) = value {
        if map.contains_key("inc") {
            if map.len() != 1 {
                issues.push((Rule::AttributeOperation, key.into()));
            }
            if !map["inc"].as_f64().is_some_and(|f| f.fract() == 0.0) || !map["inc"].is_number() {
                issues.push((Rule::AttributeOperation, format!("{key}.inc")));
            }
            return;
        }
        if !map.is_empty() && map.keys().all(|k| k == "add" || k == "remove") {
            for (op, items) in map {
                if items.is_array() {
                    check_nested(items, &format!("{key}.{op}"), issues);
                } else {
                    issues.push((Rule::AttributeOperation, format!("{key}.{op}")));
                }
            }
            return;
        }
    }
    check_nested(value, key, issues);
}

fn check_event(object: &Map<String, Value>, issues: &mut Issues) {
    unknown_fields(object, &EVENT_FIELDS, issues);
    match object.get("name") {
        Some(Value::String(name)) if !name.is_empty() && chars(name) <= MAX_CHARS => {}
        _ => issues.push((Rule::EventName, "name".into())),
    }
    check_time(object, issues);
    check_app_id(object, issues);
    check_properties(object, issues);
}

fn check_purchase(object: &Map<String, Value>, issues: &mut Issues) {
    unknown_fields(object, &PURCHASE_FIELDS, issues);
    match object.get("product_id") {
        Some(Value::String(id)) if !id.is_empty() && chars(id) <= MAX_CHARS => {}
        _ => issues.push((Rule::ProductId, "product_id".into())),
    }
    if !object.get("currency").and_then(Value::as_str).is_some_and(is_currency) {
        issues.push((Rule::Currency, "currency".into()));
    }
    if !object.get("price").and_then(Value::as_f64).is_some_and(f64::is_finite) {
        issues.push((Rule::Price, "price".into()));
    }
    if let Some(quantity) = object.get("quantity") {
        let ok = quantity.as_f64().is_some_and(|q| q.fract() == 0.0 && (1.0..=100.0).contains(&q));
        if !ok {
            issues.push((Rule::Quantity, "quantity".into()));
        }
    }
    check_time(object, issues);
    check_app_id(object, issues);
    check_properties(object, issues);
}

fn unknown_fields(object: &Map<String, Value>, allowed: &[&str], issues: &mut Issues) {
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            issues.push((Rule::UnknownField, key.clone()));
        }
    }
}

fn check_app_id(object: &Map<String, Value>, issues: &mut Issues) {
    if object.get("app_id").is_some_and(|v| !v.is_string()) {
        issues.push((Rule::AppId, "app_id".into()));
    }
}

fn check_time(object: &Map<String, Value>, issues: &mut Issues) {
    if !object.get("time").and_then(Value::as_str).is_some_and(is_iso_date_time) {
        issues.push((Rule::Time, "time".into()));
    }
}

fn check_properties(object: &Map<String, Value>, issues: &mut Issues) {
    let Some(properties) = object.get("properties") else { return };
    let Value::Object(map) = properties else {
        issues.push((Rule::PropertiesShape, "properties".into()));
        return;
    };
    for (key, value) in map {
        let at = format!("properties.{key}");
        if key_problem(key) {
            issues.push((Rule::Key, at.clone()));
        } else if key == "time" || key == "event_name" {
            issues.push((Rule::ReservedKey, at.clone()));
        }
        check_nested(value, &at, issues);
    }
    let bytes = serde_json::to_vec(properties).map_or(usize::MAX, |b| b.len());
    if bytes >= MAX_PROPERTIES_BYTES {
        issues.push((Rule::PropertiesTooLarge, format!("properties ({bytes} bytes)")));
    }
}

// ---------------------------------------------------------------------------------------
// Formats.

/// Local part of printable ASCII specials, `@`, then at least two dot-separated DNS labels.
pub fn is_email(s: &str) -> bool {
    if s.len() > 254 {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else { return false };
    let local_ok = !local.is_empty() && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        let b = l.as_bytes();
        (1..=63).contains(&b.len())
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    local_ok && labels.len() >= 2 && labels.iter().all(label_ok)
}

/// `+`, a non-zero digit, then 6 to 14 more digits.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else { return false };
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn valid_day(year: u32, month: u32, day: u32) -> bool {
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// `n` ASCII digits at the start of `s`, as a number, and the rest.
fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

/// `YYYY-MM-DD` naming a real day.
pub fn is_date(s: &str) -> bool {
    parse_date(s).is_some_and(|rest| rest.is_empty())
}

fn parse_date(s: &str) -> Option<&str> {
    let (year, s) = digits(s, 4)?;
    let s = s.strip_prefix('-')?;
    let (month, s) = digits(s, 2)?;
    let s = s.strip_prefix('-')?;
    let (day, s) = digits(s, 2)?;
    valid_day(year, month, day).then_some(s)
}

/// ISO 8601 extended date-time with seconds and a zone:
/// `YYYY-MM-DDTHH:MM:SS[.fraction]` then `Z` or `±HH:MM`. No leap second (`:60`).
pub fn is_iso_date_time(s: &str) -> bool {
    let time = || -> Option<()> {
        let s = parse_date(s)?.strip_prefix('T')?;
        let (hour, s) = digits(s, 2)?;
        let s = s.strip_prefix(':')?;
        let (minute, s) = digits(s, 2)?;
        let s = s.strip_prefix(':')?;
        let (second, mut s) = digits(s, 2)?;
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        if let Some(rest) = s.strip_prefix('.') {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            if !(1..=9).contains(&n) {
                return None;
            }
            s = &rest[n..];
        }
        if s == "Z" {
            return Some(());
        }
        let s = s.strip_prefix('+').or_else(|| s.strip_prefix('-'))?;
        let (oh, s) = digits(s, 2)?;
        let s = s.strip_prefix(':')?;
        let (om, s) = digits(s, 2)?;
        (s.is_empty() && oh <= 23 && om <= 59).then_some(())
    };
    time().is_some()
}

/// A plausible IANA zone name (`UTC`, `Europe/Paris`, `America/Argentina/Buenos_Aires`).
fn looks_like_time_zone(s: &str) -> bool {
    s == "UTC"
        || (s.contains('/')
            && s.split('/').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))))
}

pub fn is_country(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) && COUNTRIES.split_whitespace().any(|c| c == s)
}

pub fn is_currency(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) && CURRENCIES.split_whitespace().any(|c| c == s)
}

/// ISO 3166-1 alpha-2, the officially assigned codes only (user-assigned ones such as `XK`
/// are not ISO 3166-1 codes).
pub const COUNTRIES: &str = "
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// ISO 4217 codes of currencies in circulation: no fund codes (BOV, CLF, USN, ...), no
/// precious metals, SDR or bond units (XAU, XDR, XBA, ...), no test or "no currency" codes
/// (XTS, XXX), no withdrawn currencies (HRK, ZWL, ...): none of them is a price paid.
pub const CURRENCIES: &str = "
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF
XPF YER ZAR ZMW ZWG";

/// ISO 639-1 two-letter language codes.
const LANGUAGES: &str = "
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb
lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om
or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";
