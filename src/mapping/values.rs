//! The named transforms a configured attribute can apply to its source value.

use std::collections::HashMap;
use std::sync::OnceLock;

use celes::LookupTable;

use serde_json::{json, Value};

use crate::braze::rules::MAX_STRING_CHARS;
use crate::config::Transform;
use crate::extole::parse_event_time;

use super::phone::to_e164;

/// Applies `transform` to a source value. `None` means the value cannot be sent to Braze as
/// this attribute and is dropped (never sent half-valid).
pub fn apply(transform: Transform, value: &Value, country: Option<&str>) -> Option<Value> {
    let text = || scalar_text(value);
    match transform {
        Transform::Trim => text().and_then(fit_string).map(Value::String),
        Transform::Lowercase => text().map(|t| t.to_ascii_lowercase()).and_then(fit_string).map(Value::String),
        Transform::Email => text().and_then(|t| normalise_email(&t)).map(Value::String),
        Transform::Phone => text().and_then(|t| to_e164(&t, country)).map(Value::String),
        Transform::Country => text().and_then(|t| country_alpha2(&t)).map(|c| Value::String(c.into())),
        Transform::ArrayAdd => text().map(|t| t.to_ascii_lowercase()).and_then(fit_string).map(|t| json!({ "add": [t] })),
        Transform::Number => to_number(value),
        Transform::Boolean => to_boolean(value).map(Value::Bool),
        Transform::Date => parse_event_time(value).map(|t| Value::String(crate::extole::format_braze_time(&t))),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(crate::json::number_text(n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Braze refuses strings over 255 characters; a clipped name or link would be wrong data.
/// Control characters are dropped first.
fn fit_string(text: String) -> Option<String> {
    let text: String = if text.chars().any(char::is_control) { text.chars().filter(|c| !c.is_control()).collect() } else { text };
    (!text.is_empty() && text.chars().count() <= MAX_STRING_CHARS).then_some(text)
}

/// Trimmed, lowercased, and plausibly deliverable: one `@`, a sane local part, and a domain
/// of at least two labels with an alphabetic top-level label.
pub fn normalise_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_ascii_lowercase();
    if email.len() > 254 {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    let local_ok = (1..=64).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let labels_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    let tld_ok = labels.last().is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    (local_ok && labels_ok && tld_ok).then_some(email)
}

/// ISO 3166-1 alpha-2 from an alpha-2 or alpha-3 code or an English name or alias.
pub fn country_alpha2(raw: &str) -> Option<&'static str> {
    let key = country_key(raw);
    // Numeric codes are too easy to confuse with other fields (zip codes, ids).
    if key.is_empty() || key.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // celes also knows Kosovo as XK, a user-assigned code outside ISO 3166-1 that Braze
    // would refuse (with the whole attributes object).
    country_index().get(&key).copied().filter(|code| *code != "XK")
}

/// Lookup key of a country code, name or alias: its ASCII letters and digits, lowercased, and
/// any other character outside ASCII but the Latin-1 and general punctuation blocks (spaces,
/// dashes, quotes). Those letters are kept as they are (celes' names are ASCII), so that a
/// name written in another language never shrinks into some other country's code (`Çin` is
/// not `IN`), while `Guinea–Bissau` with an en dash is still Guinea-Bissau.
fn country_key(text: &str) -> String {
    let punctuation = |c: char| matches!(c, '\u{80}'..='\u{BF}' | '\u{2000}'..='\u{206F}');
    text.chars().filter(|&c| c.is_ascii_alphanumeric() || !(c.is_ascii() || punctuation(c))).map(|c| c.to_ascii_lowercase()).collect()
}

/// Alpha-2 by [`country_key`] of every code, official name and alias in celes' country
/// list, built once per isolate. (`celes::Country::from_str` would do the same lookup, but
/// its static map holds a whole `Country` per key: 80 KB of the Worker's WebAssembly.)
fn country_index() -> &'static HashMap<String, &'static str> {
    static COUNTRIES: [celes::Country; 250] = celes::Country::get_countries();
    static INDEX: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = HashMap::with_capacity(1024);
        // Codes and official names first, so that an alias never takes their key: "Samoa"
        // is Samoa (WS), not American Samoa, whose alias it also is.
        for country in &COUNTRIES {
            for key in [country.alpha2, country.alpha3, country.long_name] {
                index.entry(country_key(key)).or_insert(country.alpha2);
            }
        }
        for country in &COUNTRIES {
            for alias in country.aliases.iter() {
                index.entry(country_key(alias)).or_insert(country.alpha2);
            }
        }
        index
    })
}

/// Integers from 2^53 on cannot be a Braze number exactly (it reads them as doubles).
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A finite number Braze will read as sent: integers as integers, up to 2^53.
fn to_number(value: &Value) -> Option<Value> {
    let number: f64 = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    if !number.is_finite() || (number.fract() == 0.0 && number.abs() > MAX_EXACT_INTEGER) {
        return None;
    }
    if number.fract() == 0.0 {
        return Some(json!(number as i64));
    }
    serde_json::Number::from_f64(number).map(Value::Number)
}

fn to_boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().and_then(|i| match i {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Some(true),
            "false" | "no" | "n" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An ISO 4217 code of a currency in circulation: not a fund, metal, test or withdrawn code
/// (`XTS`, `XAU`, `BOV`, `HRK`), which Braze would refuse or misread.
pub fn circulating_currency(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    let currency = iso_currency::Currency::from_code(&code)?;
    currency.flags().is_empty().then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(normalise_email(" Omar.Haddad@Example.com ").as_deref(), Some("omar.haddad@example.com"));
        assert_eq!(normalise_email("a+tag@sub.example.co.uk").as_deref(), Some("a+tag@sub.example.co.uk"));
        for bad in ["", "plain", "a@b", "a@@b.com", "a b@c.com", ".a@b.com", "a..b@c.com", "a@-b.com", "a@b.c0m", "a@b..com", "\"q\"@b.com"] {
            assert_eq!(normalise_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn countries() {
        for (raw, code) in [("US", "US"), ("us", "US"), ("USA", "US"), ("United States", "US"), ("united states of america", "US"), ("DEU", "DE"), ("Germany", "DE"), ("gb", "GB")] {
            assert_eq!(country_alpha2(raw), Some(code), "{raw}");
        }
        for bad in ["", "840", "Atlantis", "XX", "Kosovo", "XK", "XKX"] {
            assert_eq!(country_alpha2(bad), None, "{bad}");
        }
    }

    /// The index answers what `celes::Country::from_str` answers for every code, name and
    /// alias in celes' list (where `from_str` knows the key at all: it lacks a few of the
    /// list's own names, such as "Turkiye" and "East Timor", which the index has).
    #[test]
    fn names_in_other_languages_never_shrink_into_another_code() {
        for name in ["Çin", "Čad", "Çad", "Čína", "Mısır", "Perú"] {
            assert_eq!(country_alpha2(name), None, "{name}");
        }
        assert_eq!(country_alpha2(" united-kingdom "), Some("GB"));
        assert_eq!(country_alpha2("Guinea\u{2013}Bissau"), Some("GW"));
    }

    #[test]
    fn lowercase_is_ascii_only_as_documented() {
        let out = apply(Transform::Lowercase, &json!("ÉLITE Tier"), None);
        assert_eq!(out, Some(json!("Élite tier")));
        assert_eq!(apply(Transform::Trim, &json!(1e3), None), Some(json!("1000")));
    }

    #[test]
    fn country_index_agrees_with_celes_from_str() {
        use std::str::FromStr;
        let mut checked = 0;
        // Kosovo (XK) is deliberately refused: its code is not ISO 3166-1.
        for country in celes::Country::get_countries().into_iter().filter(|c| c.alpha2 != "XK") {
            let names = [country.alpha2, country.alpha3, country.long_name].into_iter().chain(country.aliases.iter().copied());
            for name in names {
                let key = country_key(name);
                assert!(country_alpha2(name).is_some(), "{name}");
                if let Ok(expected) = celes::Country::from_str(&key) {
                    assert_eq!(country_alpha2(name), Some(expected.alpha2), "{name}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 800, "{checked}");
        assert_eq!(country_alpha2("Samoa"), Some("WS"));
        assert_eq!(country_alpha2("American Samoa"), Some("AS"));
    }

    #[test]
    fn transforms() {
        assert_eq!(apply(Transform::ArrayAdd, &json!("ADVOCATE"), None), Some(json!({"add": ["advocate"]})));
        assert_eq!(apply(Transform::Trim, &json!("x".repeat(256)), None), None);
        assert_eq!(apply(Transform::Number, &json!("129.90"), None), Some(json!(129.9)));
        assert_eq!(apply(Transform::Number, &json!("abc"), None), None);
        assert_eq!(apply(Transform::Number, &json!("42"), None), Some(json!(42)));
        let huge: Value = serde_json::from_str("12345678901234567890").unwrap();
        assert_eq!(apply(Transform::Number, &huge, None), None, "past 2^53 a number cannot be sent exactly");
        assert_eq!(apply(Transform::Boolean, &json!("Yes"), None), Some(json!(true)));
        assert_eq!(apply(Transform::Date, &json!("2026-11-22"), None), Some(json!("2026-11-22T00:00:00.000Z")));
        assert_eq!(apply(Transform::Phone, &json!("(617) 555-0142"), Some("US")), Some(json!("+16175550142")));
        assert_eq!(apply(Transform::Trim, &json!({"a": 1}), None), None);
    }

    #[test]
    fn currencies_in_circulation_only() {
        assert_eq!(circulating_currency(" eur ").as_deref(), Some("EUR"));
        for bad in ["XTS", "XAU", "BOV", "HRK", "ZWL", "XXX", "EURO", ""] {
            assert_eq!(circulating_currency(bad), None, "{bad}");
        }
    }
}
