//! `cargo bench`: the relay's pipeline, natively, on every sample payload, a ~50 KB event
//! and a batch of 100 events.
//!
//! Three measurements per payload:
//! - `pure`: verify the HS256 signature, parse, normalise, translate, pack and serialise
//!   the `/users/track` body (`bench_support::PurePipeline`, the crate's public API);
//! - `journey`: the whole request through `pipeline::handle` with the in-memory platform
//!   (routing, config cache, dedup lookup and record in an in-memory KV, delivery to a
//!   Braze that answers at once, the response and the log line: `bench_support::Journey`);
//! - `baseline`: a JSON parse and re-serialisation of the same body, measured in the same
//!   run, so the pipeline's cost reads as a ratio that does not depend on the machine.
//!
//! Criterion prints its own statistics for each; a summary table follows with events per
//! second per core (the benchmarks are single-threaded, so per core is per run) and the
//! ratios. Nothing here fails on time: the target (100,000 events/s/core on the samples)
//! is reported, not asserted.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use extole_braze_relay::bench_support::{json_roundtrip, payloads, Journey, PurePipeline};

const TARGET_EVENTS_PER_SECOND: f64 = 100_000.0;

thread_local! {
    /// (kind, payload) -> per-iteration seconds of each measured sample.
    static SAMPLES: RefCell<BTreeMap<(String, String), Vec<f64>>> = const { RefCell::new(BTreeMap::new()) };
}

/// Times `iters` calls of `routine` and records the per-iteration time, for the summary.
fn timed(kind: &str, payload: &str, iters: u64, mut routine: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        routine();
    }
    let elapsed = start.elapsed();
    SAMPLES.with(|s| {
        s.borrow_mut().entry((kind.into(), payload.into())).or_default().push(elapsed.as_secs_f64() / iters as f64);
    });
    elapsed
}

fn benches(c: &mut Criterion) {
    let pipeline = PurePipeline::default();
    let all = payloads();
    let mut group = c.benchmark_group("pipeline");
    for payload in &all {
        let name = payload.name.as_str();
        group.throughput(Throughput::Elements(payload.events as u64));

        pipeline.run(&payload.body, &payload.signature).unwrap_or_else(|e| panic!("{name}: {e}"));
        group.bench_with_input(BenchmarkId::new("pure", name), payload, |b, p| {
            b.iter_custom(|iters| timed("pure", name, iters, || {
                black_box(pipeline.run(black_box(&p.body), black_box(&p.signature)).expect("checked above"));
            }))
        });

        let journey = Journey::default();
        let incoming = Journey::request(payload);
        journey.run(&incoming).unwrap_or_else(|e| panic!("{name}: {e}"));
        group.bench_with_input(BenchmarkId::new("journey", name), payload, |b, _| {
            b.iter_custom(|iters| timed("journey", name, iters, || {
                journey.run(black_box(&incoming)).expect("checked above");
            }))
        });

        group.bench_with_input(BenchmarkId::new("baseline", name), payload, |b, p| {
            b.iter_custom(|iters| timed("baseline", name, iters, || {
                black_box(json_roundtrip(black_box(&p.body)));
            }))
        });
    }
    group.finish();
}

/// Median per-iteration seconds over the last `n` samples recorded (the measurement; the
/// earlier ones are Criterion's warm-up).
fn median_of_last(samples: &[f64], n: usize) -> Option<f64> {
    let mut last: Vec<f64> = samples[samples.len().saturating_sub(n)..].to_vec();
    if last.is_empty() {
        return None;
    }
    last.sort_by(f64::total_cmp);
    Some(last[last.len() / 2])
}

fn summary(sample_size: usize) {
    let samples = SAMPLES.with(|s| s.borrow().clone());
    if samples.is_empty() {
        return;
    }
    if samples.values().all(|s| s.len() <= 1) {
        println!("\n(Test mode: each benchmark ran once to check it works. `cargo bench` measures.)");
        return;
    }
    let time = |kind: &str, payload: &str| samples.get(&(kind.to_string(), payload.to_string())).and_then(|s| median_of_last(s, sample_size));
    println!("\nSummary (median of the measured samples; one thread, so events/s is per core)");
    println!(
        "{:<20} {:>7} {:>12} {:>14} {:>12} {:>14} {:>12} {:>10}",
        "payload", "bytes", "pure µs/req", "pure events/s", "journey µs", "journey ev/s", "baseline µs", "pure/base"
    );
    let mut sample_rates = Vec::new();
    for payload in payloads() {
        let name = payload.name.as_str();
        let (pure, journey, baseline) = (time("pure", name), time("journey", name), time("baseline", name));
        if pure.is_none() && journey.is_none() && baseline.is_none() {
            continue; // filtered out on the command line
        }
        let events = payload.events as f64;
        let micros = |t: Option<f64>| t.map_or("-".to_string(), |t| format!("{:.2}", t * 1e6));
        let rate = |t: Option<f64>| t.map_or("-".to_string(), |t| format!("{:.0}", events / t));
        let ratio = match (pure, baseline) {
            (Some(p), Some(b)) => format!("{:.1}x", p / b),
            _ => "-".into(),
        };
        if let (Some(p), 1) = (pure, payload.events) {
            if !name.starts_with("large") {
                sample_rates.push(events / p);
            }
        }
        println!(
            "{:<20} {:>7} {:>12} {:>14} {:>12} {:>14} {:>12} {:>10}",
            name,
            payload.body.len(),
            micros(pure),
            rate(pure),
            micros(journey),
            rate(journey),
            micros(baseline),
            ratio
        );
    }
    if let Some(slowest) = sample_rates.iter().copied().reduce(f64::min) {
        let verdict = if slowest >= TARGET_EVENTS_PER_SECOND { "meets" } else { "MISSES" };
        println!(
            "\nSamples, pure pipeline: slowest {slowest:.0} events/s/core; {verdict} the target of {TARGET_EVENTS_PER_SECOND:.0} (reported, never asserted)."
        );
    }
}

fn main() {
    let sample_size = 30;
    let mut criterion = Criterion::default()
        .sample_size(sample_size)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    summary(sample_size);
}
