//! The Java parser against loghub's hand-checked structured CSVs (Zookeeper, Hadoop, Spark): time,
//! level, message and thread/logger must agree on at least 99.5% of lines. Skips (with a note) when
//! the corpora are absent.

use std::path::PathBuf;

use logferry_parsers::java;

/// The corpora folder: `$LOGFERRY_CORPORA`, else `shared/corpora` beside the work tree, else `/work/shared/corpora`.
fn corpora() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LOGFERRY_CORPORA").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora")),
        Some(PathBuf::from("/work/shared/corpora")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_dir())
}

/// One CSV record: fields split on commas outside double quotes, `""` inside quotes is one `"`.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// The numbers of a loghub date (`2015-07-29` or `17/06/09`) and time (`17:41:44,747`).
fn csv_time(date: &str, time: &str) -> Vec<u32> {
    let mut n: Vec<u32> = date
        .split(['-', '/'])
        .chain(time.split([':', ',']))
        .map(|p| p.parse().unwrap())
        .collect();
    if date.contains('/') {
        n[0] += 2000;
    }
    n.resize(7, 0);
    n
}

/// Compares every line of `name`'s log with its structured CSV; `check` compares the layout's own
/// columns. Returns (agreeing lines, lines).
fn agreement(
    name: &str,
    check: impl Fn(&java::JavaLine<'_>, &std::collections::HashMap<&str, &str>) -> bool,
) -> Option<(usize, usize)> {
    let dir = corpora()?.join("loghub").join(name);
    let log = std::fs::read(dir.join(format!("{name}_2k.log"))).ok();
    let csv = std::fs::read_to_string(dir.join(format!("{name}_2k.log_structured.csv"))).ok();
    let (Some(log), Some(csv)) = (log, csv) else {
        eprintln!("note: loghub {name} absent, skipping");
        return None;
    };
    let mut rows = csv.lines();
    let header = csv_fields(rows.next()?);
    let lines: Vec<&[u8]> = log
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut ok = 0;
    let mut total = 0;
    for (line, row) in lines.iter().zip(rows) {
        total += 1;
        let values = csv_fields(row);
        let row: std::collections::HashMap<&str, &str> = header
            .iter()
            .map(String::as_str)
            .zip(values.iter().map(String::as_str))
            .collect();
        let agrees = match java::parse(line) {
            Ok(p) => {
                let t = p.time;
                let ours = vec![
                    t.year.unwrap_or(0) as u32,
                    u32::from(t.month),
                    u32::from(t.day),
                    u32::from(t.hour),
                    u32::from(t.minute),
                    u32::from(t.second),
                    t.nanos / 1_000_000,
                ];
                ours == csv_time(row["Date"], row["Time"])
                    && p.level == row["Level"].as_bytes()
                    && p.message == row["Content"].as_bytes()
                    && check(&p, &row)
            }
            Err(_) => false,
        };
        if agrees {
            ok += 1;
        } else {
            eprintln!("{name} disagrees: {}", String::from_utf8_lossy(line));
        }
    }
    eprintln!("loghub {name}: {ok}/{total} agree");
    Some((ok, total))
}

fn assert_rate(result: Option<(usize, usize)>) {
    if let Some((ok, total)) = result {
        assert!(total > 0);
        assert!(ok as f64 / total as f64 >= 0.995, "{ok}/{total}");
    }
}

fn text(b: Option<&[u8]>) -> &str {
    b.and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("")
}

#[test]
fn loghub_zookeeper() {
    // loghub splits `thread:Class@line` at the first colon (Node, Component); we split at the last.
    assert_rate(agreement("Zookeeper", |p, row| {
        format!("{}:{}", text(p.thread), text(p.logger))
            == format!("{}:{}", row["Node"], row["Component"])
    }));
}

#[test]
fn loghub_hadoop() {
    assert_rate(agreement("Hadoop", |p, row| {
        text(p.thread) == row["Process"] && text(p.logger) == row["Component"]
    }));
}

#[test]
fn loghub_spark() {
    assert_rate(agreement("Spark", |p, row| {
        text(p.logger) == row["Component"]
    }));
}
