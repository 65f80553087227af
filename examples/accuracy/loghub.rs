//! loghub's 2k-line samples: our timestamp, host, process, pid, level and message against `*_structured.csv`.

use std::path::Path;

use crate::run::{local_time, normalise_file, settings, text, Event};
use crate::tally::Tally;

/// One loghub system: its file, our format, and how its ground-truth columns map to our fields.
struct System {
    name: &'static str,
    format: &'static str,
    /// The reading time: year inference for year-less timestamps.
    now: &'static str,
    /// How the csv columns spell our event time, and our `log_ts` formatted the same way (UTC).
    time: fn(&csv::StringRecord, &Columns) -> String,
    strftime: &'static str,
    /// (our field, how to read its ground truth from a row)
    fields: &'static [(&'static str, Truth)],
}

/// Where a field's ground truth is in a row.
#[derive(Clone, Copy)]
enum Truth {
    Column(&'static str),
    /// The program name of a syslog tag column: `sshd(pam_unix)` → `sshd` (the schema's rule).
    Program(&'static str),
    /// Apache's message: loghub keeps `[client …] ` in it, the schema moves it to `source_address`.
    ApacheMessage,
    /// Zookeeper's `[thread:Class@line]`, which loghub splits at the first `:` and the last `@` into
    /// three columns: we read the part before the last `:` as the thread…
    ZookeeperThread,
    /// …and the class after it as the logger.
    ZookeeperLogger,
}

struct Columns(csv::StringRecord);

impl Columns {
    fn get<'r>(&self, row: &'r csv::StringRecord, name: &str) -> &'r str {
        self.0
            .iter()
            .position(|c| c == name)
            .and_then(|i| row.get(i))
            .unwrap_or_default()
    }
}

const SYSTEMS: &[System] = &[
    System {
        name: "OpenSSH",
        format: "syslog",
        now: "2026-12-31T12:00:00Z",
        time: |r, c| {
            format!(
                "{} {:>2} {}",
                c.get(r, "Date"),
                c.get(r, "Day"),
                c.get(r, "Time")
            )
        },
        strftime: "%b %e %H:%M:%S",
        fields: &[
            ("host", Truth::Column("Component")),
            ("process_id", Truth::Column("Pid")),
            ("message", Truth::Column("Content")),
        ],
    },
    System {
        name: "Linux",
        format: "syslog",
        now: "2026-12-31T12:00:00Z",
        time: |r, c| {
            format!(
                "{} {:>2} {}",
                c.get(r, "Month"),
                c.get(r, "Date"),
                c.get(r, "Time")
            )
        },
        strftime: "%b %e %H:%M:%S",
        // loghub's "Level" column of this system holds the host name (`combo`).
        fields: &[
            ("host", Truth::Column("Level")),
            ("process", Truth::Program("Component")),
            ("process_id", Truth::Column("PID")),
            ("message", Truth::Column("Content")),
        ],
    },
    System {
        name: "Apache",
        format: "apache_error",
        now: "2026-12-31T12:00:00Z",
        time: |r, c| c.get(r, "Time").to_string(),
        strftime: "%a %b %d %H:%M:%S %Y",
        fields: &[
            ("log_level", Truth::Column("Level")),
            ("message", Truth::ApacheMessage),
        ],
    },
    System {
        name: "Zookeeper",
        format: "java",
        now: "2026-12-31T12:00:00Z",
        time: |r, c| format!("{} {}", c.get(r, "Date"), seconds(c.get(r, "Time"))),
        strftime: "%Y-%m-%d %H:%M:%S",
        fields: &[
            ("log_level", Truth::Column("Level")),
            ("thread", Truth::ZookeeperThread),
            ("logger", Truth::ZookeeperLogger),
            ("message", Truth::Column("Content")),
        ],
    },
    System {
        name: "Hadoop",
        format: "java",
        now: "2026-12-31T12:00:00Z",
        time: |r, c| format!("{} {}", c.get(r, "Date"), seconds(c.get(r, "Time"))),
        strftime: "%Y-%m-%d %H:%M:%S",
        fields: &[
            ("log_level", Truth::Column("Level")),
            ("thread", Truth::Column("Process")),
            ("logger", Truth::Column("Component")),
            ("message", Truth::Column("Content")),
        ],
    },
    System {
        name: "Spark",
        format: "java",
        now: "2026-12-31T12:00:00Z",
        time: |r, c| format!("{} {}", c.get(r, "Date"), c.get(r, "Time")),
        strftime: "%y/%m/%d %H:%M:%S",
        fields: &[
            ("log_level", Truth::Column("Level")),
            ("logger", Truth::Column("Component")),
            ("message", Truth::Column("Content")),
        ],
    },
];

