//! Per-environment configuration from KV, natively: presets, paths, purchases, consent
//! channels, preview and the config endpoint.

use extole_braze_relay::authenticate::sign_hs256;
use extole_braze_relay::environment::{config_key, ConfigCache};
use extole_braze_relay::memory::MemoryPlatform;
use extole_braze_relay::pipeline::handle;
use extole_braze_relay::ports::IncomingRequest;
use extole_braze_relay::respond::Response;
use serde_json::{json, Value};

const EXTOLE_KEY: &str = "cfg-extole-key";
const BRAZE_KEY: &str = "cfg-braze-key";
const ADMIN_TOKEN: &str = "cfg-admin-token";

/// A platform whose production environment has `document` in KV.
fn platform_with(document: Value) -> MemoryPlatform {
    let platform = MemoryPlatform::new(&[
        ("EXTOLE_WEBHOOK_SECRET_PRODUCTION", EXTOLE_KEY),
        ("BRAZE_API_KEY_PRODUCTION", BRAZE_KEY),
        ("BRAZE_REST_ENDPOINT_PRODUCTION", "US-05"),
        ("RELAY_ADMIN_TOKEN", ADMIN_TOKEN),
    ]);
    platform.config.entries.borrow_mut().insert(config_key("production"), (document.to_string(), None));
    platform
}

fn post(platform: &MemoryPlatform, configs: &ConfigCache, path: &str, body: &str) -> Response {
    let request = IncomingRequest {
        method: "POST".into(),
        path: path.into(),
        headers: vec![("x-extole-signature".into(), sign_hs256(EXTOLE_KEY, body.as_bytes()))],
        body: body.as_bytes().to_vec(),
    };
    pollster::block_on(handle(platform, configs, &request))
}

fn last_sent(platform: &MemoryPlatform) -> Value {
    platform.braze.sent.borrow().last().expect("something was sent").body.clone()
}

/// The retailer from the README: its own event names, user id in data.customer_number,
/// Extole-connector naming, SMS consent through a subscription group, purchases.
fn retailer() -> Value {
    serde_json::from_str(include_str!("../examples/config/retailer.json")).unwrap()
}

#[test]
fn retailer_config_renames_events_and_finds_the_customer_number() {
    let platform = platform_with(retailer());
    let configs = ConfigCache::default();
    let body = r#"{"type":"purchase_completed","event_id":"r-1","event_time":"2026-11-30T10:00:00Z","data":{"customer_number":"C-77","email":"buyer@example.com","order_total":"59.5","currency":"eur","order_id":"O-1"}}"#;
    let response = post(&platform, &configs, "/extole/production", body);
    assert_eq!(response.status, 200, "{}", response.body);
    let sent = last_sent(&platform);
    assert_eq!(sent["events"][0]["name"], "extole_converted");
    assert_eq!(sent["events"][0]["external_id"], "C-77");
    assert_eq!(
        sent["purchases"][0],
        json!({"external_id": "C-77", "product_id": "referral_order", "currency": "EUR", "price": 59.5, "quantity": 1,
               "time": "2026-11-30T10:00:00.000Z", "properties": {"event_id": "r-1", "order_id": "O-1"}})
    );
}

#[test]
fn extole_native_preset_names_rewards_by_state() {
    let platform = platform_with(retailer());
    let configs = ConfigCache::default();
    let body = r#"{"type":"reward_fulfilled","event_id":"rf-1","partner_user_id":"cust-1","face_value":20,"data":{"customer_number":"C-1"}}"#;
    post(&platform, &configs, "/extole/production", body);
    assert_eq!(last_sent(&platform)["events"][0]["name"], "extole_reward_fulfilled");
    let share = r#"{"type":"advocate_code_created","event_id":"sl-1","data":{"customer_number":"C-1"}}"#;
    post(&platform, &configs, "/extole/production", share);
    assert_eq!(last_sent(&platform)["events"][0]["name"], "extole_share_link_created");
}

