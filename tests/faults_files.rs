//! Fault suite, file cases (issue 4, cases 1-5 and the file source's bounds): the real binary
//! follows files that the test rotates, copies, truncates, deletes and replaces while writing
//! numbered lines; a syslog collector on real TCP counts what arrived how often.
//!
//! Every case prints a `FAULT case=... lost=N duplicated=N` line (run with `--nocapture` to see
//! them); docs/RELIABILITY.md tabulates them.

mod support;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use support::agent::{
    access_line, append, outcome, scrape, write_agent_config, Agent, Outcome, WAIT,
};
use support::{unused_port, Collector, CollectorOptions, ReadMode};

/// Appends items `from..to` through an open handle, as a server that keeps its log open does.
fn write_items(file: &mut File, from: usize, to: usize) {
    let text: String = (from..to).map(access_line).collect();
    file.write_all(text.as_bytes()).unwrap();
}

fn open_append(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

fn truncate(path: &Path) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
}

/// Waits for `n` items, then a little longer for stragglers, and counts them.
async fn settle(case: &str, collector: &Collector, n: usize) -> Outcome {
    collector.wait_for(n, WAIT).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    outcome(case, &collector.messages(), n)
}

/// A collector that stops acknowledging after about 64 KiB, and a sink that keeps little in
/// flight: with the collector paused, the agent stays behind in a file of a few MB.
async fn stalling_collector() -> Collector {
    let collector = Collector::start_tuned(0, CollectorOptions::default(), Some(16 * 1024)).await;
    collector.set_read_mode(ReadMode::Paused);
    collector
}

