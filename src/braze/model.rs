use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub type BrazeObject = Map<String, Value>;

/// The body of `POST /users/track`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsersTrackBody {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<BrazeObject>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<BrazeObject>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub purchases: Vec<BrazeObject>,
}

impl UsersTrackBody {
    /// The JSON text sent to Braze, written into a buffer sized for a typical request at
    /// once (rather than grown from serde_json's default 128 bytes).
    pub fn to_json(&self) -> Vec<u8> {
        let mut text = Vec::with_capacity(4096);
        serde_json::to_writer(&mut text, self).expect("a JSON map always serialises");
        text
    }

    pub fn object_count(&self) -> usize {
        self.attributes.len() + self.events.len() + self.purchases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.object_count() == 0
    }
}

/// The Braze objects one Extole event became; they always travel in the same request
/// (and, in queue mode, in the same queue message).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventObjects {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BrazeObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<BrazeObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase: Option<BrazeObject>,
}

impl EventObjects {
    pub fn count(&self) -> usize {
        [self.attributes.is_some(), self.event.is_some(), self.purchase.is_some()].into_iter().filter(|x| *x).count()
    }

    /// Applies Braze's property rules again to objects read back from JSON text (a queue
    /// message): serde_json's fast float reader can move a 16- or 17-digit decimal by one
    /// unit in the last place, which may write it a digit longer, past the 50 KB limit.
    pub fn refit_properties(&mut self) {
        if let Some(Value::Object(properties)) = self.event.as_mut().and_then(|event| event.get_mut("properties")) {
            *properties = crate::braze::rules::clean_properties(std::mem::take(properties));
        }
    }

    fn byte_size(&self) -> usize {
        serde_json::to_vec(self).map_or(usize::MAX, |b| b.len())
    }
}

/// Braze's request caps for one workspace's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCaps {
    pub per_array: usize,
    pub combined: Option<usize>,
    pub max_bytes: usize,
}

impl RequestCaps {
    /// The caps an environment's Braze settings describe.
    pub fn for_settings(settings: &crate::config::BrazeSettings) -> Self {
        Self { per_array: settings.max_objects_per_array, combined: settings.max_objects_per_request, max_bytes: DEFAULT_MAX_REQUEST_BYTES }
    }
}

/// Requests are kept well under any proxy's body limit.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1_000_000;

/// One `/users/track` request and, for each object in each of its arrays, which input item
/// (position in the slice given to [`pack`]) it came from, so item-level errors can be
/// traced back to the Extole event.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedRequest {
    pub body: UsersTrackBody,
    pub items: Vec<usize>,
    attribute_origin: Vec<usize>,
    event_origin: Vec<usize>,
    purchase_origin: Vec<usize>,
}

impl PackedRequest {
    /// The input item an item-level error (`input_array`, `index`) refers to.
    pub fn origin(&self, input_array: &str, index: usize) -> Option<usize> {
        let origins = match input_array {
            "attributes" => &self.attribute_origin,
            "events" => &self.event_origin,
            "purchases" => &self.purchase_origin,
            _ => return None,
        };
        origins.get(index).copied()
    }

    fn fits(&self, item: &EventObjects, item_bytes: usize, current_bytes: usize, caps: RequestCaps) -> bool {
        let arrays_fit = self.body.attributes.len() + usize::from(item.attributes.is_some()) <= caps.per_array
            && self.body.events.len() + usize::from(item.event.is_some()) <= caps.per_array
            && self.body.purchases.len() + usize::from(item.purchase.is_some()) <= caps.per_array;
        let combined_fits = caps.combined.is_none_or(|cap| self.body.object_count() + item.count() <= cap);
        arrays_fit && combined_fits && current_bytes + item_bytes <= caps.max_bytes
    }

    fn push(&mut self, index: usize, item: EventObjects) {
        self.items.push(index);
        let slots = [
            (item.attributes, &mut self.body.attributes, &mut self.attribute_origin),
            (item.event, &mut self.body.events, &mut self.event_origin),
            (item.purchase, &mut self.body.purchases, &mut self.purchase_origin),
        ];
        for (object, array, origin) in slots {
            if let Some(object) = object {
                array.push(object);
                origin.push(index);
            }
        }
    }

