//! Conversions as Braze purchase objects, where the config asks for them.

use serde_json::{json, Map, Value};

use crate::braze::rules::MAX_STRING_CHARS;
use crate::braze::BrazeObject;
use crate::config::ConversionSettings;
use crate::extole::{scalar_to_string, ExtoleEvent};
use crate::mapping::values::circulating_currency;

/// Order fields carried as purchase properties when the event has them.
const ORDER_FIELDS: [&str; 3] = ["order_id", "partner_conversion_id", "coupon_code"];

/// The purchase for a conversion, or `None` when the event has no usable price.
pub fn purchase_of(event: &ExtoleEvent, settings: &ConversionSettings, time: &str) -> Option<BrazeObject> {
    let price = settings.price_paths.iter().find_map(|path| event.lookup(path).and_then(price_of))?;
    // A currency the event names but that is not in circulation drops the purchase: pricing
    // it in the default currency would be wrong data.
    let currency = match settings.currency_paths.iter().find_map(|path| event.lookup_string(path)) {
        Some(named) => circulating_currency(&named)?,
        None => settings.default_currency.to_ascii_uppercase(),
    };
    let product_id = settings
        .product_id_path
        .as_deref()
        .and_then(|path| event.lookup_string(path))
        .filter(|id| id.chars().count() <= MAX_STRING_CHARS)
        .unwrap_or_else(|| settings.product_id.clone());
    let mut properties = Map::new();
    if let Some(id) = &event.id {
        properties.insert("event_id".into(), json!(id));
    }
    for field in ORDER_FIELDS {
        if let Some(value) = event.lookup(field).and_then(scalar_to_string) {
            properties.insert(field.into(), json!(crate::braze::rules::clip_string(&value)));
        }
    }
    let mut purchase = Map::new();
    purchase.insert("product_id".into(), json!(product_id));
    purchase.insert("currency".into(), json!(currency));
    purchase.insert("price".into(), price);
    purchase.insert("quantity".into(), json!(1));
    purchase.insert("time".into(), json!(time));
    purchase.insert("properties".into(), Value::Object(properties));
    Some(purchase)
}

/// A non-negative finite price from a number or a numeric string (`"129.90"`).
fn price_of(value: &Value) -> Option<Value> {
    let price: f64 = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (price.is_finite() && price >= 0.0).then(|| serde_json::Number::from_f64(price).map(Value::Number)).flatten()
}
