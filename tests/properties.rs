//! Property tests: arbitrary Extole-like events through the relay's parser and translation,
//! every resulting Braze body checked against Braze's rules by an independent oracle
//! (`tests/support/braze_oracle.rs`), itself cross-checked against the Braze stand-in's
//! validator (`tests/braze-standin/rules.mjs`, run once in `node`).
//!
//! Case counts are kept so the whole file runs in a few seconds; `PROPTEST_CASES=<n>` runs
//! every property with `n` cases instead.

#[path = "support/braze_oracle.rs"]
mod braze_oracle;
#[path = "support/fuzz_logic.rs"]
mod fuzz_logic;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::Write;

use base64::Engine;
use braze_oracle::Rule;
use extole_braze_relay::authenticate::{authenticate, sign_hs256, WebhookKeys, SIGNATURE_HEADER};
use extole_braze_relay::braze::{EventObjects, RequestCaps};
use extole_braze_relay::config::AuthScheme;
use extole_braze_relay::extole::{id_text, parse_body, scalar_to_string, ExtoleEvent, ParseLimits, Person};
use extole_braze_relay::mapping::translate;
use fuzz_logic::{configs, received_at, AuthCase};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestError, TestRunner};
use serde_json::{json, Map, Number, Value};

/// Cases per property unless `PROPTEST_CASES` says otherwise.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn runner(default_cases: u32) -> TestRunner {
    TestRunner::new(Config { cases: cases(default_cases), failure_persistence: None, ..Config::default() })
}

/// Runs `test` over `strategy`; on failure, panics with the shrunk input.
fn check<S: Strategy>(default_cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    match runner(default_cases).run(&strategy, test) {
        Ok(()) => {}
        Err(TestError::Fail(reason, input)) => panic!("property failed: {reason}\nshrunk input: {input:#?}"),
        Err(TestError::Abort(reason)) => panic!("property aborted: {reason}"),
    }
}

// ---------------------------------------------------------------------------------------
// Generators.

fn odd_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => select(('a'..='z').chain('A'..='Z').chain('0'..='9').collect::<Vec<_>>()),
        2 => select(vec![' ', '-', '_', '.', '@', '+', '$', '/', '"', '\\', '\'']),
        2 => select(vec!['\0', '\u{1}', '\t', '\n', '\r', '\u{1b}', '\u{1f}', '\u{7f}', '\u{85}', '\u{9f}']),
        2 => select(vec!['é', 'İ', 'ß', '\u{212a}', '😀', '\u{200b}', '\u{2028}', '\u{fe0f}', '中', 'ǅ', '\u{301}', '\u{feff}', '１']),
        1 => any::<char>(),
    ]
}

fn short_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(odd_char(), 0..12).prop_map(|c| c.into_iter().collect())
}

/// At and around Braze's 255-character limit, and far past it.
fn long_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (odd_char(), 250..=300usize).prop_map(|(c, n)| c.to_string().repeat(n)),
        proptest::collection::vec(odd_char(), 250..400).prop_map(|c| c.into_iter().collect()),
        (short_text(), 1..200usize).prop_map(|(s, n)| s.repeat(n)),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![4 => short_text(), 1 => long_text()]
}

fn number() -> impl Strategy<Value = Value> {
    fn literal(text: String) -> Value {
        Value::Number(serde_json::from_str::<Number>(&text).expect("a JSON number literal"))
    }
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-2.0e6..2.0e6f64).prop_map(|f| json!(f)),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        "-?[1-9][0-9]{16,40}".prop_map(literal),
        select(vec![
            "9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993", "18446744073709551616",
            "12345678901234567890123", "1e20", "1e-400", "9007199254740993.0", "129.90", "0.0", "-0",
            "1.5e300", "0",
        ])
        .prop_map(|t| literal(t.to_string())),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => number(),
        5 => text().prop_map(Value::String),
    ]
}

/// Property keys: the reserved, forbidden and edge-case ones, and arbitrary text.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec![
            "time", "event_name", "$x", "$", "", " ", "extole_time", "extole_event_name", "event_id", "extole_properties_truncated",
            "order_id", "person_id", "id", "x_id", "cart_value", "price", "order_total", "currency", "sku", "ltv", "customer",
            "email", "phone", "userId", "partner_user_id", "a.b", "__proto__", "constructor",
        ])
        .prop_map(str::to_string),
        1 => select(vec![254usize, 255, 256, 300]).prop_map(|n| "k".repeat(n)),
        1 => Just("é".repeat(256)),
        4 => short_text(),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6).prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A data map: a few arbitrary entries, sometimes hundreds of long strings (past 50 KB).
fn data_map() -> impl Strategy<Value = Map<String, Value>> {
    prop_oneof![
        6 => proptest::collection::vec((key(), value()), 0..8).prop_map(|e| e.into_iter().collect()),
        1 => (100..260usize, 200..300usize, any::<bool>()).prop_map(|(count, len, nested)| {
            (0..count)
                .map(|i| {
                    let s = format!("{i:03}-{}", "v".repeat(len));
                    (format!("field_{i}"), if nested && i % 3 == 0 { json!({"inner": [s]}) } else { json!(s) })
                })
                .collect()
        }),
    ]
}

