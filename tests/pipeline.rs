//! The whole request journey, natively, with in-memory KV, secrets and a scripted Braze.

use extole_braze_relay::authenticate::sign_hs256;
use extole_braze_relay::environment::{config_key, ConfigCache};
use extole_braze_relay::memory::MemoryPlatform;
use extole_braze_relay::pipeline::handle;
use extole_braze_relay::ports::{IncomingRequest, TransportError};
use extole_braze_relay::respond::Response;
use serde_json::{json, Value};

const EXTOLE_KEY: &str = "test-extole-key";
const BRAZE_KEY: &str = "test-braze-key";

fn platform() -> MemoryPlatform {
    MemoryPlatform::new(&[
        ("EXTOLE_WEBHOOK_SECRET_PRODUCTION", EXTOLE_KEY),
        ("BRAZE_API_KEY_PRODUCTION", BRAZE_KEY),
        ("BRAZE_REST_ENDPOINT_PRODUCTION", "US-03"),
        ("EXTOLE_WEBHOOK_SECRET_STAGING", "old-key, new-key"),
        ("BRAZE_API_KEY_STAGING", "staging-braze-key"),
        ("BRAZE_REST_ENDPOINT_STAGING", "https://rest.fra-01.braze.eu"),
    ])
}

fn signed(environment: &str, key: &str, body: &str) -> IncomingRequest {
    IncomingRequest {
        method: "POST".into(),
        path: format!("/extole/{environment}"),
        headers: vec![("x-extole-signature".into(), sign_hs256(key, body.as_bytes()))],
        body: body.as_bytes().to_vec(),
    }
}

fn send(platform: &MemoryPlatform, configs: &ConfigCache, request: &IncomingRequest) -> Response {
    pollster::block_on(handle(platform, configs, request))
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!("{}/examples/payloads/{name}.json", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn last_sent(platform: &MemoryPlatform) -> Value {
    platform.braze.sent.borrow().last().expect("something was sent").body.clone()
}

#[test]
fn conversion_sample_becomes_the_expected_users_track_body() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let response = send(&platform, &configs, &signed("production", EXTOLE_KEY, &sample("converted")));
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["status"], "delivered");
    assert_eq!(response.body["event_id"], "d4a3f5e6b7c8d9e0f1a2");
    assert_eq!(response.body["braze"]["events_processed"], 1);

    let sent = platform.braze.sent.borrow();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, "https://rest.iad-03.braze.com/users/track");
    assert_eq!(sent[0].api_key, BRAZE_KEY);
    assert_eq!(sent[0].timeout_ms, 5000);
    assert_eq!(
        sent[0].body,
        json!({
            "attributes": [{
                "external_id": "cust-20871",
                "email": "omar.haddad@example.com",
                "extole_funnel": {"add": ["friend"]}
            }],
            "events": [{
                "external_id": "cust-20871",
                "name": "Converted",
                "time": "2026-11-22T18:44:31.120Z",
                "properties": {
                    "event_id": "d4a3f5e6b7c8d9e0f1a2",
                    "extole_event_name": "converted",
                    "program_label": "refer-a-friend",
                    "partner_user_id": "cust-20871",
                    "order_id": "SO-558201",
                    "cart_value": "129.90",
                    "currency": "USD",
                    "coupon_code": "FRIEND20",
                    "funnel": "friend"
                }
            }]
        })
    );
}

#[test]
fn sign_up_normalises_person_fields() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let response = send(&platform, &configs, &signed("production", EXTOLE_KEY, &sample("signed-up")));
    assert_eq!(response.status, 200, "{}", response.body);
    let body = last_sent(&platform);
    assert_eq!(
        body["attributes"][0],
        json!({
            "external_id": "cust-20871",
            "email": "omar.haddad@example.com",
            "phone": "+16175550142",
            "first_name": "Omar",
            "last_name": "Haddad",
            "home_city": "Boston",
            "state": "MA",
            "country": "US",
            "extole_funnel": {"add": ["friend"]}
        })
    );
    assert_eq!(body["events"][0]["name"], "Signed Up");
    assert_eq!(body["events"][0]["properties"]["advocate_partner_user_id"], "cust-10442");
    let properties = body["events"][0]["properties"].to_string();
    assert!(!properties.contains("555") && !properties.contains('@'), "personal data in properties: {properties}");
}

