//! Native twin of `bench/wasm-cpu.mjs`: times the pure pipeline of
//! `extole_braze_relay::bench_support` on every bench payload, the same way the script
//! times it in WebAssembly, and prints one JSON line per payload:
//! `{"name", "bytes", "events", "us_per_request": {"median", "min", "max"}, "iterations"}`.
//!
//!   cargo run --release --example cpu_loop [ROUNDS] [ROUND_MS] [ONLY_PAYLOAD]

use std::time::Instant;

use extole_braze_relay::bench_support::{payloads, PurePipeline};

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let round_ms: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(150.0);
    let only = args.next();
    let pipeline = PurePipeline::default();
    for payload in payloads().into_iter().filter(|p| only.as_ref().is_none_or(|o| *o == p.name)) {
        let time = |n: u32| {
            let start = Instant::now();
            pipeline.run_many(&payload, n).expect("bench payloads go through");
            start.elapsed().as_secs_f64() * 1e3
        };
        // Warm up and calibrate: double until one batch takes 20 ms, then size a round.
        let mut n = 1;
        let mut took = time(n);
        while took < 20.0 {
            n *= 2;
            took = time(n);
        }
        let per_round = ((f64::from(n) * round_ms / took).ceil() as u32).max(1);
        let mut micros: Vec<f64> = (0..rounds).map(|_| time(per_round) * 1e3 / f64::from(per_round)).collect();
        micros.sort_by(f64::total_cmp);
        println!(
            "{}",
            serde_json::json!({
                "name": payload.name,
                "bytes": payload.body.len(),
                "events": payload.events,
                "iterations": per_round,
                "us_per_request": { "median": micros[micros.len() / 2], "min": micros[0], "max": micros[micros.len() - 1] },
            })
        );
    }
}