fn of<T: Into<Value> + Clone + std::fmt::Debug + 'static>(values: Vec<T>) -> impl Strategy<Value = Value> {
    select(values).prop_map(Into::into)
}

/// Values for person fields: the plausible, the odd and the wrong type.
fn person_value(field: &'static str) -> BoxedStrategy<Value> {
    let typical: BoxedStrategy<Value> = match field {
        "email" | "recipient_email" | "email_address" | "alt_email" => of(vec![
            "a@b.co", " Omar.Haddad@Example.com ", "not-an-email", "a@b", "x@y.io", "ünï@example.com", "a..b@c.com",
            "\u{212a}@example.com", "a@b.c0m", "a@-b.com", "\"q\"@b.com", "a@b.co\n", "",
        ])
        .boxed(),
        "phone_number" | "phone" | "alt_phone" => of(vec![
            "+1 (617) 555-0142", "(617) 555-0142", "020 7946 0958", "0044 20 7946 0958", "555-0142 ext 4", "+0 123 4567",
            "+1234567890123456", "++1 617 555 0142", "１２３４５６７８", "06 1234 5678", "+44 20 7946 0958", "0",
        ])
        .boxed(),
        "country" | "country_name" => of(vec![
            "US", "us", "USA", "United States", "Kosovo", "XK", "XKX", "DEU", "Germany", "gb", "UK", "Atlantis", "840", "ZZ",
            "Côte d'Ivoire", "Türkiye", "Italy", "FR", "",
        ])
        .boxed(),
        "funnel" => of(vec!["advocate", "FRIEND", "Advocate", "İSTANBUL"]).boxed(),
        "channel" => of(vec!["EMAIL", "email", "sms", "SMS", "push", ""]).boxed(),
        "currency" => of(vec!["USD", "usd", "EUR", "gbp", "XTS", "XAU", "BOV", "HRK", "ZWL", "XXX", "US", "€", ""]).boxed(),
        "vip" => of(vec![json!("yes"), json!("N"), json!(1), json!(2), json!(true), json!("maybe")]).boxed(),
        "signup_date" => time_value().boxed(),
        "price" | "cart_value" | "order_total" | "ltv" => prop_oneof![
            2 => number(),
            1 => of(vec!["129.90", "1e400", "-5", "NaN", "inf", "12345678901234567890123", " 42 ", "abc"]),
        ]
        .boxed(),
        _ => of(vec![
            json!("cust-20871"), json!(6816411215104951917u64), json!("  "), json!("a\u{0}b"), json!("x".repeat(600)),
            json!(true), json!({"id": 1}), json!(1.5), json!(-3), json!("Ann"), json!("refer.example-shop.com/dana7"),
        ])
        .boxed(),
    };
    prop_oneof![6 => typical, 2 => text().prop_map(Value::String), 1 => value()].boxed()
}

const PERSON_FIELDS: [&str; 31] = [
    "partner_user_id", "userId", "user_id", "person_id", "email", "recipient_email", "email_address", "phone_number", "phone",
    "first_name", "firstName", "last_name", "lastName", "city", "state", "country", "share_link", "funnel", "channel",
    "currency", "price", "cart_value", "order_total", "vip", "tier", "signup_date", "badge", "nickname", "alt_phone",
    "alt_email", "country_name",
];

/// Some person fields, each at the top level, in `data` or in `properties`; most events
/// also carry a plausible identity, so that most reach the translation.
fn person() -> impl Strategy<Value = Vec<(u8, String, Value)>> {
    let field = select(PERSON_FIELDS.to_vec()).prop_flat_map(|f| (0..3u8, Just(f.to_string()), person_value(f)));
    let identity = prop_oneof![
        4 => (0..3u8, select(vec!["partner_user_id", "userId", "customer_number"]), "[a-z]{2,6}-[0-9]{1,6}")
            .prop_map(|(place, field, id)| vec![(place, field.to_string(), json!(id))]),
        2 => (0..3u8, select(vec!["email", "recipient_email"]), "[a-z]{1,8}(\\.[a-z]{1,4})?@[a-z]{1,8}\\.(com|io|co)")
            .prop_map(|(place, field, email)| vec![(place, field.to_string(), json!(email))]),
        1 => (1..3u8, "[A-Z0-9]{1,12}").prop_map(|(place, id)| vec![(place, "customer".to_string(), json!({"id": id}))]),
        1 => Just(Vec::new()),
    ];
    (identity, proptest::collection::vec(field, 0..9)).prop_map(|(mut identity, fields)| {
        identity.extend(fields);
        identity
    })
}

