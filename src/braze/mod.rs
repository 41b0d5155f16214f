//! Braze's side: the `/users/track` body, its documented rules and limits, where it is sent
//! and what its answers mean.

mod endpoint;
mod model;
mod response;
pub mod rules;

pub use endpoint::BrazeEndpoint;
pub use model::{pack, BrazeObject, EventObjects, PackedRequest, RequestCaps, UsersTrackBody, DEFAULT_MAX_REQUEST_BYTES};
pub use response::{classify, Accepted, BrazeOutcome, ItemError};
