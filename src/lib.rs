//! Extole -> Braze relay: a Cloudflare Worker that receives Extole's outbound webhooks and
//! turns each one into a Braze `POST /users/track` call.
//!
//! The request's journey is in [`pipeline`]. Extole's side is [`extole`], Braze's side is
//! [`braze`], and the translation between them is [`mapping`]. Nothing outside
//! `worker_glue` knows about Workers, so everything else runs and is tested natively.

pub mod authenticate;
#[doc(hidden)]
pub mod bench_support;
pub mod braze;
pub mod config;
pub mod dead_letters;
pub mod dedup;
pub mod deliver;
pub mod environment;
pub mod error;
pub mod extole;
pub mod json;
pub mod mapping;
pub mod memory;
pub mod pipeline;
pub mod ports;
pub mod queue;
pub mod redact;
pub mod respond;

#[cfg(all(target_arch = "wasm32", not(feature = "wasm-bench")))]
mod worker_glue;

#[cfg(all(target_arch = "wasm32", feature = "wasm-bench"))]
mod wasm_bench;
