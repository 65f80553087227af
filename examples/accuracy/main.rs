//! Accuracy report: logferry's normalisation run over logs written by others, compared with their ground truth.
//!
//! ```sh
//! cargo run --release --example accuracy -- ../shared/corpora [--show N] [--only SUITE]
//! ```
//!
//! Every suite prints a Markdown table (checked values, agreement per field) and, per field, the
//! classes of disagreement with up to N examples each (default 2). The corpora are read in place and
//! never copied; a suite whose files are absent says so and is skipped. The exit code is 1 when a bar
//! the project holds itself to (loghub ≥ 99.5% per field, one event per Java trace) is missed.

mod ecs;
mod java;
mod loghub;
mod run;
mod syslog_suites;
mod tally;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut corpora = PathBuf::from("../shared/corpora");
    let mut show = 2;
    let mut only: Option<String> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--show" => show = args.next().and_then(|n| n.parse().ok()).unwrap_or(show),
            "--only" => only = args.next(),
            "-h" | "--help" => {
                println!(
                    "usage: accuracy [CORPORA_DIR] [--show N] [--only loghub|syslog|ecs|java]"
                );
                return ExitCode::SUCCESS;
            }
            dir => corpora = PathBuf::from(dir),
        }
    }
    if !corpora.is_dir() {
        eprintln!("accuracy: corpora folder {} not found", corpora.display());
        return ExitCode::from(2);
    }
    let mut met = true;
    println!(
        "# Accuracy of logferry's normalisation against {}\n",
        corpora.display()
    );
    let wanted = |suite: &str| only.as_deref().is_none_or(|o| o == suite);
    if wanted("loghub") {
        met &= loghub::report(&corpora, show);
    }
    if wanted("syslog") {
        syslog_suites::report(&corpora, show);
    }
    if wanted("ecs") {
        ecs::report(&corpora, show);
    }
    if wanted("java") {
        met &= java::report(&corpora, show);
    }
    if met {
        ExitCode::SUCCESS
    } else {
        println!("\n**A bar was missed** (see the tables above).");
        ExitCode::FAILURE
    }
}
