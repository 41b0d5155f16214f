//! The hostile corpus (tests/hostile/corpus.json), natively: every case through
//! `pipeline::handle` with the in-memory platform.
//!
//! - Every case: the exact status and `error` code, a JSON error body with a non-empty
//!   message (and `at` where the corpus gives one), never a 5xx, never a panic, and no
//!   request to Braze. After every `HEARTBEAT_EVERY` cases a fresh valid event must still be
//!   delivered.
//! - Every accepted case: 200 `delivered`, the expected number of Braze requests, the
//!   corpus's checks on the Braze body, and every body valid by the Braze stand-in's rules
//!   (tests/braze-standin/rules.mjs, run with node).
//! - The secrets and personal-data scan: every sample payload and every case, and no log line
//!   or response carries a key, an email address or a phone number.
//!
//! The corpus is data: regenerate it with `node tests/hostile/make-corpus.mjs`. Body
//! generators are expanded exactly as tests/hostile/corpus.mjs does for the e2e runner.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use extole_braze_relay::authenticate::sign_hs256;
use extole_braze_relay::environment::{config_key, ConfigCache};
use extole_braze_relay::memory::MemoryPlatform;
use extole_braze_relay::pipeline::handle;
use extole_braze_relay::ports::IncomingRequest;
use extole_braze_relay::respond::Response;
use serde_json::{json, Value};

/// A valid event is sent after every this many cases.
const HEARTBEAT_EVERY: usize = 10;

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn corpus() -> Value {
    let text = std::fs::read_to_string(repo_path("tests/hostile/corpus.json")).expect("tests/hostile/corpus.json");
    serde_json::from_str(&text).expect("corpus.json is JSON")
}

// ---------------------------------------------------------------------------------------
// Turning a case into a request (the same rules as tests/hostile/corpus.mjs).

fn expand(descriptor: &Value) -> Vec<u8> {
    let parts = descriptor["parts"].as_array().unwrap_or_else(|| panic!("bad generator descriptor {descriptor}"));
    let mut out = Vec::new();
    for part in parts {
        match part {
            Value::String(text) => out.extend_from_slice(text.as_bytes()),
            Value::Object(o) if o.contains_key("hex") => out.extend(hex::decode(o["hex"].as_str().expect("hex string")).expect("valid hex")),
            Value::Object(o) if o.contains_key("repeat") => {
                let unit = match &o["repeat"] {
                    Value::String(text) => text.as_bytes().to_vec(),
                    nested => expand(nested),
                };
                let count = o["count"].as_u64().expect("count") as usize;
                let separator = o.get("separator").and_then(Value::as_str).unwrap_or("").as_bytes();
                if separator.is_empty() {
                    out.extend(unit.repeat(count));
                } else {
                    out.extend(vec![unit; count].join(separator));
                }
            }
            other => panic!("bad generator part {other}"),
        }
    }
    out
}

fn body_of(case: &Value) -> Vec<u8> {
    if let Some(text) = case.get("body").and_then(Value::as_str) {
        text.as_bytes().to_vec()
    } else if let Some(hex_text) = case.get("body_hex").and_then(Value::as_str) {
        hex::decode(hex_text).expect("body_hex is hex")
    } else if let Some(descriptor) = case.get("generate") {
        expand(descriptor)
    } else {
        Vec::new()
    }
}

fn env_name(case: &Value) -> &str {
    case.get("env").and_then(Value::as_str).unwrap_or("production")
}