fn time_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => of(vec![json!("2026-11-22T18:44:31.120Z"), json!(1795373071120i64), json!("2026-11-22T19:44:31+01:00")]),
        4 => of(vec![
            json!("2026-11-22T18:44:31.120Z"), json!("2026-11-22T19:44:31.120+01:00"), json!("2026-11-22T19:44:31.120+0100"),
            json!("2026-11-22T18:44:31.120"), json!("2026-11-22 18:44:31"), json!("2026-11-22"), json!(1795373071120i64),
            json!("1795373071120"), json!(1795373071), json!("2026-06-30T23:59:60Z"), json!("2026-11-22T18:44:60Z"),
            json!("2026-11-22T23:59:60.500+01:00"), json!("1999-12-31T23:59:59Z"), json!("2100-12-31T23:59:59-01:00"),
            json!("2000-01-01T00:00:00+14:00"), json!("2026-02-29"), json!("2028-02-29T12:00:00Z"), json!("yesterday"),
            json!(-5), json!(1.5), json!("2026-11-22T18:44:31.123456789Z"), json!("2026-11-22T18:44:31,5Z"),
            json!("2026-11-22T18:44:31.1234567891Z"), json!("+002026-11-22T18:44:31Z"), json!("2026-11-22T24:00:00Z"),
            json!(""), json!(4102444800000i64), json!(946684799),
        ]),
        1 => (946684800i64..4133980799i64).prop_map(|s| json!(s)),
        1 => (0u32..=60, 0u32..=59, 0u32..=23).prop_map(|(s, m, h)| json!(format!("2027-01-01T{h:02}:{m:02}:{s:02}Z"))),
        1 => text().prop_map(Value::String),
    ]
}

const KNOWN_NAMES: [&str; 24] = [
    "advocate_code_created", "share_link_created", "Share Link Created", "SHARE-LINK-CREATED", "created share link", "shared",
    "share", "signed_up", "registered", "converted", "conversion", "purchase", "purchased", "purchase_completed", "opted_in",
    "subscribed", "opted_out", "unsubscribe", "reward_earned", "Earned Reward", "sms_opt_in", "x_sms_opt_in", "shipped",
    "Order Shipped",
];

fn event_name() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => select(KNOWN_NAMES.to_vec()).prop_map(str::to_string),
        3 => short_text(),
        1 => select(vec![240usize, 248, 249, 250, 255, 256, 300]).prop_map(|n| "n".repeat(n)),
        1 => Just("é".repeat(256)),
        1 => select(vec!["---", "_ _", " shared ", "ＳＨＡＲＥＤ", "converted\u{0}"]).prop_map(str::to_string),
        1 => long_text(),
    ]
}

fn event_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => "[a-f0-9]{20}".prop_map(Value::String),
        1 => number(),
        1 => of(vec![json!(""), json!("  "), json!("id\u{1}"), json!("i".repeat(513)), json!({"id": 1}), json!(null)]),
        1 => text().prop_map(Value::String),
    ]
}

/// One event object in one of the shapes Extole sends.
fn event_object() -> impl Strategy<Value = Value> {
    let shape = 0..5u8;
    let context = proptest::collection::vec(
        (select(vec!["program_label", "campaign_id", "client_id", "reward_id", "face_value", "sandbox", "schema_version", "$top", "time"]), value()),
        0..4,
    );
    // Fields that configs read by a dotted path (`data.ltv`), so always in `data`.
    let data_fields = proptest::collection::vec(
        select(vec!["ltv", "country_name", "sku", "currency", "customer_number"]).prop_flat_map(|f| (Just(f.to_string()), person_value(f))),
        0..3,
    );
    let parts = (shape, event_name(), event_id(), time_value(), person(), data_map(), context, data_fields);
    (parts, any::<(bool, bool, u8)>()).prop_map(
        |((shape, name, id, time, person, data, context, data_fields), (with_id, with_time, name_field))| {
            let mut root = Map::new();
            let name_key = ["type", "event_name", "event"][usize::from(name_field % 3)];
            let (time_key, scope) = match shape {
                0 => ("event_time", "data"),     // journey webhook
                1 => ("event_time", "data"),     // reward webhook
                2 => ("timestamp", "properties"), // Segment-style template
                3 => ("eventTime", "data"),      // minimal reward (no name)
                _ => ("event_time", "properties"),
            };
            if shape != 3 {
                root.insert(name_key.into(), json!(name));
            }
            if shape == 1 || shape == 3 {
                root.insert("reward_id".into(), json!("r-1"));
            }
            if with_id {
                root.insert(if shape == 2 { "eventId" } else { "event_id" }.into(), id);
            }
            if with_time {
                root.insert(time_key.into(), time);
            }
            for (k, v) in context {
                root.insert(k.into(), v);
            }
            let mut scoped = data;
            let mut other = Map::new();
            for (place, field, value) in person {
                match place {
                    0 => {
                        root.insert(field, value);
                    }
                    1 => {
                        scoped.insert(field, value);
                    }
                    _ => {
                        other.insert(field, value);
                    }
                }
            }
            root.insert(scope.into(), Value::Object(scoped));
            if !other.is_empty() {
                root.insert(if scope == "data" { "properties" } else { "data" }.into(), Value::Object(other));
            }
            if !data_fields.is_empty() {
                let data = root.entry("data").or_insert_with(|| json!({}));
                if let Value::Object(data) = data {
                    data.extend(data_fields);
                }
            }
            Value::Object(root)
        },
    )
}

/// A webhook body: one event, or a JSON array of events.
fn webhook_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => event_object(),
        1 => proptest::collection::vec(event_object(), 1..5).prop_map(Value::Array),
    ]
    .prop_map(|v| serde_json::to_vec(&v).expect("serialisable"))
}

/// Shows a body as text in a failure report.
#[derive(Clone)]
struct Body(Vec<u8>);

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", String::from_utf8_lossy(&self.0))
    }
}