const SMALL_WINDOW: &str = "queue_batches = 1\nmax_unacked_bytes = \"64KiB\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case1_rotate_by_rename_while_writing_at_speed() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("app.log");
    // The rotated names match too: a reader that falls behind by more than a rotation (a loaded
    // machine) still finds the generations renamed before it saw them.
    let include = format!("{}*", log.display());
    let config = write_agent_config(dir.path(), &include, "", &collector.address(), "", None);
    // The agent follows the file before the writer starts: a file created and renamed out of
    // the glob before any scan saw it could not be read by anyone.
    let mut file = open_append(&log);
    write_items(&mut file, 0, 50);
    let agent = Agent::start(&config);
    assert!(collector.wait_for(50, WAIT).await);
    let n = 20_050;
    let writer_log = log.clone();
    tokio::task::spawn_blocking(move || {
        for batch in 1..n / 50 {
            let from = batch * 50;
            write_items(&mut file, from, from + 25);
            if batch % 100 == 0 {
                // logrotate: rename; the server writes on into the renamed file a little longer,
                // then reopens its path.
                let rotated = writer_log.with_extension(format!("log.{batch}"));
                std::fs::rename(&writer_log, rotated).unwrap();
                write_items(&mut file, from + 25, from + 50);
                file = open_append(&writer_log);
            } else {
                write_items(&mut file, from + 25, from + 50);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .await
    .unwrap();
    let result = settle("1 rotate by rename at speed", &collector, n).await;
    assert_eq!(
        result,
        Outcome {
            lost: 0,
            duplicated: 0
        }
    );
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case2_copytruncate_while_behind_goes_on_in_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let collector = stalling_collector().await;
    let log = dir.path().join("app.log");
    let include = format!("{}*", log.display());
    let config = write_agent_config(
        dir.path(),
        &include,
        "",
        &collector.address(),
        SMALL_WINDOW,
        None,
    );
    let n = 30_000;
    append(&log, 0, n);
    let agent = Agent::start(&config);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // logrotate's copytruncate while the agent is behind: the copy matches the include glob.
    std::fs::copy(&log, dir.path().join("app.log.1")).unwrap();
    truncate(&log);
    append(&log, n, n + 2000);
    collector.set_read_mode(ReadMode::Normal);
    let result = settle("2 copytruncate while behind", &collector, n + 2000).await;
    assert_eq!(
        result,
        Outcome {
            lost: 0,
            duplicated: 0
        }
    );
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case3_truncated_to_zero_and_refilled_past_the_old_end() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("app.log");
    let config = write_agent_config(
        dir.path(),
        &log.display().to_string(),
        "",
        &collector.address(),
        "",
        None,
    );
    let agent = Agent::start(&config);
    let mut written = 0;
    for round in 0..4 {
        let size = 1000 + 1000 * round;
        append(&log, written, written + size);
        written += size;
        assert!(collector.wait_for(written, WAIT).await, "round {round}");
        // Truncated, then at once written past the old end: the agent must notice the new first
        // line rather than read on from its old position.
        truncate(&log);
        append(&log, written, written + size + 500);
        written += size + 500;
    }
    let result = settle("3 truncate to 0 and refill", &collector, written).await;
    assert_eq!(
        result,
        Outcome {
            lost: 0,
            duplicated: 0
        }
    );
    agent.stop();
}

/// Creates the deleted `path` again with `from..to`, trying to get inode `old` (ext4 usually
/// hands a freed inode out again soon: up to 50 files are made until one has it); true if it did.
fn recreate_on_the_same_inode(path: &Path, old: u64, from: usize, to: usize) -> bool {
    let dir = path.parent().unwrap();
    let mut tries = Vec::new();
    let mut reused = false;
    for i in 0..50 {
        let candidate = dir.join(format!("try.{i}"));
        File::create(&candidate).unwrap();
        if std::fs::metadata(&candidate).unwrap().ino() == old {
            std::fs::rename(&candidate, path).unwrap();
            reused = true;
            break;
        }
        tries.push(candidate);
    }
    for candidate in tries {
        std::fs::remove_file(candidate).unwrap();
    }
    append(path, from, to);
    reused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case4_inode_reuse_is_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("app.log");
    let config = write_agent_config(
        dir.path(),
        &log.display().to_string(),
        "",
        &collector.address(),
        "",
        None,
    );
    append(&log, 0, 500);
    let agent = Agent::start(&config);
    assert!(collector.wait_for(500, WAIT).await);
    // While running: the deleted file is closed once read, then its inode is handed out again.
    let old = std::fs::metadata(&log).unwrap().ino();
    std::fs::remove_file(&log).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let reused = recreate_on_the_same_inode(&log, old, 500, 1500);
    eprintln!("inode reused while running: {reused}");
    assert!(collector.wait_for(1500, WAIT).await);
    // While stopped: the checkpoint names the old file's inode; the new file on it is longer than
    // that offset, so inheriting it would skip lines.
    agent.stop();
    let old = std::fs::metadata(&log).unwrap().ino();
    std::fs::remove_file(&log).unwrap();
    let reused = recreate_on_the_same_inode(&log, old, 1500, 3500);
    eprintln!("inode reused while stopped: {reused}");
    let agent = Agent::start(&config);
    let result = settle("4 inode reuse", &collector, 3500).await;
    assert_eq!(
        result,
        Outcome {
            lost: 0,
            duplicated: 0
        }
    );
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case5_deleted_before_fully_read_is_read_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let collector = stalling_collector().await;
    let log = dir.path().join("app.log");
    let config = write_agent_config(
        dir.path(),
        &log.display().to_string(),
        "",
        &collector.address(),
        SMALL_WINDOW,
        None,
    );
    let n = 30_000;
    append(&log, 0, n);
    let agent = Agent::start(&config);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    std::fs::remove_file(&log).unwrap();
    collector.set_read_mode(ReadMode::Normal);
    let result = settle("5 deleted before fully read", &collector, n).await;
    assert_eq!(
        result,
        Outcome {
            lost: 0,
            duplicated: 0
        }
    );
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_file_not_read_within_rotate_wait_is_given_up_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("app.log");
    let api = format!("127.0.0.1:{}", unused_port());
    let config = write_agent_config(
        dir.path(),
        &log.display().to_string(),
        "rotate_wait = \"1s\"",
        &collector.address(),
        "",
        Some(&api),
    );
    // Far more than the agent reads in rotate_wait.
    let n = 200_000;
    append(&log, 0, n);
    let agent = Agent::start(&config);
    assert!(collector.wait_for(1, WAIT).await);
    std::fs::remove_file(&log).unwrap();
    let given_up = "logferry_source_rotated_files_given_up_total{source=\"web\"}";
    let deadline = std::time::Instant::now() + WAIT;
    while scrape(&api).get(given_up).copied().unwrap_or(0.0) < 1.0 {
        assert!(std::time::Instant::now() < deadline, "never given up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = scrape(&api);
    let bytes = metrics["logferry_source_rotated_bytes_given_up_total{source=\"web\"}"];
    assert!(bytes > 0.0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let result = outcome("rotate_wait given up", &collector.messages(), n);
    eprintln!("given up: {bytes} bytes");
    assert!(result.lost > 0 && result.lost < n);
    assert_eq!(result.duplicated, 0);
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_open_files_closes_idle_files_and_reopens_them_when_they_grow() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let api = format!("127.0.0.1:{}", unused_port());
    let include = dir.path().join("*.log").display().to_string();
    let config = write_agent_config(
        dir.path(),
        &include,
        "max_open_files = 3",
        &collector.address(),
        "",
        Some(&api),
    );
    let files = 10;
    for f in 0..files {
        append(
            &dir.path().join(format!("{f}.log")),
            f * 1000,
            f * 1000 + 50,
        );
    }
    let agent = Agent::start(&config);
    let mut expected: Vec<usize> = (0..files).flat_map(|f| f * 1000..f * 1000 + 50).collect();
    // Every file grows twice more, each time after all were read.
    for round in 1..3 {
        let deadline = std::time::Instant::now() + WAIT;
        while collector.count() < expected.len() {
            assert!(std::time::Instant::now() < deadline, "round {round}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let metrics = scrape(&api);
        assert!(metrics["logferry_source_files{source=\"web\"}"] <= 3.0);
        for f in 0..files {
            let from = f * 1000 + round * 50;
            append(&dir.path().join(format!("{f}.log")), from, from + 50);
            expected.extend(from..from + 50);
        }
    }
    collector.wait_for(expected.len(), WAIT).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut got: Vec<usize> = collector
        .messages()
        .iter()
        .map(|m| support::agent::item(m))
        .collect();
    got.sort_unstable();
    expected.sort_unstable();
    assert_eq!(got, expected, "every line once");
    let closed = scrape(&api)["logferry_source_files_closed_for_limit_total{source=\"web\"}"];
    assert!(closed >= 7.0, "closed for the limit: {closed}");
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_of_files_gone_longer_than_checkpoint_max_age_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let include = dir.path().join("*.log").display().to_string();
    let config = write_agent_config(
        dir.path(),
        &include,
        "checkpoint_max_age = \"1s\"",
        &collector.address(),
        "",
        None,
    );
    let kept = dir.path().join("kept.log");
    let gone = dir.path().join("gone.log");
    append(&kept, 0, 10);
    append(&gone, 10, 20);
    let agent = Agent::start(&config);
    assert!(collector.wait_for(20, WAIT).await);
    agent.stop();
    let state = dir.path().join("data/checkpoints.json");
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(
        text.contains("gone.log") && text.contains("kept.log"),
        "{text}"
    );
    std::fs::remove_file(&gone).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    // Pruned at the first scan of the next run, and the state file written without it.
    let agent = Agent::start(&config);
    append(&kept, 20, 30);
    assert!(collector.wait_for(30, WAIT).await);
    agent.stop();
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(!text.contains("gone.log"), "{text}");
    assert!(text.contains("kept.log"), "{text}");
    assert_eq!(collector.count(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_from_end_holds_for_files_opened_late_because_of_max_open_files() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let include = dir.path().join("*.log").display().to_string();
    let api = format!("127.0.0.1:{}", unused_port());
    let config = write_agent_config(
        dir.path(),
        &include,
        "max_open_files = 1\nread_from = \"end\"",
        &collector.address(),
        "",
        Some(&api),
    );
    for f in 0..3 {
        append(&dir.path().join(format!("{f}.log")), f * 100, f * 100 + 10);
    }
    let agent = Agent::start(&config);
    // Two closed for the limit: the third file has been opened (at its end).
    let closed = "logferry_source_files_closed_for_limit_total{source=\"web\"}";
    let deadline = std::time::Instant::now() + WAIT;
    while scrape(&api).get(closed).copied().unwrap_or(0.0) < 2.0 {
        assert!(std::time::Instant::now() < deadline, "files not all opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for f in 0..3 {
        append(
            &dir.path().join(format!("{f}.log")),
            f * 100 + 10,
            f * 100 + 11,
        );
    }
    collector.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut got: Vec<usize> = collector
        .messages()
        .iter()
        .map(|m| support::agent::item(m))
        .collect();
    got.sort_unstable();
    assert_eq!(got, [10, 110, 210]);
    agent.stop();
}
