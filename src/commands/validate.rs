//! `logferry validate`: parse and check a configuration, print every problem with its position.

use std::path::Path;

use crate::config;

/// Prints each problem as `FILE:LINE:COLUMN: message` on stderr; `Ok(false)` if there were any.
pub fn validate(path: &Path) -> bool {
    match config::load_file(path) {
        Ok(config) => {
            println!(
                "{}: ok ({} source(s), {} sink(s))",
                path.display(),
                config.sources.len(),
                config.sinks.len()
            );
            true
        }
        Err(errors) => {
            for problem in &errors.0 {
                eprintln!("{problem}");
            }
            false
        }
    }
}