// ---------------------------------------------------------------------------------------
// Properties: translation.

/// Parses and translates `raw` under `config_label`'s config; every event's Braze objects,
/// and every packed request, must obey the rules (known, reported bugs aside).
fn translated_bodies_obey_the_rules(config_label: &str, default_cases: u32) {
    let (_, config) = configs().iter().find(|(label, _)| *label == config_label).expect("known config");
    let accepted = Cell::new(0usize);
    let translated = Cell::new(0usize);
    check(default_cases, webhook_body().prop_map(Body), |Body(raw)| {
        let Ok(events) = parse_body(&raw, ParseLimits::default()) else { return Ok(()) };
        accepted.set(accepted.get() + events.len());
        let mut objects = Vec::new();
        for event in &events {
            let Ok(translation) = translate(event, config, received_at()) else { continue };
            if translation.braze_name.is_none() {
                continue;
            }
            translated.set(translated.get() + 1);
            let single = fuzz_logic::single_body(&translation.objects);
            if let Some(problem) = fuzz_logic::braze_body_problems(&single, None, false) {
                return Err(TestCaseError::fail(format!("config {config_label}, event {}: {problem}", event.index)));
            }
            objects.push(translation.objects);
        }
        let caps = RequestCaps::for_settings(&config.braze);
        for request in fuzz_logic::check_pack(&objects, caps) {
            if let Some(problem) = fuzz_logic::braze_body_problems(&request, caps.combined, false) {
                return Err(TestCaseError::fail(format!("config {config_label}, packed request: {problem}")));
            }
        }
        Ok(())
    });
    // The generator must reach the translation, not stop at the parser.
    let n = cases(default_cases) as usize;
    assert!(translated.get() * 5 >= n, "only {} of {} accepted events translated in {n} cases", translated.get(), accepted.get());
}

#[test]
fn braze_body_obeys_the_rules_with_the_default_config() {
    translated_bodies_obey_the_rules("default", 96);
}

#[test]
fn braze_body_obeys_the_rules_with_the_extole_native_preset() {
    translated_bodies_obey_the_rules("extole_native", 64);
}

#[test]
fn braze_body_obeys_the_rules_with_the_retailer_config() {
    translated_bodies_obey_the_rules("retailer", 64);
}

#[test]
fn braze_body_obeys_the_rules_with_every_transform() {
    translated_bodies_obey_the_rules("transforms", 64);
}

// ---------------------------------------------------------------------------------------
// Properties: parsing.

/// A JSON body cut, spliced or with bytes changed.
fn damaged_body() -> impl Strategy<Value = Vec<u8>> {
    (webhook_body(), proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6), any::<prop::sample::Index>())
        .prop_map(|(mut body, edits, cut)| {
            for (at, byte, kind) in edits {
                let i = at.index(body.len().max(1)).min(body.len());
                match kind {
                    0 if i < body.len() => body[i] = byte,
                    1 => body.insert(i, byte),
                    _ if i < body.len() => {
                        body.remove(i);
                    }
                    _ => {}
                }
            }
            if cut.index(4) == 0 {
                body.truncate(cut.index(body.len() + 1));
            }
            body
        })
}

#[test]
fn parse_never_panics_on_arbitrary_bytes() {
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        damaged_body(),
        (1..200usize, select(vec!["[", "{\"a\":", "[{\"type\":\"x\"},", "\"\\u", "-"])).prop_map(|(n, s)| s.repeat(n).into_bytes()),
    ];
    check(128, bytes.prop_map(Body), |Body(raw)| {
        fuzz_logic::parse_target(&raw);
        Ok(())
    });
}

/// The person fields as the parser documents them, found the slow, obvious way: each name
/// of a field looked up in turn (`ExtoleEvent::lookup`: the top level, then `data`, then
/// `properties`), the first usable value winning. The parser finds them in one pass.
fn person_by_lookup(event: &ExtoleEvent) -> Person {
    let id = |names: &[&str]| names.iter().find_map(|name| event.lookup(name).and_then(id_text));
    let text = |names: &[&str]| names.iter().find_map(|name| event.lookup(name).and_then(scalar_to_string));
    Person {
        partner_user_id: id(&["partner_user_id"]),
        user_id: id(&["userId", "user_id"]),
        person_id: id(&["person_id"]),
        email: text(&["email", "recipient_email", "email_address"]),
        phone: text(&["phone_number", "phone"]),
        first_name: text(&["first_name", "firstName"]),
        last_name: text(&["last_name", "lastName"]),
        city: text(&["city"]),
        state: text(&["state"]),
        country: text(&["country"]),
        share_link: text(&["share_link"]),
        funnel: text(&["funnel"]),
        channel: text(&["channel"]),
    }
}