#[test]
fn sms_consent_goes_to_the_subscription_group() {
    let platform = platform_with(retailer());
    let configs = ConfigCache::default();
    let body = r#"{"type":"opted_in","event_id":"sms-1","data":{"customer_number":"C-9","channel":"SMS"}}"#;
    post(&platform, &configs, "/extole/production", body);
    let sent = last_sent(&platform);
    assert_eq!(sent["events"][0]["name"], "extole_opted_in");
    assert_eq!(
        sent["attributes"][0]["subscription_groups"],
        json!([{"subscription_group_id": "3f0d6a2e-sms-group", "subscription_state": "subscribed"}])
    );
    let email = r#"{"type":"opted_out","event_id":"em-1","data":{"customer_number":"C-9"}}"#;
    post(&platform, &configs, "/extole/production", email);
    assert_eq!(last_sent(&platform)["attributes"][0]["email_subscribe"], "unsubscribed");
}

#[test]
fn attributes_can_be_turned_off_and_added() {
    let platform = platform_with(json!({"attributes": {"home_city": null, "state": {"from": "state", "transform": "trim", "enabled": false},
        "loyalty_tier": {"from": "data.tier", "transform": "lowercase"}}}));
    let configs = ConfigCache::default();
    let body = r#"{"type":"signed_up","event_id":"a-1","data":{"partner_user_id":"u","city":"Boston","state":"MA","tier":"GOLD"}}"#;
    post(&platform, &configs, "/extole/production", body);
    let attributes = &last_sent(&platform)["attributes"][0];
    assert_eq!(attributes.get("home_city"), None);
    assert_eq!(attributes.get("state"), None);
    assert_eq!(attributes["loyalty_tier"], "gold");
}

#[test]
fn unknown_names_can_be_prefixed() {
    let platform = platform_with(json!({"events": {"unknown": "prefix", "prefix": "xt_"}}));
    let configs = ConfigCache::default();
    post(&platform, &configs, "/extole/production", r#"{"type":"Order Shipped","event_id":"p-1","userId":"u"}"#);
    assert_eq!(last_sent(&platform)["events"][0]["name"], "xt_order_shipped");
}

#[test]
fn preview_returns_the_body_delivery_then_sends() {
    let platform = platform_with(retailer());
    let configs = ConfigCache::default();
    let body = r#"{"type":"purchase_completed","event_id":"pv-1","event_time":"2026-11-30T10:00:00Z","data":{"customer_number":"C-5","order_total":12}}"#;
    let preview = post(&platform, &configs, "/extole/production/preview", body);
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["status"], "preview");
    assert_eq!(preview.body["config"]["source"], "kv");
    assert_eq!(preview.body["config"]["version"], 1);
    assert_eq!(preview.body["config"]["preset"], "extole_native");
    assert!(platform.braze.sent.borrow().is_empty(), "preview must not deliver");
    assert!(platform.state.entries.borrow().is_empty(), "preview must not record");
    let delivered = post(&platform, &configs, "/extole/production", body);
    assert_eq!(delivered.body["status"], "delivered");
    assert_eq!(preview.body["users_track"], last_sent(&platform));
    // Preview is authenticated like the webhook.
    let unsigned = IncomingRequest { method: "POST".into(), path: "/extole/production/preview".into(), body: body.into(), ..Default::default() };
    assert_eq!(pollster::block_on(handle(&platform, &configs, &unsigned)).status, 401);
}