#[test]
fn every_sample_maps_to_its_partner_page_event() {
    let expected = [
        ("share-link-created", "Created Share Link", "cust-10442"),
        ("shared", "Shared", "cust-10442"),
        ("signed-up", "Signed Up", "cust-20871"),
        ("converted", "Converted", "cust-20871"),
        ("subscribed", "Subscribed", "cust-20871"),
        ("unsubscribed", "Unsubscribed", "cust-20871"),
        ("reward-earned", "Earned Reward", "cust-10442"),
    ];
    let (platform, configs) = (platform(), ConfigCache::default());
    for (name, braze_name, external_id) in expected {
        let response = send(&platform, &configs, &signed("production", EXTOLE_KEY, &sample(name)));
        assert_eq!(response.status, 200, "{name}: {}", response.body);
        let body = last_sent(&platform);
        assert_eq!(body["events"][0]["name"], braze_name, "{name}");
        assert_eq!(body["events"][0]["external_id"], external_id, "{name}");
    }
    assert_eq!(platform.braze.sent.borrow().len(), expected.len());
}

#[test]
fn subscription_events_set_email_subscribe() {
    let (platform, configs) = (platform(), ConfigCache::default());
    send(&platform, &configs, &signed("production", EXTOLE_KEY, &sample("subscribed")));
    assert_eq!(last_sent(&platform)["attributes"][0]["email_subscribe"], "opted_in");
    send(&platform, &configs, &signed("production", EXTOLE_KEY, &sample("unsubscribed")));
    assert_eq!(last_sent(&platform)["attributes"][0]["email_subscribe"], "unsubscribed");
    // An SMS opt-in with no SMS channel configured changes no email consent.
    let sms = r#"{"type":"opted_in","event_id":"sms-1","data":{"partner_user_id":"u1","channel":"SMS"}}"#;
    send(&platform, &configs, &signed("production", EXTOLE_KEY, sms));
    let body = last_sent(&platform);
    assert!(body.get("attributes").is_none(), "{body}");
    assert_eq!(body["events"][0]["name"], "Subscribed");
}

#[test]
fn reward_uses_recipient_email_and_keeps_person_id_exact() {
    let (platform, configs) = (platform(), ConfigCache::default());
    send(&platform, &configs, &signed("production", EXTOLE_KEY, &sample("reward-earned")));
    let body = last_sent(&platform);
    assert_eq!(body["attributes"][0]["email"], "dana.weller@example.com");
    let properties = &body["events"][0]["properties"];
    assert_eq!(properties["person_id"], "6816411215104951917");
    assert_eq!(properties["face_value"], 20);
    assert_eq!(properties["face_value_type"], "USD");
    assert_eq!(properties["reward_supplier_type"], "CUSTOM_REWARD");
}