#[test]
fn person_fields_are_the_first_usable_value_of_their_names() {
    check(256, event_object(), |event| {
        let body = serde_json::to_vec(&event).expect("serialisable");
        let Ok(events) = parse_body(&body, ParseLimits::default()) else { return Ok(()) };
        for event in &events {
            prop_assert_eq!(&event.person, &person_by_lookup(event));
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Properties: authentication.

fn key_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{1,40}",
        short_text().prop_filter("no comma, not blank", |k| !k.contains(',') && !k.trim().is_empty()).prop_map(|k| k.trim().to_string()),
    ]
}

#[test]
fn authenticate_never_panics_on_arbitrary_input() {
    let case = (0..4u8, any::<u8>(), text(), proptest::option::of(text()), proptest::collection::vec(any::<u8>(), 0..256));
    check(256, case, |(selector, flags, keys, credential, body)| {
        let scheme = [AuthScheme::Hs256, AuthScheme::Bearer, AuthScheme::Basic, AuthScheme::None][usize::from(selector)];
        fuzz_logic::auth_target(&AuthCase { scheme, flags, keys, credential, body }.encode());
        Ok(())
    });
}

#[test]
fn authenticate_accepts_a_key_of_the_environment_and_nothing_else() {
    let case = (
        0..3u8,
        proptest::collection::vec(key_text(), 1..4),
        key_text(),
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<prop::sample::Index>(),
        0..7u8,
    );
    check(256, case, |(selector, keys, other_key, body, which, variant)| {
        let scheme = [AuthScheme::Hs256, AuthScheme::Bearer, AuthScheme::Basic][usize::from(selector)];
        let secret = keys.join(",");
        let key = &keys[which.index(keys.len())];
        let run = |credential: String, body: &[u8]| {
            let wanted = if scheme == AuthScheme::Hs256 { SIGNATURE_HEADER } else { "authorization" };
            authenticate(scheme, &WebhookKeys::from_secret(&secret), |name| (name == wanted).then_some(credential.as_str()), body)
        };
        let genuine = fuzz_logic::genuine_credential(scheme, key, &body);
        // Every configured key works, in the forms the contract allows.
        prop_assert!(run(genuine.clone(), &body).is_ok(), "genuine credential refused");
        if scheme == AuthScheme::Hs256 {
            prop_assert_eq!(&genuine, &sign_hs256(key, &body));
            let prefixed = format!("sha256={}", genuine.to_uppercase());
            prop_assert!(run(prefixed, &body).is_ok(), "prefixed upper-case signature refused");
        }
        let stranger = !keys.iter().any(|k| k == &other_key);
        let forged = match variant {
            // A key the environment does not have.
            0 if stranger => Some(fuzz_logic::genuine_credential(scheme, &other_key, &body)),
            // The body changed after signing (HS256 signs the body; the others do not).
            1 if scheme == AuthScheme::Hs256 => {
                let mut changed = body.clone();
                changed.push(b' ');
                Some(fuzz_logic::genuine_credential(scheme, key, &changed))
            }
            // Truncated, or with a character added.
            2 => Some(genuine.chars().take(genuine.chars().count() - 1).collect()),
            3 => Some(format!("{genuine}0")),
            // Wrong scheme word.
            4 if scheme != AuthScheme::Hs256 => Some(genuine.replacen(' ', "x ", 1)),
            // Basic without base64; Bearer with a trailing space.
            5 if scheme == AuthScheme::Basic => Some(format!("Basic {key}")).filter(|c| {
                base64::engine::general_purpose::STANDARD.decode(&c[6..]).map_or(true, |d| !keys.iter().any(|k| k.as_bytes() == d))
            }),
            5 if scheme == AuthScheme::Bearer => Some(format!("{genuine} ")),
            _ => None,
        };
        if let Some(forged) = forged {
            let stays_valid = fuzz_logic::may_accept(scheme, &fuzz_logic::keys_of(&secret), Some(&forged), &body);
            prop_assert!(stays_valid || run(forged.clone(), &body).is_err(), "accepted a forged credential {forged:?}");
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Properties: packing.

fn event_objects() -> impl Strategy<Value = EventObjects> {
    let object = |kind: &'static str| {
        proptest::option::weighted(0.7, (0..50u32, 0..1500usize)).prop_map(move |o| {
            o.map(|(user, pad)| json!({"external_id": format!("u{user}"), "kind": kind, "pad": "p".repeat(pad)}).as_object().cloned().unwrap())
        })
    };
    (object("attributes"), object("event"), proptest::option::weighted(0.2, object("purchase").prop_filter_map("some", |o| o)))
        .prop_map(|(attributes, event, purchase)| EventObjects { attributes, event, purchase })
}

#[test]
fn pack_never_exceeds_the_caps_nor_splits_an_event() {
    let caps = (1..=75usize, proptest::option::of(3..=150usize), prop_oneof![Just(1_000_000usize), 200..40_000usize])
        .prop_map(|(per_array, combined, max_bytes)| RequestCaps { per_array, combined, max_bytes });
    check(96, (proptest::collection::vec(event_objects(), 0..120), caps), |(items, caps)| {
        fuzz_logic::check_pack(&items, caps);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// The oracle itself: it must see every rule, and agree with the stand-in's validator.

fn valid_body() -> Value {
    json!({
        "attributes": [
            {"external_id": "u1", "email": "a@b.co", "phone": "+16175550142", "country": "US", "email_subscribe": "opted_in",
             "extole_funnel": {"add": ["friend"]}, "visits": {"inc": 1}, "first_name": "Ann", "nested": {"a": [1, "x"]},
             "subscription_groups": [{"subscription_group_id": "g1", "subscription_state": "subscribed"}]},
            {"user_alias": {"alias_name": "a@b.co", "alias_label": "email"}, "_update_existing_only": false},
            {"email": "c@d.io", "home_city": null}
        ],
        "events": [
            {"external_id": "u1", "name": "Converted", "time": "2026-11-22T18:44:31.120Z",
             "properties": {"event_id": "e1", "n": 9007199254740991u64, "f": 1.5, "s": "x".repeat(255), "deep": {"k": ["v"]}}},
            {"email": "a@b.co", "name": "Shared", "time": "2026-11-22T19:44:31+01:00"}
        ],
        "purchases": [
            {"external_id": "u1", "product_id": "p", "currency": "USD", "price": 12.5, "quantity": 1, "time": "2026-11-22T18:44:31Z",
             "properties": {"order_id": "SO-1"}}
        ]
    })
}

/// Each mutation breaks exactly one rule of the valid body (or, when `None`, keeps it valid).
/// A named change to a valid event, and the Braze rule it breaks, if any.
type Mutation = (&'static str, Option<Rule>, fn(&mut Value));

fn mutations() -> Vec<Mutation> {
    vec![
        ("dollar property key", Some(Rule::Key), |b| b["events"][0]["properties"]["$x"] = json!(1)),
        ("empty property key", Some(Rule::Key), |b| b["events"][0]["properties"][""] = json!(1)),
        ("256-char property key", Some(Rule::Key), |b| b["events"][0]["properties"]["k".repeat(256)] = json!(1)),
        ("255-char property key", None, |b| b["events"][0]["properties"]["k".repeat(255)] = json!(1)),
        ("nested dollar key", Some(Rule::Key), |b| b["events"][0]["properties"]["deep"]["$k"] = json!(1)),
        ("reserved time", Some(Rule::ReservedKey), |b| b["events"][0]["properties"]["time"] = json!("t")),
        ("reserved event_name", Some(Rule::ReservedKey), |b| b["events"][0]["properties"]["event_name"] = json!("n")),
        ("nested time is fine", None, |b| b["events"][0]["properties"]["deep"]["time"] = json!("t")),
        ("256-char property", Some(Rule::StringTooLong), |b| b["events"][0]["properties"]["s"] = json!("é".repeat(256))),
        ("256-char nested", Some(Rule::StringTooLong), |b| b["events"][0]["properties"]["deep"]["k"][0] = json!("x".repeat(256))),
        ("no time", Some(Rule::Time), |b| drop(b["events"][0].as_object_mut().unwrap().remove("time"))),
        ("date only", Some(Rule::Time), |b| b["events"][0]["time"] = json!("2026-11-22")),
        ("leap second", Some(Rule::Time), |b| b["events"][0]["time"] = json!("2026-06-30T23:59:60Z")),
        ("Feb 30", Some(Rule::Time), |b| b["events"][0]["time"] = json!("2026-02-30T00:00:00Z")),
        ("hour 24", Some(Rule::Time), |b| b["events"][0]["time"] = json!("2026-11-22T24:00:00Z")),
        ("no zone", Some(Rule::Time), |b| b["events"][0]["time"] = json!("2026-11-22T18:44:31")),
        ("10 fraction digits", Some(Rule::Time), |b| b["events"][0]["time"] = json!("2026-11-22T18:44:31.1234567891Z")),
        ("9 fraction digits", None, |b| b["events"][0]["time"] = json!("2026-11-22T18:44:31.123456789Z")),
        ("Feb 29 leap year", None, |b| b["events"][0]["time"] = json!("2028-02-29T00:00:00-03:30")),
        ("no name", Some(Rule::EventName), |b| drop(b["events"][0].as_object_mut().unwrap().remove("name"))),
        ("empty name", Some(Rule::EventName), |b| b["events"][0]["name"] = json!("")),
        ("256-char name", Some(Rule::EventName), |b| b["events"][0]["name"] = json!("n".repeat(256))),
        ("255-char name", None, |b| b["events"][0]["name"] = json!("ü".repeat(255))),
        ("no identifier", Some(Rule::Identifier), |b| drop(b["events"][0].as_object_mut().unwrap().remove("external_id"))),
        ("two identifiers", Some(Rule::Identifier), |b| b["events"][0]["braze_id"] = json!("b1")),
        ("id and email on an event", Some(Rule::Identifier), |b| b["events"][0]["email"] = json!("a@b.co")),
        ("empty external id", Some(Rule::Identifier), |b| b["events"][0]["external_id"] = json!("")),
        ("numeric external id", Some(Rule::Identifier), |b| b["events"][0]["external_id"] = json!(5)),
        ("alias without label", Some(Rule::Identifier), |b| b["attributes"][1]["user_alias"] = json!({"alias_name": "x"})),
        ("alias-only without create", Some(Rule::AliasWithoutCreate), |b| drop(b["attributes"][1].as_object_mut().unwrap().remove("_update_existing_only"))),
        ("bad event email", Some(Rule::Email), |b| b["events"][1]["email"] = json!("a@b")),
        ("bad attribute email", Some(Rule::Email), |b| b["attributes"][0]["email"] = json!("a b@c.com")),
        ("phone not E.164", Some(Rule::Phone), |b| b["attributes"][0]["phone"] = json!("617-555-0142")),
        ("phone too long", Some(Rule::Phone), |b| b["attributes"][0]["phone"] = json!("+1234567890123456")),
        ("lowercase country", Some(Rule::Country), |b| b["attributes"][0]["country"] = json!("us")),
        ("alpha-3 country", Some(Rule::Country), |b| b["attributes"][0]["country"] = json!("USA")),
        ("unassigned country XK", Some(Rule::Country), |b| b["attributes"][0]["country"] = json!("XK")),
        ("null country", None, |b| b["attributes"][0]["country"] = json!(null)),
        ("opted_out", Some(Rule::SubscribeState), |b| b["attributes"][0]["email_subscribe"] = json!("opted_out")),
        ("subscribed", None, |b| b["attributes"][0]["email_subscribe"] = json!("subscribed")),
        ("group state", Some(Rule::SubscriptionGroups), |b| b["attributes"][0]["subscription_groups"][0]["subscription_state"] = json!("opted_in")),
        ("dollar attribute", Some(Rule::AttributeName), |b| b["attributes"][0]["$tier"] = json!("gold")),
        ("long attribute string", Some(Rule::StringTooLong), |b| b["attributes"][0]["tier"] = json!("g".repeat(256))),
        ("long first name", Some(Rule::StandardAttribute), |b| b["attributes"][0]["first_name"] = json!("A".repeat(256))),
        ("fractional inc", Some(Rule::AttributeOperation), |b| b["attributes"][0]["visits"] = json!({"inc": 1.5})),
        ("add not array", Some(Rule::AttributeOperation), |b| b["attributes"][0]["extole_funnel"] = json!({"add": "friend"})),
        ("long added string", Some(Rule::StringTooLong), |b| b["attributes"][0]["extole_funnel"] = json!({"add": ["f".repeat(256)]})),
        ("lowercase currency", Some(Rule::Currency), |b| b["purchases"][0]["currency"] = json!("usd")),
        ("test currency XTS", Some(Rule::Currency), |b| b["purchases"][0]["currency"] = json!("XTS")),
        ("gold XAU", Some(Rule::Currency), |b| b["purchases"][0]["currency"] = json!("XAU")),
        ("EUR", None, |b| b["purchases"][0]["currency"] = json!("EUR")),
        ("string price", Some(Rule::Price), |b| b["purchases"][0]["price"] = json!("12.5")),
        ("quantity 0", Some(Rule::Quantity), |b| b["purchases"][0]["quantity"] = json!(0)),
        ("quantity 101", Some(Rule::Quantity), |b| b["purchases"][0]["quantity"] = json!(101)),
        ("quantity 1.5", Some(Rule::Quantity), |b| b["purchases"][0]["quantity"] = json!(1.5)),
        ("quantity 100", None, |b| b["purchases"][0]["quantity"] = json!(100)),
        ("empty product", Some(Rule::ProductId), |b| b["purchases"][0]["product_id"] = json!("")),
        ("long product", Some(Rule::ProductId), |b| b["purchases"][0]["product_id"] = json!("p".repeat(256))),
        ("unknown event field", Some(Rule::UnknownField), |b| b["events"][0]["colour"] = json!("red")),
        ("properties not object", Some(Rule::PropertiesShape), |b| b["events"][0]["properties"] = json!([1])),
        ("unknown top-level key", Some(Rule::BodyShape), |b| b["extra"] = json!([])),
        ("76 events", Some(Rule::TooManyObjects), |b| b["events"] = Value::Array(vec![small_event(&b["events"][0]); 76])),
        ("75 events", None, |b| b["events"] = Value::Array(vec![small_event(&b["events"][0]); 75])),
        ("properties at 50,000 bytes", Some(Rule::PropertiesTooLarge), |b| b["events"][0]["properties"] = padded_properties(50_000)),
        ("properties at 49,999 bytes", None, |b| b["events"][0]["properties"] = padded_properties(49_999)),
        ("integer past 2^53", Some(Rule::UnsafeInteger), |b| {
            b["events"][0]["properties"]["n"] = Value::Number(serde_json::from_str("9007199254740993").unwrap())
        }),
    ]
}

/// An event without its properties (copied 75 times, they would make megabytes).
fn small_event(event: &Value) -> Value {
    let mut event = event.as_object().expect("an event object").clone();
    event.remove("properties");
    Value::Object(event)
}

/// Properties of only strings, exactly `bytes` long as JSON.
fn padded_properties(bytes: usize) -> Value {
    let mut map = Map::new();
    let mut size = 2; // {}
    let mut i = 0;
    loop {
        let key = format!("p{i:04}");
        let entry = key.len() + 2 + 1 + 2 + usize::from(i > 0); // "key":"" and a comma
        let room = bytes - size;
        if room < entry + 255 + 1 + entry {
            // Last entry takes exactly the rest (at most 255 characters of value).
            let last = room - entry;
            assert!(last <= 255, "padding arithmetic");
            map.insert(key, json!("v".repeat(last)));
            break;
        }
        map.insert(key, json!("v".repeat(255)));
        size += entry + 255;
        i += 1;
    }
    let value = Value::Object(map);
    assert_eq!(serde_json::to_vec(&value).unwrap().len(), bytes);
    value
}

#[test]
fn oracle_accepts_a_valid_body_and_sees_every_rule() {
    assert!(braze_oracle::check_body(&valid_body(), None).is_empty(), "{:?}", braze_oracle::check_body(&valid_body(), None));
    assert_eq!(braze_oracle::COUNTRIES.split_whitespace().count(), 249);
    for (label, rule, mutate) in mutations() {
        let mut body = valid_body();
        mutate(&mut body);
        let bytes = serde_json::to_vec(&body).unwrap();
        let rules: BTreeSet<Rule> = braze_oracle::check_bytes(&bytes, None).into_iter().map(|v| v.rule).collect();
        assert_eq!(rules, rule.into_iter().collect(), "{label}");
    }
    let event = valid_body()["events"][0].clone();
    let caps = braze_oracle::check_body(&json!({"events": [event.clone(), event.clone(), event]}), Some(2));
    assert_eq!(caps.iter().map(|v| v.rule).collect::<Vec<_>>(), [Rule::TooManyObjects]);
}

/// What one checker says about one body: a request-level error, and which objects are invalid.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    request_error: bool,
    invalid: BTreeSet<(String, usize)>,
}

fn rust_verdict(bytes: &[u8]) -> Verdict {
    let violations: Vec<_> = braze_oracle::check_bytes(bytes, None).into_iter().filter(|v| !v.rule.needs_number_text()).collect();
    Verdict {
        request_error: violations.iter().any(|v| v.array.is_none()),
        invalid: violations.iter().filter_map(|v| Some((v.array?.to_string(), v.index?))).collect(),
    }
}

/// Bodies for the cross-check: what the relay produced from generated events (under every
/// config), each valid body also with one mutation per rule applied to one of its objects.
fn cross_check_bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    let mut runner = runner(48);
    let strategy = webhook_body();
    let mut produced = Vec::new();
    for _ in 0..cases(48) {
        let raw = strategy.new_tree(&mut runner).expect("a case").current();
        let Ok(events) = parse_body(&raw, ParseLimits::default()) else { continue };
        for (_, config) in configs() {
            for event in &events {
                if let Ok(t) = translate(event, config, received_at()) {
                    if t.objects.count() > 0 {
                        produced.push(fuzz_logic::single_body(&t.objects));
                    }
                }
            }
        }
    }
    bodies.extend(produced.iter().cloned());
    let mut valid = vec![valid_body()];
    // Small relay bodies as bases (each is copied once per mutation).
    valid.extend(produced.iter().filter(|b| b.len() < 4096).filter_map(|b| serde_json::from_slice::<Value>(b).ok()).take(40));
    for (i, base) in valid.iter().enumerate() {
        for (label, _, mutate) in mutations() {
            // Mutations address the fixed body's objects; on the relay's bodies they land
            // wherever those paths exist (indexing a missing array element panics: skip).
            let mut body = base.clone();
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mutate(&mut body))).is_ok() {
                bodies.push(serde_json::to_vec(&body).unwrap());
            } else {
                assert!(i > 0, "mutation {label} must apply to the fixed body");
            }
        }
    }
    bodies
}

#[test]
fn rust_oracle_agrees_with_the_standin_rules_mjs() {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // mutations that do not apply panic, caught above
    let bodies = cross_check_bodies();
    std::panic::set_hook(quiet);

    let dir = std::env::temp_dir().join(format!("relay-oracle-cross-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("bodies.jsonl");
    let mut file = std::fs::File::create(&input).unwrap();
    for body in &bodies {
        file.write_all(body).unwrap();
        file.write_all(b"\n").unwrap();
    }
    drop(file);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/standin_verdicts.mjs");
    let output = std::process::Command::new("node").arg(script).arg(&input).output().unwrap_or_else(|e| {
        panic!("this test needs Node.js (`node` on PATH) to run the stand-in's rules.mjs: {e}")
    });
    std::fs::remove_dir_all(&dir).ok();
    assert!(output.status.success(), "node failed: {}", String::from_utf8_lossy(&output.stderr));
    let js: Vec<Value> = String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(js.len(), bodies.len());

    let mut disagreements = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for (body, js) in bodies.iter().zip(&js) {
        let rust = rust_verdict(body);
        let theirs = Verdict {
            request_error: !js["requestError"].is_null(),
            invalid: js["invalid"].as_array().unwrap().iter().map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_u64().unwrap() as usize)).collect(),
        };
        if rust.request_error || !rust.invalid.is_empty() { invalid += 1 } else { valid += 1 }
        let agree = rust.request_error == theirs.request_error && (rust.request_error || rust.invalid == theirs.invalid);
        if !agree {
            disagreements.push(format!("rust {rust:?} vs rules.mjs {theirs:?} ({}) on {}", js["reasons"], String::from_utf8_lossy(body).chars().take(600).collect::<String>()));
        }
    }
    assert!(disagreements.is_empty(), "{} disagreements of {}:\n{}", disagreements.len(), bodies.len(), disagreements.join("\n"));
    assert!(valid >= 40 && invalid >= 500, "cross-check too thin: {valid} valid, {invalid} invalid bodies");
    eprintln!("cross-check: {} bodies ({valid} valid, {invalid} invalid), both oracles agree", bodies.len());
}

