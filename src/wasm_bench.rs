//! Bench-only WebAssembly exports (cargo feature `wasm-bench`, never in the Worker build):
//! the pure pipeline of [`crate::bench_support`], for `bench/wasm-cpu.mjs` to time inside a
//! JavaScript engine with the same release profile and wasm-opt settings as the Worker.

use std::cell::OnceCell;

use wasm_bindgen::prelude::*;

use crate::bench_support::{payloads, Payload, PurePipeline};

thread_local! {
    static STATE: OnceCell<(PurePipeline, Vec<Payload>)> = const { OnceCell::new() };
}

fn with_state<T>(f: impl FnOnce(&PurePipeline, &[Payload]) -> T) -> T {
    STATE.with(|cell| {
        let (pipeline, payloads) = cell.get_or_init(|| (PurePipeline::default(), payloads()));
        f(pipeline, payloads)
    })
}

/// The payloads, as JSON: `[{"name", "bytes", "events"}, ...]`.
#[wasm_bindgen]
pub fn bench_payloads() -> String {
    with_state(|_, payloads| {
        let list: Vec<_> = payloads
            .iter()
            .map(|p| serde_json::json!({ "name": p.name, "bytes": p.body.len(), "events": p.events }))
            .collect();
        serde_json::to_string(&list).unwrap_or_default()
    })
}

/// Runs the pure pipeline `iterations` times on payload `index`; the bytes for Braze.
#[wasm_bindgen]
pub fn bench_run(index: usize, iterations: u32) -> Result<usize, JsError> {
    with_state(|pipeline, payloads| {
        let payload = payloads.get(index).ok_or_else(|| JsError::new("no such payload"))?;
        pipeline.run_many(payload, iterations).map_err(|e| JsError::new(&e))
    })
}
