//! The fuzz targets' logic in plain `cargo test`: every committed seed (`fuzz/seeds/<target>/`)
//! and every crash the fuzzer found (`fuzz/regressions/<target>/`) is replayed through the
//! same functions the libFuzzer targets call (`tests/support/fuzz_logic.rs`).
//!
//! The seeds are written by `cargo test --test fuzz_regressions -- --ignored write_fuzz_seeds`
//! from `examples/payloads`.

#[path = "support/braze_oracle.rs"]
mod braze_oracle;
#[path = "support/fuzz_logic.rs"]
mod fuzz_logic;

use std::path::{Path, PathBuf};

use extole_braze_relay::config::AuthScheme;
use fuzz_logic::{auth_target, parse_target, translate_target, AuthCase};

/// A fuzz target: runs one input.
type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 3] = [("authenticate", auth_target), ("parse", parse_target), ("translate", translate_target)];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn replay(kind: &str, expect_some: bool) -> usize {
    let mut count = 0;
    for (target, run) in TARGETS {
        let files = files_in(&fuzz_dir().join(kind).join(target));
        assert!(!expect_some || !files.is_empty(), "no {kind} for {target}");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target} fails on {}", file.display());
            count += 1;
        }
    }
    count
}

#[test]
fn every_seed_passes_every_target_logic() {
    // Seeds of one target are also fed to the others: all of them take arbitrary bytes.
    let mut count = 0;
    for (seed_target, _) in TARGETS {
        for file in files_in(&fuzz_dir().join("seeds").join(seed_target)) {
            let data = std::fs::read(&file).unwrap();
            for (target, run) in TARGETS {
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{target} fails on seed {}", file.display());
                count += 1;
            }
        }
    }
    assert!(count >= 3 * 20, "only {count} seed runs");
    assert!(replay("seeds", true) >= 20);
}

#[test]
fn every_fuzz_crash_replays_without_a_new_finding() {
    // Crashes of known, reported bugs are replayed by the `bug_*` tests below instead.
    replay("regressions", false);
}

// ---------------------------------------------------------------------------------------
// Seeds.