#[test]
fn duplicates_are_answered_without_resending() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let request = signed("production", EXTOLE_KEY, &sample("shared"));
    assert_eq!(send(&platform, &configs, &request).body["status"], "delivered");
    let again = send(&platform, &configs, &request);
    assert_eq!((again.status, again.body["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(platform.braze.sent.borrow().len(), 1);
    let record = platform.state.entries.borrow().get("dedup:production:id:b2e1d3c4f5a69788a9b0").cloned();
    assert_eq!(record.expect("dedup record written").1, Some(8 * 24 * 3600));
}

#[test]
fn dedup_is_per_environment_and_falls_back_to_the_body_hash() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let body = r#"{"event":"shared","userId":"u-1"}"#;
    send(&platform, &configs, &signed("production", EXTOLE_KEY, body));
    send(&platform, &configs, &signed("staging", "new-key", body));
    assert_eq!(platform.braze.sent.borrow().len(), 2);
    assert_eq!(send(&platform, &configs, &signed("production", EXTOLE_KEY, body)).body["status"], "duplicate");
    assert!(platform.state.entries.borrow().keys().any(|k| k.starts_with("dedup:production:body:")));
}

#[test]
fn authentication_failures_are_401_and_name_the_scheme() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let body = sample("converted");
    let wrong_key = signed("production", "not-the-key", &body);
    let mut missing = signed("production", EXTOLE_KEY, &body);
    missing.headers.clear();
    for request in [wrong_key, missing] {
        let response = send(&platform, &configs, &request);
        assert_eq!(response.status, 401);
        let text = response.body.to_string();
        assert!(text.contains("HS256") && !text.contains(EXTOLE_KEY), "{text}");
    }
    // Both keys of a rotation are accepted.
    for key in ["old-key", "new-key"] {
        let body = format!(r#"{{"event":"shared","event_id":"rot-{key}","userId":"u"}}"#);
        assert_eq!(send(&platform, &configs, &signed("staging", key, &body)).status, 200);
    }
    assert_eq!(platform.braze.sent.borrow().len(), 2);
}

#[test]
fn an_environment_without_a_key_refuses_everything() {
    let platform = MemoryPlatform::new(&[("BRAZE_API_KEY_PRODUCTION", BRAZE_KEY), ("BRAZE_REST_ENDPOINT_PRODUCTION", "US-01")]);
    let configs = ConfigCache::default();
    let response = send(&platform, &configs, &signed("production", "", &sample("shared")));
    assert_eq!((response.status, response.body["error"].as_str()), (401, Some("auth_not_configured")));
    assert!(platform.braze.sent.borrow().is_empty());
}

#[test]
fn routes_and_methods() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let request = |method: &str, path: &str| IncomingRequest { method: method.into(), path: path.into(), ..Default::default() };
    let cases = [
        ("GET", "/health", 200, None),
        ("POST", "/health", 405, Some("method_not_allowed")),
        ("POST", "/extole/nowhere", 404, Some("unknown_environment")),
        ("POST", "/extole/../etc", 404, Some("unknown_environment")),
        ("POST", "/extole/production/preview/x", 404, Some("not_found")),
        ("PUT", "/extole/production/preview", 405, Some("method_not_allowed")),
        ("GET", "/extole/production/config", 401, Some("auth_not_configured")),
        ("POST", "/extole/Production%00", 404, Some("unknown_environment")),
        ("GET", "/extole/production", 405, Some("method_not_allowed")),
        ("GET", "/", 404, Some("not_found")),
    ];
    for (method, path, status, code) in cases {
        let response = send(&platform, &configs, &request(method, path));
        assert_eq!(response.status, status, "{method} {path}");
        assert_eq!(response.body["error"].as_str(), code, "{method} {path}");
    }
    assert!(platform.braze.sent.borrow().is_empty());
}

#[test]
fn malformed_bodies_are_4xx_with_a_reason() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let cases = [
        ("", 400, "empty_body"),
        ("{\"type\": \"shared\"", 400, "invalid_json"),
        ("{\"data\": {\"email\": \"a@b.co\"}}", 400, "missing_event_name"),
        ("{\"type\": \"shared\", \"event_time\": \"last tuesday\", \"userId\": \"u\"}", 400, "invalid_field"),
        ("{\"type\": \"shared\", \"data\": {\"first_name\": \"Ann\"}}", 422, "unidentified_person"),
        ("{\"type\": \"shared\", \"data\": {\"email\": \"not-an-email\"}}", 422, "unidentified_person"),
    ];
    for (body, status, code) in cases {
        let response = send(&platform, &configs, &signed("production", EXTOLE_KEY, body));
        assert_eq!((response.status, response.body["error"].as_str()), (status, Some(code)), "{body}");
        assert!(!response.body["message"].as_str().unwrap_or_default().is_empty());
    }
    let huge = format!(r#"{{"type":"shared","userId":"u","data":{{"blob":"{}"}}}}"#, "x".repeat(300 * 1024));
    let response = send(&platform, &configs, &signed("production", EXTOLE_KEY, &huge));
    assert_eq!((response.status, response.body["error"].as_str()), (413, Some("payload_too_large")));
    assert!(platform.braze.sent.borrow().is_empty());
}

