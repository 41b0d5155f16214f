//! Extole's side: what a webhook body looks like and how it becomes one normalised event.
//!
//! Extole's team can reshape a webhook body per client, so nothing here assumes one schema:
//! the event name, id, time and person fields are looked for wherever the public record says
//! they may be (top level, `data`, `properties`).

mod event;
mod parse;
mod time;

pub use event::{scalar_to_string, ExtoleEvent, Person};
pub use parse::{id_text, parse_body, ParseError, ParseLimits};
pub use time::{format_braze_time, parse_event_time};