fn sample_payloads() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/payloads");
    files_in(&dir)
        .into_iter()
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Bodies beyond the samples: the other shapes Extole sends.
const EXTRA_BODIES: [(&str, &str); 6] = [
    ("segment-style", r#"{"event":"purchased","userId":"u-9","timestamp":"2026-11-22T18:44:31Z","properties":{"email":"x@y.io","funnel":"ADVOCATE","cart_value":42.5,"currency":"eur","data":{"nested":[1,2,{"$k":"v"}]}}}"#),
    ("minimal-reward", r#"{"reward_id":"r-77","data":{"recipient_email":"Pat@Example.org","face_value":12345678901234567890123,"time":"t","event_name":"n"}}"#),
    ("odd-fields", r#"{"type":"Share Link Created","event_id":12345678901234567890123,"event_time":1795373071120,"data":{"partner_user_id":6816411215104951917,"phone_number":"020 7946 0958","country":"United Kingdom","$secret":"x","":1,"price":"129.90","order_total":1e400}}"#),
    ("batch", r#"[{"event":"shared","event_id":"b-1","userId":"u-1"},{"event":"shared","event_id":"b-2","properties":{"first_name":"No Id"}},{"type":"signed_up","event_id":"b-3","data":{"email":"a@b.co","country":"DEU","phone":"0151 2345678"}}]"#),
    ("subscriptions", r#"[{"type":"opted_in","event_id":"s-1","data":{"partner_user_id":"u","channel":"SMS"}},{"type":"opted_out","event_id":"s-2","data":{"email":"a@b.co","channel":"email"}},{"type":"sms_opt_in","data":{"customer":{"id":"c-1"},"channel":"sms"}}]"#),
    ("transforms", r#"{"type":"purchase","event_id":"t-1","userId":"u","vip":"yes","tier":"GOLD","signup_date":"2026-01-02","badge":"Early","alt_phone":"+44 20 7946 0958","alt_email":"B@C.io","data":{"ltv":"129.5","sku":"SKU-1","currency":"gbp","country_name":"France","customer":{"id":"c-9"}},"price":19.99}"#),
];

#[test]
#[ignore = "writes fuzz/seeds/; run by hand when the samples change"]
fn write_fuzz_seeds() {
    let mut bodies = sample_payloads();
    bodies.extend(EXTRA_BODIES.iter().map(|(n, b)| (n.to_string(), b.as_bytes().to_vec())));
    let all: Vec<String> = sample_payloads().iter().map(|(_, b)| String::from_utf8_lossy(b).trim().to_string()).collect();
    bodies.push(("all-samples-batch".into(), format!("[{}]", all.join(",")).into_bytes()));

    for target in ["parse", "translate"] {
        let dir = fuzz_dir().join("seeds").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, body) in &bodies {
            std::fs::write(dir.join(format!("{name}.json")), body).unwrap();
        }
    }

    let dir = fuzz_dir().join("seeds/authenticate");
    std::fs::create_dir_all(&dir).unwrap();
    let schemes = [("hs256", AuthScheme::Hs256), ("bearer", AuthScheme::Bearer), ("basic", AuthScheme::Basic), ("none", AuthScheme::None)];
    for (i, (name, body)) in bodies.iter().take(7).enumerate() {
        let (label, scheme) = schemes[i % 4];
        let keys = if i % 2 == 0 { "local-extole-key-production".to_string() } else { "old-key, new-key".to_string() };
        let write = |suffix: &str, case: AuthCase| std::fs::write(dir.join(format!("{name}-{label}-{suffix}")), case.encode()).unwrap();
        // Flags 1: genuine credential; 3: body changed after signing; 5: credential changed.
        for (suffix, flags) in [("genuine", 1u8), ("tampered-body", 3 | (5 << 3)), ("tampered-credential", 5 | (9 << 3))] {
            write(suffix, AuthCase { scheme, flags, keys: keys.clone(), credential: Some(String::new()), body: body.clone() });
        }
        // A literal header as a client would send it, with the rotation's second key.
        let key = fuzz_logic::keys_of(&keys).last().unwrap().clone();
        let literal = match scheme {
            AuthScheme::Hs256 => format!("sha256={}", fuzz_logic::hmac_hex(&key, body).to_uppercase()),
            other => fuzz_logic::genuine_credential(other, &key, body),
        };
        write("literal", AuthCase { scheme, flags: 0, keys: keys.clone(), credential: Some(literal), body: body.clone() });
    }
    for (suffix, scheme, keys, credential) in [
        ("missing-header", AuthScheme::Hs256, "k1", None),
        ("no-keys", AuthScheme::Bearer, " , ", Some("Bearer ")),
        ("bearer-trailing-space", AuthScheme::Bearer, "tok", Some("Bearer tok ")),
        ("basic-no-colon", AuthScheme::Basic, "user:pw", Some("Basic dXNlcnB3")),
        ("basic-not-base64", AuthScheme::Basic, "user:pw", Some("Basic !!!")),
        ("wrong-scheme", AuthScheme::Bearer, "tok", Some("Basic dG9r")),
    ] {
        let case = AuthCase { scheme, flags: 0, keys: keys.into(), credential: credential.map(str::to_owned), body: br#"{"type":"shared"}"#.to_vec() };
        std::fs::write(dir.join(suffix), case.encode()).unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// Bugs found by the property tests and the fuzzer, reported and NOT fixed here: these tests
// fail until the relay is fixed. Each replays the input through the translation with every
// violation counted (`strict`), including those the fuzz targets and property tests skip as
// known (`fuzz_logic::known_bug`). Once fixed, remove the matching arm of `known_bug`.

/// The single-event Braze body the relay makes from `raw` under `config_label`.
fn braze_body_for(raw: &str, config_label: &str) -> serde_json::Value {
    use extole_braze_relay::extole::{parse_body, ParseLimits};
    let (_, config) = fuzz_logic::configs().iter().find(|(l, _)| *l == config_label).unwrap();
    let event = parse_body(raw.as_bytes(), ParseLimits::default()).expect("the parser accepts it").remove(0);
    let translation = extole_braze_relay::mapping::translate(&event, config, fuzz_logic::received_at()).expect("translated");
    serde_json::from_slice(&fuzz_logic::single_body(&translation.objects)).unwrap()
}

fn strict_violations(body: &serde_json::Value) -> Vec<String> {
    braze_oracle::check_body(body, None).iter().map(ToString::to_string).collect()
}

#[test]
fn bug_1_leap_second_event_time_is_sent_as_second_60() {
    // Shrunk by proptest: {"data":{},"email":"a@b.co","event_time":"2026-06-30T23:59:60Z","type":"advocate_code_created"}
    for time in ["2026-06-30T23:59:60Z", "2026-11-22T18:44:60.500+01:00"] {
        let raw = format!(r#"{{"type":"shared","event_id":"leap-1","event_time":"{time}","data":{{"partner_user_id":"u-1"}}}}"#);
        let body = braze_body_for(&raw, "default");
        let sent = body["events"][0]["time"].as_str().unwrap().to_string();
        assert!(
            braze_oracle::is_iso_date_time(&sent),
            "BUG 1 (regression, fixed): event_time {time:?} is accepted and sent to Braze as time {sent:?}; \
             second 60 is not a valid time (the stand-in refuses the event). Expected a valid time \
             (e.g. clamped to :59.999) or a 400 invalid_field. Violations: {:?}",
            strict_violations(&body)
        );
    }
}

#[test]
fn bug_2_kosovo_is_sent_as_country_xk() {
    for country in ["Kosovo", "XKX", "XK"] {
        let raw = format!(r#"{{"type":"signed_up","event_id":"xk-1","data":{{"partner_user_id":"u-1","email":"a@b.co","country":"{country}"}}}}"#);
        let body = braze_body_for(&raw, "default");
        assert!(
            strict_violations(&body).is_empty(),
            "BUG 2 (regression, fixed): country {country:?} becomes attributes.country {}, a user-assigned code that is \
             not ISO 3166-1 alpha-2 (the stand-in refuses the whole attributes object, email included). Expected the \
             country dropped like any unmappable one. Body: {body}",
            body["attributes"][0]["country"]
        );
    }
}

#[test]
fn bug_3_fund_metal_and_test_currency_codes_are_sent_in_purchases() {
    // Found by the fuzzer (translate target, transforms config): fuzz/regressions/translate/bug3-crash-*.
    for file in files_in(&fuzz_dir().join("regressions/translate")).into_iter().filter(|f| f.to_string_lossy().contains("bug3-")) {
        let data = std::fs::read(&file).unwrap();
        let outcome = std::panic::catch_unwind(|| fuzz_logic::translate_target_strict(&data));
        assert!(outcome.is_ok(), "BUG 3 (regression, fixed): replaying {} fails (see the panic above)", file.display());
    }
    for currency in ["XTS", "XAU", "BOV", "XXX", "HRK"] {
        let raw = format!(r#"{{"type":"converted","event_id":"cur-1","data":{{"partner_user_id":"u-1","order_total":"25.00","currency":"{currency}"}}}}"#);
        let body = braze_body_for(&raw, "retailer");
        assert!(
            strict_violations(&body).is_empty(),
            "BUG 3 (regression, fixed): the event's currency {currency:?} is sent as the purchase currency {}; it is \
             an ISO 4217 fund, metal, test or withdrawn code, no price paid (the stand-in refuses the purchase). Expected the \
             default currency (as for an unknown code). Body: {body}",
            body["purchases"][0]["currency"]
        );
    }
}

#[test]
fn bug_4_number_transform_sends_integers_beyond_2_pow_53_as_json_numbers() {
    // Shrunk by proptest (all-transforms config, `"ltv": {"from": "data.ltv", "transform": "number"}`):
    // {"data":{"ltv":9007199254740992},"type":"advocate_code_created","userId":"aa-0"}
    for ltv in ["9007199254740992", "-9007199254740993", "12345678901234567890123"] {
        let raw = format!(r#"{{"type":"advocate_code_created","userId":"aa-0","data":{{"ltv":{ltv}}}}}"#);
        let body = braze_body_for(&raw, "transforms");
        assert!(
            strict_violations(&body).is_empty(),
            "BUG 4 (regression, fixed): data.ltv {ltv} through the `number` transform is sent as the JSON number {} \
             (an integer beyond 2^53, rounded by any double-based reader); a numeric string through the same transform \
             becomes a double. Expected the same double (or the value dropped). Body: {body}",
            body["attributes"][0]["ltv"]
        );
    }
}