#[test]
fn braze_outage_is_retryable_and_nothing_is_recorded() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let request = signed("production", EXTOLE_KEY, &sample("converted"));
    platform.braze.then_reply(503, &[], "");
    platform.braze.then_fail(TransportError::Timeout(5000));
    platform.braze.then_reply(429, &[("X-RateLimit-Reset", &(platform.now.get().timestamp() + 9).to_string())], "");
    platform.braze.then_reply(201, &[], r#"{"message":"queued"}"#);
    for retry_after in ["30", "30", "9", "30"] {
        let response = send(&platform, &configs, &request);
        assert_eq!((response.status, response.body["error"].as_str()), (503, Some("braze_unavailable")), "{}", response.body);
        assert_eq!(response.headers, vec![("retry-after".to_string(), retry_after.to_string())]);
        assert!(platform.state.entries.borrow().is_empty(), "recorded after a failure");
    }
    let response = send(&platform, &configs, &request);
    assert_eq!(response.body["status"], "delivered");
    assert_eq!(send(&platform, &configs, &request).body["status"], "duplicate");
    assert_eq!(platform.braze.sent.borrow().len(), 5);
}

#[test]
fn braze_rejection_is_502_and_retryable_later() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let request = signed("production", EXTOLE_KEY, &sample("converted"));
    platform.braze.then_reply(401, &[], &format!(r#"{{"message":"Invalid API key: {BRAZE_KEY}"}}"#));
    let response = send(&platform, &configs, &request);
    assert_eq!((response.status, response.body["error"].as_str()), (502, Some("braze_rejected")));
    assert_eq!(response.body["braze_status"], 401);
    assert!(!response.body.to_string().contains(BRAZE_KEY));
    assert_eq!(send(&platform, &configs, &request).body["status"], "delivered");
}

#[test]
fn item_level_errors_are_reported_and_the_event_counts_as_handled() {
    let (platform, configs) = (platform(), ConfigCache::default());
    platform.braze.then_reply(
        201,
        &[],
        r#"{"message":"success","events_processed":0,"attributes_processed":1,"errors":[{"type":"invalid time","input_array":"events","index":0}]}"#,
    );
    let response = send(&platform, &configs, &signed("production", EXTOLE_KEY, &sample("converted")));
    assert_eq!(response.status, 200);
    assert_eq!(response.body["braze_errors"][0]["type"], "invalid time");
    assert!(platform.logs.borrow().last().unwrap().contains("\"item_errors\":1"));
}

#[test]
fn kv_outage_during_dedup_is_retryable() {
    let (platform, configs) = (platform(), ConfigCache::default());
    platform.state.failing.set(true);
    let response = send(&platform, &configs, &signed("production", EXTOLE_KEY, &sample("converted")));
    assert_eq!((response.status, response.body["error"].as_str()), (503, Some("state_unavailable")));
    assert!(platform.braze.sent.borrow().is_empty());
}

#[test]
fn missing_braze_key_or_endpoint_is_retryable_misconfiguration() {
    let platform = MemoryPlatform::new(&[("EXTOLE_WEBHOOK_SECRET_PRODUCTION", EXTOLE_KEY)]);
    let configs = ConfigCache::default();
    let response = send(&platform, &configs, &signed("production", EXTOLE_KEY, &sample("converted")));
    assert_eq!((response.status, response.body["error"].as_str()), (503, Some("misconfigured")));
    assert!(response.body["message"].as_str().unwrap().contains("BRAZE_REST_ENDPOINT_PRODUCTION"));
}

#[test]
fn batches_deliver_what_they_can_and_report_each_event() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let batch = r#"[
        {"event":"shared","event_id":"b-1","userId":"u-1"},
        {"event":"shared","event_id":"b-2","properties":{"first_name":"No Id"}},
        {"event":"signed_up","event_id":"b-3","userId":"u-3"}
    ]"#;
    let request = signed("production", EXTOLE_KEY, batch);
    let response = send(&platform, &configs, &request);
    assert_eq!(response.status, 422, "{}", response.body);
    let fates: Vec<_> = response.body["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap().to_string()).collect();
    assert_eq!(fates, ["delivered", "failed", "delivered"]);
    assert_eq!(last_sent(&platform)["events"].as_array().unwrap().len(), 2);
    // The retry resends nothing that is already in Braze.
    let retry = send(&platform, &configs, &request);
    let fates: Vec<_> = retry.body["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap().to_string()).collect();
    assert_eq!(fates, ["duplicate", "failed", "duplicate"]);
    assert_eq!(platform.braze.sent.borrow().len(), 1);
}

#[test]
fn identity_fallbacks_are_configurable() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let no_id = r#"{"type":"shared","event_id":"f-1","data":{"email":" Pat@Example.org "}}"#;
    send(&platform, &configs, &signed("production", EXTOLE_KEY, no_id));
    assert_eq!(last_sent(&platform)["events"][0]["email"], "pat@example.org");

    let platform = self::platform();
    platform.config.entries.borrow_mut().insert(
        config_key("production"),
        (json!({"identity": {"fallback": "user_alias", "alias_label": "extole_email"}}).to_string(), None),
    );
    let configs = ConfigCache::default();
    send(&platform, &configs, &signed("production", EXTOLE_KEY, no_id));
    let body = last_sent(&platform);
    let alias = json!({"alias_name": "pat@example.org", "alias_label": "extole_email"});
    assert_eq!(body["attributes"][0]["user_alias"], alias);
    assert_eq!(body["attributes"][0]["_update_existing_only"], false);
    assert_eq!(body["events"][0]["user_alias"], alias);
}