fn request_of(corpus: &Value, case: &Value) -> IncomingRequest {
    let body = body_of(case);
    let env = env_name(case);
    let environment = &corpus["environments"][env];
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    match case.get("auth") {
        None => {
            let key = environment["keys"][0].as_str().unwrap_or_else(|| panic!("{}: {env} has no key", case["id"]));
            let header = match environment["scheme"].as_str() {
                Some("hs256") => ("x-extole-signature", sign_hs256(key, &body)),
                Some("bearer") => ("authorization", format!("Bearer {key}")),
                Some("basic") => ("authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(key))),
                other => panic!("unknown scheme {other:?}"),
            };
            headers.push((header.0.to_string(), header.1));
        }
        Some(Value::String(none)) if none == "none" => {}
        Some(auth) => {
            for (name, value) in auth["headers"].as_object().expect("auth.headers") {
                headers.push((name.to_ascii_lowercase(), value.as_str().expect("header value").to_string()));
            }
        }
    }
    IncomingRequest {
        method: case.get("method").and_then(Value::as_str).unwrap_or("POST").to_string(),
        path: case.get("path").and_then(Value::as_str).map_or_else(|| format!("/extole/{env}"), str::to_owned),
        headers,
        body,
    }
}

fn secret_suffix(env: &str) -> String {
    env.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// The platform with every corpus environment's secrets, endpoint and KV document.
fn platform(corpus: &Value) -> MemoryPlatform {
    let mut secrets: Vec<(String, String)> = Vec::new();
    for (env, settings) in corpus["environments"].as_object().expect("environments") {
        let suffix = secret_suffix(env);
        let keys: Vec<&str> = settings["keys"].as_array().expect("keys").iter().map(|k| k.as_str().expect("key")).collect();
        if !keys.is_empty() {
            secrets.push((format!("EXTOLE_WEBHOOK_SECRET_{suffix}"), keys.join(",")));
        }
        secrets.push((format!("BRAZE_API_KEY_{suffix}"), settings["braze_key"].as_str().expect("braze_key").to_string()));
        secrets.push((format!("BRAZE_REST_ENDPOINT_{suffix}"), "US-03".to_string()));
    }
    let borrowed: Vec<(&str, &str)> = secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let platform = MemoryPlatform::new(&borrowed);
    for (env, settings) in corpus["environments"].as_object().expect("environments") {
        if !settings["kv"].is_null() {
            platform.config.entries.borrow_mut().insert(config_key(env), (settings["kv"].to_string(), None));
        }
    }
    platform
}

/// Runs one request; a panic is reported as a failure of that request, not of the run.
fn send(platform: &MemoryPlatform, configs: &ConfigCache, request: &IncomingRequest) -> Result<Response, String> {
    catch_unwind(AssertUnwindSafe(|| pollster::block_on(handle(platform, configs, request)))).map_err(|panic| {
        let message = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
        format!("PANIC: {}", message.unwrap_or_else(|| "(no message)".into()))
    })
}

fn sent_count(platform: &MemoryPlatform) -> usize {
    platform.braze.sent.borrow().len()
}

fn describe(response: &Response) -> String {
    let text = response.body.to_string();
    let clipped: String = text.chars().take(300).collect();
    format!("{} {clipped}", response.status)
}

/// A fresh valid event must still be delivered: one Braze request, 200 delivered.
fn heartbeat(platform: &MemoryPlatform, configs: &ConfigCache, n: usize) -> Result<(), String> {
    let body = format!(r#"{{"type":"shared","event_id":"hb-native-{n}","userId":"u-heartbeat","data":{{"email":"heartbeat@example.com"}}}}"#);
    let key = "hostile-extole-production-key-5e1f0a";
    let request = IncomingRequest {
        method: "POST".into(),
        path: "/extole/production".into(),
        headers: vec![("x-extole-signature".into(), sign_hs256(key, body.as_bytes()))],
        body: body.into_bytes(),
    };
    let before = sent_count(platform);
    let response = send(platform, configs, &request)?;
    if response.status != 200 || response.body["status"] != "delivered" || sent_count(platform) != before + 1 {
        return Err(format!("heartbeat {n}: {}, {} Braze request(s)", describe(&response), sent_count(platform) - before));
    }
    Ok(())
}

/// What is wrong with the answer to a 4xx case (empty: nothing).
fn check_refusal(case: &Value, response: &Response, braze_requests: usize) -> Vec<String> {
    let expect = &case["expect"];
    let mut problems = Vec::new();
    let status = expect["status"].as_u64().expect("expect.status") as u16;
    if response.status != status {
        problems.push(format!("status {} (expected {status})", response.status));
    }
    if response.status >= 500 {
        problems.push("a 5xx".into());
    }
    if response.body["status"] != "error" {
        problems.push("body.status is not \"error\"".into());
    }
    if response.body["error"] != expect["error"] {
        problems.push(format!("error {} (expected {})", response.body["error"], expect["error"]));
    }
    if response.body["message"].as_str().is_none_or(|m| m.trim().is_empty()) {
        problems.push("no message".into());
    }
    if let Some(at) = expect.get("at") {
        if &response.body["at"] != at {
            problems.push(format!("at {} (expected {at})", response.body["at"]));
        }
    }
    if braze_requests != 0 {
        problems.push(format!("{braze_requests} request(s) reached Braze"));
    }
    problems
}

/// JSON pointer lookup (RFC 6901).
fn pointer<'a>(value: &'a Value, ptr: &str) -> Option<&'a Value> {
    value.pointer(ptr)
}

fn check_accepted(case: &Value, response: &Response, bodies: &[Value]) -> Vec<String> {
    let expect = &case["expect"];
    let mut problems = Vec::new();
    if response.status != 200 || response.body["status"] != expect["outcome"] {
        problems.push(format!("answer {} (expected 200 {})", describe(response), expect["outcome"]));
    }
    let wanted = expect["braze_requests"].as_u64().unwrap_or(1) as usize;
    if bodies.len() != wanted {
        problems.push(format!("{} Braze request(s) (expected {wanted})", bodies.len()));
    }
    let Some(first) = bodies.first() else { return problems };
    for check in expect["checks"].as_array().into_iter().flatten() {
        let ptr = check["pointer"].as_str().expect("check.pointer");
        let found = pointer(first, ptr);
        if check.get("absent").is_some_and(|a| a == true) {
            if let Some(found) = found {
                problems.push(format!("{ptr}: expected absent, found {}", found.to_string().chars().take(120).collect::<String>()));
            }
        } else if let Some(length) = check.get("length") {
            let actual = match found {
                Some(Value::String(s)) => Some(s.chars().count()),
                Some(Value::Array(a)) => Some(a.len()),
                _ => None,
            };
            if actual.map(|n| n as u64) != length.as_u64() {
                problems.push(format!("{ptr}: expected length {length}, found {actual:?}"));
            }
        } else if found != check.get("equals") {
            problems.push(format!("{ptr}: expected {}, found {found:?}", check["equals"]));
        }
    }
    problems
}

/// Validates Braze bodies with the stand-in's rules (node tests/hostile/validate-bodies.mjs).
fn invalid_by_standin_rules(bodies: &[(String, Value)]) -> Vec<Value> {
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile-braze-bodies-{}.json", std::process::id()));
    let entries: Vec<Value> = bodies.iter().map(|(id, body)| json!({"id": id, "body": body})).collect();
    std::fs::write(&file, serde_json::to_vec(&entries).unwrap()).unwrap();
    let output = Command::new("node")
        .arg(repo_path("tests/hostile/validate-bodies.mjs"))
        .arg(&file)
        .output()
        .expect("node (the project's tests need Node.js) runs tests/hostile/validate-bodies.mjs");
    let _ = std::fs::remove_file(&file);
    assert!(output.status.success(), "validate-bodies.mjs failed: {}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("validate-bodies.mjs prints JSON");
    assert_eq!(report["checked"].as_u64(), Some(bodies.len() as u64));
    report["invalid"].as_array().cloned().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The runs.

#[test]
fn every_hostile_case_is_refused_with_its_4xx_and_nothing_reaches_braze() {
    let corpus = corpus();
    let (platform, configs) = (platform(&corpus), ConfigCache::default());
    let cases = corpus["cases"].as_array().expect("cases");
    assert!(cases.len() >= 150, "the corpus holds {} cases", cases.len());
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut heartbeats = 0;
    let mut slowest = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let id = case["id"].as_str().expect("id");
        let case_started = std::time::Instant::now();
        let request = request_of(&corpus, case);
        let before = sent_count(&platform);
        let answer = send(&platform, &configs, &request);
        slowest.push((case_started.elapsed(), id));
        match answer {
            Ok(response) => {
                let problems = check_refusal(case, &response, sent_count(&platform) - before);
                if !problems.is_empty() {
                    failures.push(format!("{id}: {} -- answered {}", problems.join("; "), describe(&response)));
                }
            }
            Err(panic) => failures.push(format!("{id}: {panic}")),
        }
        if (i + 1) % HEARTBEAT_EVERY == 0 || i + 1 == cases.len() {
            heartbeats += 1;
            if let Err(problem) = heartbeat(&platform, &configs, heartbeats) {
                failures.push(problem);
            }
        }
    }
    let failed_cases = failures.iter().filter(|f| !f.starts_with("heartbeat")).count();
    slowest.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    let slowest: Vec<String> = slowest.iter().take(3).map(|(t, id)| format!("{id} {t:.0?}")).collect();
    println!(
        "hostile corpus (native): {} cases tried, {} passed, {failed_cases} failed; {heartbeats} heartbeat events delivered {}; {:.2?} (slowest: {})",
        cases.len(),
        cases.len() - failed_cases,
        if failures.len() == failed_cases { "all" } else { "NOT all" },
        started.elapsed(),
        slowest.join(", ")
    );
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_accepted_boundary_case_is_delivered_validly() {
    let corpus = corpus();
    let (platform, configs) = (platform(&corpus), ConfigCache::default());
    let accepted = corpus["accepted"].as_array().expect("accepted");
    let mut failures = Vec::new();
    let mut bodies = Vec::new();
    for case in accepted {
        let id = case["id"].as_str().expect("id");
        let before = sent_count(&platform);
        match send(&platform, &configs, &request_of(&corpus, case)) {
            Ok(response) => {
                let sent: Vec<Value> = platform.braze.sent.borrow()[before..].iter().map(|r| r.body.clone()).collect();
                let problems = check_accepted(case, &response, &sent);
                if !problems.is_empty() {
                    failures.push(format!("{id}: {}", problems.join("; ")));
                }
                bodies.extend(sent.into_iter().map(|body| (id.to_string(), body)));
            }
            Err(panic) => failures.push(format!("{id}: {panic}")),
        }
    }
    for invalid in invalid_by_standin_rules(&bodies) {
        failures.push(format!("{}: Braze body invalid by the stand-in's rules: {invalid}", invalid["id"].as_str().unwrap_or("?")));
    }
    let failed: BTreeSet<&str> = failures.iter().map(|f| f.split(':').next().unwrap_or("")).collect();
    println!(
        "accepted boundary cases (native): {} tried, {} passed, {} failed; {} Braze bodies checked against the stand-in's rules",
        accepted.len(),
        accepted.len() - failed.len(),
        failed.len(),
        bodies.len()
    );
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// The secrets and personal-data scan.

/// Email-shaped substrings of `text`: `local@domain.tld`.
fn emails_in(text: &str) -> Vec<String> {
    let is_local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let is_domain = |c: char| c.is_ascii_alphanumeric() || ".-".contains(c);
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let start = (0..at).rev().take_while(|&i| is_local(chars[i])).last();
        let end = (at + 1..chars.len()).take_while(|&i| is_domain(chars[i])).last();
        let (Some(start), Some(end)) = (start, end) else { continue };
        let domain: String = chars[at + 1..=end].iter().collect::<String>().trim_end_matches(['.', '-']).to_string();
        let tld_ok = domain.rsplit_once('.').is_some_and(|(host, tld)| !host.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if tld_ok {
            found.push(format!("{}@{domain}", chars[start..at].iter().collect::<String>()));
        }
    }
    found
}

/// Phone-shaped: digits with the separators people type, 7 to 15 digits, and either a `+`,
/// a parenthesis, a space or at least ten digits (so `2026-11-22` is not a phone number).
fn phone_shaped(text: &str) -> bool {
    let t = text.trim();
    let digits = t.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && t.chars().all(|c| c.is_ascii_digit() || " +-.()/".contains(c))
        && (t.starts_with('+') || t.contains('(') || t.contains(' ') || digits >= 10)
}

/// Personal data in an input body: every email- and phone-shaped string, and every value of
/// a phone field, with the forms a leak could take (as sent, digits only, E.164).
fn personal_needles(body: &[u8], needles: &mut BTreeSet<String>) {
    let text = String::from_utf8_lossy(body);
    for email in emails_in(&text) {
        needles.insert(email.to_lowercase());
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return };
    let mut stack = vec![(String::new(), &value)];
    while let Some((key, v)) = stack.pop() {
        match v {
            Value::Object(map) => stack.extend(map.iter().map(|(k, v)| (k.clone(), v))),
            Value::Array(items) => stack.extend(items.iter().map(|v| (key.clone(), v))),
            Value::String(s) if phone_shaped(s) || key.contains("phone") => add_phone(s, needles),
            Value::Number(n) if key.contains("phone") => add_phone(&n.to_string(), needles),
            _ => {}
        }
    }
}

fn add_phone(raw: &str, needles: &mut BTreeSet<String>) {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 7 {
        needles.insert(raw.trim().to_lowercase());
        needles.insert(digits.clone());
        needles.insert(format!("+{digits}"));
    }
}

/// Whether `text` contains `needle`, where a needle that starts or ends with a digit must
/// not continue a longer run of digits (a 30-digit event id is not a phone number).
fn contains_token(text: &str, needle: &str) -> bool {
    let digit_at = |i: Option<char>| i.is_some_and(|c| c.is_ascii_digit());
    let starts_digit = needle.starts_with(|c: char| c.is_ascii_digit());
    let ends_digit = needle.ends_with(|c: char| c.is_ascii_digit());
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        let continues_a_number = (starts_digit && digit_at(before)) || (ends_digit && digit_at(after));
        !continues_a_number
    })
}

#[test]
fn no_key_email_or_phone_number_in_any_log_line_or_response() {
    let corpus = corpus();
    let (platform, configs) = (platform(&corpus), ConfigCache::default());
    let mut requests: Vec<(String, IncomingRequest)> = Vec::new();
    // Every sample, signed for production: these are delivered and full of personal data.
    let mut samples: Vec<_> = std::fs::read_dir(repo_path("examples/payloads")).unwrap().map(|e| e.unwrap().path()).collect();
    samples.sort();
    for file in &samples {
        let body = std::fs::read(file).unwrap();
        let case = json!({ "id": "sample", "body_hex": hex::encode(&body) });
        requests.push((format!("sample {}", file.file_name().unwrap().to_string_lossy()), request_of(&corpus, &case)));
    }
    for case in corpus["cases"].as_array().unwrap().iter().chain(corpus["accepted"].as_array().unwrap()) {
        requests.push((case["id"].as_str().unwrap().to_string(), request_of(&corpus, case)));
    }

    let mut needles = BTreeSet::new();
    for (_, request) in &requests {
        if request.body.len() <= 300 * 1024 {
            personal_needles(&request.body, &mut needles);
        }
    }
    for must in ["omar.haddad@example.com", "dana.weller@example.com", "+16175550142", "+1 (617) 555-0142", "pat@example.com"] {
        assert!(needles.contains(must), "the scan must look for {must}");
    }
    let secrets: Vec<String> = corpus["secrets"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();

    let mut outputs: Vec<(String, String)> = Vec::new();
    for (name, request) in &requests {
        let response = send(&platform, &configs, request).unwrap_or_else(|panic| panic!("{name}: {panic}"));
        assert!(response.status < 500, "{name}: {}", describe(&response));
        let headers: Vec<String> = response.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        outputs.push((format!("response to {name}"), format!("{} {}", headers.join(" "), response.body)));
    }
    let delivered = sent_count(&platform);
    assert!(delivered >= samples.len(), "the samples were delivered ({delivered} Braze requests)");
    for (i, line) in platform.logs.borrow().iter().enumerate() {
        outputs.push((format!("log line {i}"), line.clone()));
    }

    let mut leaks = Vec::new();
    for (place, text) in &outputs {
        let lower = text.to_lowercase();
        for secret in &secrets {
            if text.contains(secret.as_str()) {
                leaks.push(format!("{place}: secret {secret}"));
            }
        }
        for needle in &needles {
            if contains_token(&lower, needle) {
                leaks.push(format!("{place}: personal data {needle}"));
            }
        }
        for email in emails_in(text) {
            leaks.push(format!("{place}: email-shaped {email}"));
        }
    }
    leaks.sort();
    leaks.dedup();
    println!(
        "secrets/PII scan (native): {} requests ({} samples), {} log lines and {} responses scanned for {} secrets and {} personal values: {} leak(s)",
        requests.len(),
        samples.len(),
        platform.logs.borrow().len(),
        requests.len(),
        secrets.len(),
        needles.len(),
        leaks.len()
    );
    assert!(leaks.is_empty(), "{} leak(s):\n{}", leaks.len(), leaks.join("\n"));
}
