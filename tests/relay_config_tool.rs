//! The offline config validator: valid documents pass, invalid ones list every problem and
//! are never uploaded.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_relay-config")).args(args).output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into(), String::from_utf8_lossy(&output.stderr).into())
}

#[test]
fn the_example_retailer_config_validates() {
    let (ok, stdout, _) = run(&["validate", "examples/config/retailer.json", "--environment", "production"]);
    assert!(ok);
    let effective: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(effective["events"]["preset"], "extole_native");
    assert_eq!(effective["identity"]["external_id_paths"][0], "data.customer_number");
}

#[test]
fn an_invalid_config_lists_every_problem_and_uploads_nothing() {
    let dir = std::env::temp_dir().join(format!("relay-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(&file, r#"{"brazee": 1, "braze": {"timeout_ms": "x"}, "events": {"unknown": "drop"}, "dedup": {"window_seconds": -1}}"#).unwrap();
    // `upload` must refuse before it ever runs wrangler: PATH is emptied to prove it.
    let output = Command::new(env!("CARGO_BIN_EXE_relay-config"))
        .args(["upload", "production", file.to_str().unwrap(), "--local"])
        .env("PATH", "")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    for path in ["$.brazee", "$.braze.timeout_ms", "$.events.unknown", "$.dedup.window_seconds"] {
        assert!(stderr.contains(path), "{path} missing from:\n{stderr}");
    }
    assert!(stderr.contains("nothing uploaded") && !stderr.contains("could not run wrangler"), "{stderr}");
}

#[test]
fn bad_usage_is_explained() {
    let (ok, _, stderr) = run(&["frobnicate"]);
    assert!(!ok && stderr.contains("usage"));
    let (ok, _, stderr) = run(&["validate", "examples/config/retailer.json", "--environment", "Bad Name"]);
    assert!(!ok && stderr.contains("not a valid environment name"), "{stderr}");
}
