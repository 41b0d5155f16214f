//! Bench-only WebAssembly exports (cargo feature `wasm-bench`, never in the Worker build):
//! the pure pipeline and the whole journey of [`crate::bench_support`], for
//! `bench/wasm-cpu.mjs` to time inside a JavaScript engine with the same release profile and
//! wasm-opt settings as the Worker.

use std::cell::OnceCell;

use wasm_bindgen::prelude::*;

use crate::bench_support::{payloads, Journey, Payload, PurePipeline};
use crate::ports::IncomingRequest;

struct State {
    pipeline: PurePipeline,
    journey: Journey,
    payloads: Vec<(Payload, IncomingRequest)>,
}

thread_local! {
    static STATE: OnceCell<State> = const { OnceCell::new() };
}

fn with_state<T>(f: impl FnOnce(&State) -> T) -> T {
    STATE.with(|cell| {
        f(cell.get_or_init(|| State {
            pipeline: PurePipeline::default(),
            journey: Journey::default(),
            payloads: payloads().into_iter().map(|p| { let request = Journey::request(&p); (p, request) }).collect(),
        }))
    })
}

/// The payloads, as JSON: `[{"name", "bytes", "events"}, ...]`.
#[wasm_bindgen]
pub fn bench_payloads() -> String {
    with_state(|state| {
        let list: Vec<_> = state
            .payloads
            .iter()
            .map(|(p, _)| serde_json::json!({ "name": p.name, "bytes": p.body.len(), "events": p.events }))
            .collect();
        serde_json::to_string(&list).unwrap_or_default()
    })
}

/// Runs `kind` (`pure` or `journey`) `iterations` times on payload `index`.
#[wasm_bindgen]
pub fn bench_run(kind: &str, index: usize, iterations: u32) -> Result<(), JsError> {
    with_state(|state| {
        let (payload, request) = state.payloads.get(index).ok_or_else(|| JsError::new("no such payload"))?;
        let ran = match kind {
            "pure" => state.pipeline.run_many(payload, iterations).map(drop),
            "journey" => state.journey.run_many(request, iterations),
            _ => Err(format!("no bench kind {kind}: pure or journey")),
        };
        ran.map_err(|e| JsError::new(&e))
    })
}
