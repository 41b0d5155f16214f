//! Runs one bench payload through the pure pipeline, the whole journey (`bench_support`) or
//! the JSON round-trip baseline a
//! given number of times, for `scripts/bench-instructions.sh`, which counts the
//! instructions under callgrind: a figure that, unlike time, does not move with the load of
//! a shared machine.
//!
//!   cargo run --profile bench --example instruction_count -- <pure|journey|baseline> <payload> <iterations>
//!   cargo run --profile bench --example instruction_count -- list   (the payload names)

use std::hint::black_box;

use extole_braze_relay::bench_support::{json_roundtrip, payload, payload_names, Journey, PurePipeline};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args == ["list"] {
        payload_names().for_each(|name| println!("{name}"));
        return;
    }
    let [kind, name, iterations] = args.as_slice() else {
        eprintln!("usage: instruction_count <pure|journey|baseline> <payload> <iterations>");
        std::process::exit(2);
    };
    // Only the payload measured is built, so how the others are generated cannot move its count.
    let Some(payload) = payload(name) else {
        eprintln!("no bench payload named {name}: one of {}", payload_names().collect::<Vec<_>>().join(", "));
        std::process::exit(2);
    };
    let iterations: u32 = iterations.parse().expect("iterations is a number");
    // Only what the kind runs is built, for the same reason.
    let mut run: Box<dyn FnMut()> = match kind.as_str() {
        "pure" => {
            let pipeline = PurePipeline::default();
            Box::new(move || {
                pipeline.run(black_box(&payload.body), black_box(&payload.signature)).expect("bench payloads go through");
            })
        }
        "journey" => {
            let (journey, request) = (Journey::default(), Journey::request(&payload));
            Box::new(move || journey.run(black_box(&request)).expect("bench payloads are delivered"))
        }
        "baseline" => Box::new(move || {
            black_box(json_roundtrip(black_box(&payload.body)));
        }),
        other => {
            eprintln!("unknown kind {other}: pure, journey or baseline");
            std::process::exit(2);
        }
    };
    for _ in 0..iterations {
        run();
    }
}
