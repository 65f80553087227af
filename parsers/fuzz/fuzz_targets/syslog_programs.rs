//! Fuzz target: the syslog message parsers (sshd, sudo, su, Drupal watchdog) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logferry_parsers::{drupal, sshd, su, sudo};

fuzz_target!(|message: &[u8]| {
    let _ = sshd::parse(message);
    let _ = sudo::parse(message);
    let _ = su::parse(message);
    if let Some(record) = drupal::parse(message) {
        let _ = drupal::host_of(record.base_url);
        let _ = drupal::user_action(record.message);
    }
    let _ = drupal::host_of(message);
    let _ = drupal::user_action(message);
});