/// `17:41:44,747` → `17:41:44`: our `log_ts` holds whole seconds (the fraction goes to the syslog header).
fn seconds(time: &str) -> &str {
    time.split([',', '.']).next().unwrap_or(time)
}

/// Prints one table per system; true when every field of every system agrees on ≥ 99.5% of lines.
pub fn report(corpora: &Path, show: usize) -> bool {
    println!("## loghub (bar: every field ≥ 99.5%)\n");
    let mut met = true;
    for system in SYSTEMS {
        let dir = corpora.join("loghub").join(system.name);
        let log = dir.join(format!("{}_2k.log", system.name));
        let truth = dir.join(format!("{}_2k.log_structured.csv", system.name));
        if !log.is_file() || !truth.is_file() {
            println!("### {}\n\nskipped: {} absent\n", system.name, log.display());
            continue;
        }
        let tally = check(system, &log, &truth);
        tally.print(
            &format!("{} (`format = \"{}\"`)", system.name, system.format),
            show,
        );
        met &= tally.worst_rate() >= 0.995;
    }
    met
}

fn check(system: &System, log: &Path, truth: &Path) -> Tally {
    let events = normalise_file(&settings(system.format, "UTC"), system.now, log);
    let lines: Vec<String> = std::fs::read(log)
        .map(|d| {
            String::from_utf8_lossy(&d)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut reader = csv::Reader::from_path(truth).expect("a readable csv");
    let columns = Columns(reader.headers().expect("a csv header").clone());
    let rows: Vec<csv::StringRecord> = reader.records().map_while(Result::ok).collect();
    let mut tally = Tally::default();
    tally.records = rows.len();
    if events.len() != rows.len() {
        tally.check_class(
            "events",
            Some("event count differs from line count".into()),
            || format!("{} events for {} lines", events.len(), rows.len()),
        );
    }
    for (i, (row, event)) in rows.iter().zip(&events).enumerate() {
        let input = lines.get(i).map_or("", String::as_str);
        check_row(system, &columns, row, event, input, &mut tally);
    }
    tally
}

fn check_row(
    system: &System,
    columns: &Columns,
    row: &csv::StringRecord,
    event: &Event,
    input: &str,
    tally: &mut Tally,
) {
    let expected_time = (system.time)(row, columns);
    let got_time = local_time(event, "UTC", system.strftime);
    tally.check("log_ts", &expected_time, got_time.as_deref(), input);
    for &(field, truth) in system.fields {
        let expected = match truth {
            Truth::Column(name) => columns.get(row, name).to_string(),
            Truth::Program(name) => {
                let tag = columns.get(row, name);
                tag.split('(').next().unwrap_or(tag).to_string()
            }
            Truth::ApacheMessage => {
                let content = columns.get(row, "Content");
                match content
                    .strip_prefix("[client ")
                    .and_then(|c| c.split_once("] "))
                {
                    Some((_, message)) => message.to_string(),
                    None => content.to_string(),
                }
            }
            Truth::ZookeeperThread | Truth::ZookeeperLogger => {
                let whole = format!(
                    "{}:{}",
                    columns.get(row, "Node"),
                    columns.get(row, "Component")
                );
                let (thread, class) = whole.rsplit_once(':').unwrap_or((&whole, ""));
                match truth {
                    Truth::ZookeeperThread => thread.to_string(),
                    _ => class.to_string(),
                }
            }
        };
        let got = text(event, field);
        if expected.is_empty() && got.is_none() {
            tally.check_class(field, None, String::new);
        } else {
            tally.check(field, &expected, got.as_deref(), input);
        }
    }
}
