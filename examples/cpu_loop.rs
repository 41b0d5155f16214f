//! Native twin of `bench/wasm-cpu.mjs`: times the pure pipeline and the whole journey of
//! `extole_braze_relay::bench_support` on every bench payload, the same way the script
//! times them in WebAssembly, and prints one JSON line per payload:
//! `{"name", "bytes", "events", "pure": {"median", "min", "max"}, "journey": {...}}`, in µs
//! per request.
//!
//!   cargo run --release --example cpu_loop [ROUNDS] [ROUND_MS] [ONLY_PAYLOAD]

use std::time::Instant;

use extole_braze_relay::bench_support::{payload, payloads, Journey, PurePipeline};
use serde_json::{json, Value};

/// Warms up and calibrates (doubling until one batch takes 20 ms), sizes a round to
/// `round_ms`, and times `rounds` rounds of `run(n)`: µs per iteration, median, min and max.
fn time_rounds(rounds: usize, round_ms: f64, mut run: impl FnMut(u32)) -> Value {
    let mut time = |n: u32| {
        let start = Instant::now();
        run(n);
        start.elapsed().as_secs_f64() * 1e3
    };
    let mut n = 1;
    let mut took = time(n);
    while took < 20.0 {
        n *= 2;
        took = time(n);
    }
    let per_round = ((f64::from(n) * round_ms / took).ceil() as u32).max(1);
    let mut micros: Vec<f64> = (0..rounds).map(|_| time(per_round) * 1e3 / f64::from(per_round)).collect();
    micros.sort_by(f64::total_cmp);
    json!({ "median": micros[micros.len() / 2], "min": micros[0], "max": micros[micros.len() - 1] })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let round_ms: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(150.0);
    let only = args.next();
    let (pipeline, journey) = (PurePipeline::default(), Journey::default());
    // One payload named: only that one is built (an unknown name measures nothing, as before).
    let chosen = only.map_or_else(payloads, |name| payload(&name).into_iter().collect());
    for payload in chosen {
        let request = Journey::request(&payload);
        let pure = time_rounds(rounds, round_ms, |n| {
            pipeline.run_many(&payload, n).expect("bench payloads go through");
        });
        let whole = time_rounds(rounds, round_ms, |n| journey.run_many(&request, n).expect("bench payloads are delivered"));
        println!(
            "{}",
            json!({ "name": payload.name, "bytes": payload.body.len(), "events": payload.events, "pure": pure, "journey": whole })
        );
    }
}