    fn empty() -> Self {
        Self {
            body: UsersTrackBody::default(),
            items: Vec::new(),
            attribute_origin: Vec::new(),
            event_origin: Vec::new(),
            purchase_origin: Vec::new(),
        }
    }
}

/// Packs items into as few requests as the caps allow, in order, never splitting one
/// event's objects across requests. Items with no objects are skipped.
/// Takes the items by value: their objects move into the request bodies, uncopied.
pub fn pack(items: Vec<EventObjects>, caps: RequestCaps) -> Vec<PackedRequest> {
    let mut requests = Vec::new();
    let mut current = PackedRequest::empty();
    let mut current_bytes = 0;
    // Sizes only matter where requests could be split: not for a lone event (most webhooks).
    let needs_sizes = items.iter().filter(|item| item.count() > 0).nth(1).is_some();
    for (index, item) in items.into_iter().enumerate() {
        if item.count() == 0 {
            continue;
        }
        let item_bytes = if needs_sizes { item.byte_size() } else { 0 };
        if !current.items.is_empty() && !current.fits(&item, item_bytes, current_bytes, caps) {
            requests.push(std::mem::replace(&mut current, PackedRequest::empty()));
            current_bytes = 0;
        }
        current.push(index, item);
        current_bytes += item_bytes;
    }
    if !current.items.is_empty() {
        requests.push(current);
    }
    requests
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(i: usize, with_attributes: bool) -> EventObjects {
        let object = |kind: &str| json!({"external_id": format!("u{i}"), "kind": kind}).as_object().cloned();
        EventObjects { attributes: with_attributes.then(|| object("a")).flatten(), event: object("e"), purchase: None }
    }

    #[test]
    fn refit_keeps_queued_properties_under_50kb() {
        let mut properties = serde_json::Map::new();
        for i in 0..300 {
            properties.insert(format!("k{i}"), json!("v".repeat(200)));
        }
        let mut item = EventObjects { attributes: None, event: json!({"name": "n", "properties": properties}).as_object().cloned(), purchase: None };
        item.refit_properties();
        let properties = &item.event.as_ref().unwrap()["properties"];
        assert!(serde_json::to_vec(properties).unwrap().len() < crate::braze::rules::MAX_PROPERTIES_BYTES);
        assert_eq!(properties[crate::braze::rules::TRUNCATED_MARKER], true);
    }

    #[test]
    fn packs_up_to_75_per_array_and_traces_origins() {
        let items: Vec<_> = (0..160).map(|i| item(i, i % 2 == 0)).collect();
        let caps = RequestCaps { per_array: 75, combined: None, max_bytes: DEFAULT_MAX_REQUEST_BYTES };
        let packed = pack(items.clone(), caps);
        assert_eq!(packed.iter().map(|p| p.body.events.len()).collect::<Vec<_>>(), [75, 75, 10]);
        assert!(packed.iter().all(|p| p.body.attributes.len() <= 75));
        let second = &packed[1];
        assert_eq!(second.origin("events", 0), Some(75));
        assert_eq!(second.origin("attributes", 0), Some(76));
        assert_eq!(second.origin("purchases", 0), None);
        assert_eq!(packed.iter().map(|p| p.items.len()).sum::<usize>(), 160);
    }

    #[test]
    fn respects_combined_cap_and_byte_budget() {
        let items: Vec<_> = (0..40).map(|i| item(i, true)).collect();
        let combined = pack(items.clone(), RequestCaps { per_array: 75, combined: Some(50), max_bytes: DEFAULT_MAX_REQUEST_BYTES });
        assert!(combined.iter().all(|p| p.body.object_count() <= 50));
        assert_eq!(combined.len(), 2);
        let tiny = pack(items.clone(), RequestCaps { per_array: 75, combined: None, max_bytes: 120 });
        assert_eq!(tiny.len(), 40);
    }
}