#[test]
fn config_endpoint_shows_names_never_values() {
    let platform = platform_with(retailer());
    let configs = ConfigCache::default();
    let get = |token: &str| {
        let request = IncomingRequest {
            method: "GET".into(),
            path: "/extole/production/config".into(),
            headers: vec![("authorization".into(), format!("Bearer {token}"))],
            body: vec![],
        };
        pollster::block_on(handle(&platform, &configs, &request))
    };
    assert_eq!(get("wrong").status, 401);
    let response = get(ADMIN_TOKEN);
    assert_eq!(response.status, 200, "{}", response.body);
    let text = response.body.to_string();
    for secret in [EXTOLE_KEY, BRAZE_KEY, ADMIN_TOKEN] {
        assert!(!text.contains(secret), "{secret} shown");
    }
    assert_eq!(response.body["secrets"]["braze_api_key"], json!({"name": "BRAZE_API_KEY_PRODUCTION", "set": true}));
    assert_eq!(response.body["config"]["events"]["preset"], "extole_native");
    assert_eq!(response.body["config"]["source"], "kv");
    assert_eq!(response.body["braze_users_track_url"], "https://rest.iad-05.braze.com/users/track");
    let outcomes: Vec<String> = platform.logs.borrow().iter().map(|line| serde_json::from_str::<Value>(line).unwrap()["outcome"].to_string()).collect();
    assert_eq!(outcomes, ["\"error\"", "\"ok\""], "the operator endpoint's answers log as their status says");
}

#[test]
fn a_changed_document_is_picked_up_after_the_cache_expires() {
    let platform = platform_with(json!({}));
    let configs = ConfigCache::default();
    let body = |id: &str| format!(r#"{{"type":"shared","event_id":"{id}","userId":"u"}}"#);
    post(&platform, &configs, "/extole/production", &body("c-1"));
    assert_eq!(last_sent(&platform)["events"][0]["name"], "Shared");
    platform.config.entries.borrow_mut().insert(config_key("production"), (json!({"events": {"map": {"shared": "Referral Shared"}}}).to_string(), None));
    post(&platform, &configs, "/extole/production", &body("c-2"));
    assert_eq!(last_sent(&platform)["events"][0]["name"], "Shared", "still cached");
    platform.now.set(platform.now.get() + chrono::Duration::seconds(31));
    post(&platform, &configs, "/extole/production", &body("c-3"));
    assert_eq!(last_sent(&platform)["events"][0]["name"], "Referral Shared");
    // A broken document afterwards keeps the last good one serving.
    platform.config.entries.borrow_mut().insert(config_key("production"), (r#"{"events": {"unknown": "drop"}}"#.into(), None));
    platform.now.set(platform.now.get() + chrono::Duration::seconds(31));
    post(&platform, &configs, "/extole/production", &body("c-4"));
    assert_eq!(last_sent(&platform)["events"][0]["name"], "Referral Shared");
    assert!(platform.logs.borrow().iter().any(|l| l.contains("config_invalid_using_last_good") && l.contains("$.events.unknown")));
}

#[test]
fn a_kv_document_can_create_an_environment() {
    let platform = platform_with(json!({}));
    platform.config.entries.borrow_mut().insert(config_key("eu-prod"), (json!({"auth": "none", "braze": {"endpoint": "EU-01"}}).to_string(), None));
    let secrets = [("BRAZE_API_KEY_EU_PROD", "eu-key")];
    let mut platform = platform;
    platform.secrets.extend(secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let configs = ConfigCache::default();
    let request = IncomingRequest { method: "POST".into(), path: "/extole/eu-prod".into(), body: br#"{"type":"shared","userId":"u"}"#.to_vec(), ..Default::default() };
    let response = pollster::block_on(handle(&platform, &configs, &request));
    assert_eq!(response.status, 200, "{}", response.body);
    let sent = platform.braze.sent.borrow();
    assert_eq!((sent[0].url.as_str(), sent[0].api_key.as_str()), ("https://rest.fra-01.braze.eu/users/track", "eu-key"));
}

/// A channel switched from a subscription group back to `email_subscribe` may keep its old
/// `group_id`: the document stays valid (the id is ignored), as it always was.
#[test]
fn email_subscribe_with_a_leftover_group_id_is_still_valid() {
    let document = json!({"version": 1, "subscriptions": {"channels": {"email": {"type": "email_subscribe", "group_id": "old"}}}});
    let config = extole_braze_relay::config::EmbeddedConfig::load().resolve("production", Some(&document)).expect("valid");
    assert_eq!(config.subscriptions.channels["email"], extole_braze_relay::config::ChannelTarget::EmailSubscribe);
}