#[test]
fn unknown_events_forward_or_ignore_by_config() {
    let (platform, configs) = (platform(), ConfigCache::default());
    let shipped = r#"{"type":"shipped","event_id":"s-1","userId":"u"}"#;
    send(&platform, &configs, &signed("production", EXTOLE_KEY, shipped));
    assert_eq!(last_sent(&platform)["events"][0]["name"], "shipped");

    let platform = self::platform();
    platform.config.entries.borrow_mut().insert(config_key("production"), (r#"{"events":{"unknown":"ignore"}}"#.into(), None));
    let configs = ConfigCache::default();
    let response = send(&platform, &configs, &signed("production", EXTOLE_KEY, shipped));
    assert_eq!((response.status, response.body["status"].as_str()), (200, Some("ignored")));
    assert!(platform.braze.sent.borrow().is_empty());
}

#[test]
fn invalid_kv_config_is_not_used() {
    let (platform, configs) = (platform(), ConfigCache::default());
    platform.config.entries.borrow_mut().insert(config_key("production"), (r#"{"auth":"none","dedup":{"window_seconds":1}}"#.into(), None));
    let unsigned = IncomingRequest { method: "POST".into(), path: "/extole/production".into(), headers: vec![], body: sample("shared").into_bytes() };
    assert_eq!(send(&platform, &configs, &unsigned).status, 401, "the invalid config's auth: none must not apply");
    let logs = platform.logs.borrow();
    let warning = logs.iter().find(|l| l.contains("config_invalid_using_last_good")).expect("config problem logged");
    assert!(warning.contains("$.dedup.window_seconds"), "{warning}");
}

#[test]
fn log_lines_are_structured_and_carry_no_personal_data_or_keys() {
    let (platform, configs) = (platform(), ConfigCache::default());
    for name in ["converted", "signed-up", "reward-earned", "share-link-created"] {
        send(&platform, &configs, &signed("production", EXTOLE_KEY, &sample(name)));
    }
    send(&platform, &configs, &signed("production", "wrong", &sample("signed-up")));
    let logs = platform.logs.borrow();
    assert_eq!(logs.len(), 5);
    for line in logs.iter() {
        let parsed: Value = serde_json::from_str(line).expect("one JSON object per line");
        for field in ["environment", "outcome", "status", "duration_ms", "event_names"] {
            assert!(parsed.get(field).is_some() || parsed["status"] == 401, "{field} missing in {line}");
        }
        for secret in [EXTOLE_KEY, BRAZE_KEY, "@", "555", "0142", "Omar", "Haddad"] {
            assert!(!line.contains(secret), "{secret} leaked into {line}");
        }
    }
    let first: Value = serde_json::from_str(&logs[0]).unwrap();
    assert_eq!(first["braze_status"], 201);
    assert_eq!(first["event_ids"][0], "d4a3f5e6b7c8d9e0f1a2");
}
