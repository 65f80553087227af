use logferry_parsers::{access, syslog};
use std::time::Instant;
#[test]
fn perf() {
    let data = std::fs::read("/work/shared/corpora/elastic-examples/apache_logs.log").unwrap();
    let lines: Vec<&[u8]> = data
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut ok = 0u64;
    let t = Instant::now();
    for _ in 0..50 {
        for l in &lines {
            if std::hint::black_box(access::parse(std::hint::black_box(l))).is_ok() {
                ok += 1;
            }
        }
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "apache: {:.2} M lines/s ({ok})",
        (lines.len() * 50) as f64 / el / 1e6
    );
    let data = std::fs::read("/work/shared/corpora/elastic-examples/auth.log").unwrap();
    let lines: Vec<&[u8]> = data
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let t = Instant::now();
    for _ in 0..50 {
        for l in &lines {
            if std::hint::black_box(syslog::parse(std::hint::black_box(l))).is_ok() {
                ok += 1;
            }
        }
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "syslog: {:.2} M lines/s",
        (lines.len() * 50) as f64 / el / 1e6
    );
}
