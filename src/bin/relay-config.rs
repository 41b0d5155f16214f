//! Validates a per-environment config document offline, and uploads it to the
//! `RELAY_CONFIG` KV namespace (through `wrangler kv key put`) only when it is valid.
//!
//!     relay-config validate <file.json> [--environment NAME]
//!     relay-config upload <environment> <file.json> [--local] [--persist-to DIR]

use std::process::{Command, ExitCode};

use extole_braze_relay::config::EmbeddedConfig;
use extole_braze_relay::environment::{config_key, is_valid_environment_name};
use serde_json::Value;

const USAGE: &str = "usage:
  relay-config validate <file.json> [--environment NAME]
  relay-config upload <environment> <file.json> [--local] [--persist-to DIR]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("validate") if args.len() >= 2 => {
            let environment = flag_value(&args, "--environment").unwrap_or("production");
            validate(environment, &args[1]).map(|effective| println!("{effective}"))
        }
        Some("upload") if args.len() >= 3 => upload(&args[1], &args[2], &args[3..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).map(String::as_str)
}

/// The effective config as pretty JSON, or every problem, one per line.
fn validate(environment: &str, path: &str) -> Result<String, String> {
    if !is_valid_environment_name(environment) {
        return Err(format!("'{environment}' is not a valid environment name (lowercase letters, digits, - and _)"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let document: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))?;
    match EmbeddedConfig::load().resolve(environment, Some(&document)) {
        Ok(config) => {
            eprintln!("{path}: valid for environment '{environment}'");
            Ok(serde_json::to_string_pretty(&config).expect("config always serialises"))
        }
        Err(issues) => {
            let lines: Vec<String> = issues.iter().map(|i| format!("  {i}")).collect();
            Err(format!("{path}: {} problem(s):\n{}", issues.len(), lines.join("\n")))
        }
    }
}

fn upload(environment: &str, path: &str, options: &[String]) -> Result<(), String> {
    validate(environment, path).map_err(|problems| format!("{problems}\nnothing uploaded"))?;
    let mut command = Command::new("wrangler");
    command.args(["kv", "key", "put", "--binding", "RELAY_CONFIG", &config_key(environment), "--path", path]);
    if options.iter().any(|o| o == "--local") {
        command.arg("--local");
    } else {
        command.arg("--remote");
    }
    if let Some(dir) = flag_value(options, "--persist-to") {
        command.args(["--persist-to", dir]);
    }
    let status = command.status().map_err(|e| format!("could not run wrangler: {e} (run scripts/install.sh)"))?;
    if status.success() {
        eprintln!("uploaded {path} as {} ({})", config_key(environment), if options.iter().any(|o| o == "--local") { "local" } else { "remote" });
        Ok(())
    } else {
        Err(format!("wrangler kv key put failed with {status}"))
    }
}
