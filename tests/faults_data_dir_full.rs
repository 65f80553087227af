//! Fault case 13 (issue 4), `data_dir` full: the agent's `data_dir` is a small filesystem of its own
//! (a tmpfs, else a loop-mounted ext4 image; the test is skipped with a message where neither can be
//! mounted, e.g. without root). A filler file takes all its room, or the disk buffer does, while the
//! real binary ships numbered lines to a collector; then the room comes back.
//!
//! What must hold: the error is logged with the path and the reason (`No space left on device`);
//! `checkpoints.json` keeps its last good content and no temporary file is left behind; a disk buffer
//! with `when_full = "block"` stops taking input and loses nothing, with `"drop_newest"` it drops and
//! counts; once there is room the agent recovers by itself (logged) and writes its checkpoints.
//! Every case prints a `FAULT` line for docs/RELIABILITY.md.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::agent::{append, outcome, scrape, write_agent_config, Agent, Outcome, WAIT};
use support::{unused_port, Collector, CollectorOptions};

/// A filesystem of a few MiB mounted at a directory while this lives.
struct SmallFs {
    mount_point: PathBuf,
}

impl SmallFs {
    /// Mounts a tmpfs of `mib` MiB at `mount_point` (created), else an ext4 image of that size kept
    /// in `image`; `Err` says why neither worked.
    fn mount(mount_point: &Path, image: &Path, mib: u64) -> Result<SmallFs, String> {
        std::fs::create_dir_all(mount_point).unwrap();
        let tmpfs = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(mount_point));
        let mounted = tmpfs.or_else(|tmpfs| {
            let file = std::fs::File::create(image).map_err(|e| e.to_string())?;
            file.set_len(mib << 20).map_err(|e| e.to_string())?;
            run(Command::new("mkfs.ext4")
                .args(["-q", "-F", "-m", "0"])
                .arg(image))
            .and_then(|()| {
                run(Command::new("mount")
                    .args(["-o", "loop"])
                    .arg(image)
                    .arg(mount_point))
            })
            .map_err(|ext4| format!("tmpfs: {tmpfs}; loop-mounted ext4: {ext4}"))
        });
        mounted.map(|()| SmallFs {
            mount_point: mount_point.to_path_buf(),
        })
    }

    /// Writes `name` until the filesystem is full; returns its path.
    fn fill(&self, name: &str) -> PathBuf {
        let path = self.mount_point.join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 << 10];
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        // Whatever is left is smaller than a block: take it too.
        while file.write(&[0u8]).is_ok_and(|n| n == 1) {}
        path
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // Lazy: the agent may still have files open here when a test fails.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mount_point)
            .status();
    }
}

/// Runs `command`; `Err` with its stderr if it fails.
fn run(command: &mut Command) -> Result<(), String> {
    match command.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// A test's directory, its small `data_dir`, the agent's log and config, and the collector.
struct Setup {
    /// Unmounted before `dir` is removed (fields drop in order).
    fs: SmallFs,
    /// Removed at the end of the test.
    _dir: tempfile::TempDir,
    log: PathBuf,
    agent_log: PathBuf,
    config: PathBuf,
    api: String,
}

impl Setup {
    /// `None` (and a message) where no small filesystem can be mounted.
    fn new(collector: &Collector, mib: u64, sink: &str) -> Option<Setup> {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let fs = match SmallFs::mount(&data, &dir.path().join("data.img"), mib) {
            Ok(fs) => fs,
            Err(why) => {
                eprintln!("skipped: cannot mount a small filesystem for data_dir ({why})");
                return None;
            }
        };
        let log = dir.path().join("app.log");
        let api = format!("127.0.0.1:{}", unused_port());
        let config = write_agent_config(
            dir.path(),
            &log.display().to_string(),
            "",
            &collector.address(),
            sink,
            Some(&api),
        );
        let agent_log = dir.path().join("agent.log");
        Some(Setup {
            fs,
            _dir: dir,
            log,
            agent_log,
            config,
            api,
        })
    }

    fn start(&self) -> Agent {
        Agent::start_logging(&[], &self.config, &self.agent_log)
    }

    /// Starts the agent on 1,000 lines, waits until they are delivered and checkpointed, then fills
    /// the filesystem. Returns the agent, the checkpoints of that moment and the filler file.
    async fn deliver_then_fill(&self, collector: &Collector) -> (Agent, String, PathBuf) {
        append(&self.log, 0, 1_000);
        let agent = self.start();
        assert!(collector.wait_for(1_000, WAIT).await);
        let before = self.wait_for_checkpoint_at_end();
        let filler = self.fs.fill("filler");
        (agent, before, filler)
    }

    fn checkpoints(&self) -> String {
        std::fs::read_to_string(self.fs.mount_point.join("checkpoints.json")).unwrap_or_default()
    }

    /// Waits until `checkpoints.json` holds the log file's current size as an offset; returns it.
    fn wait_for_checkpoint_at_end(&self) -> String {
        let offset = format!(
            "\"offset\": {}",
            std::fs::metadata(&self.log).unwrap().len()
        );
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.checkpoints();
            if text.contains(&offset) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "no checkpoint with {offset}: {text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the agent's log holds every one of `needles` in one line.
    async fn wait_for_log(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = std::fs::read_to_string(&self.agent_log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| needles.iter().all(|n| l.contains(n))) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needles:?}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The state must be the last good one, parseable, with no temporary file beside it.
    fn assert_checkpoints_kept(&self, before: &str) {
        let now = self.checkpoints();
        assert_eq!(
            now, before,
            "checkpoints.json changed while the disk was full"
        );
        serde_json::from_str::<serde_json::Value>(&now).expect("checkpoints.json is whole JSON");
        // It exists for an instant while a write is tried; one left behind stays.
        let tmp = self.fs.mount_point.join("checkpoints.json.tmp");
        let left = tmp.exists() && {
            std::thread::sleep(Duration::from_millis(300));
            tmp.exists()
        };
        assert!(!left, "a partial temporary checkpoint file was left behind");
    }

    fn metric(&self, series: &str) -> f64 {
        scrape(&self.api).get(series).copied().unwrap_or(0.0)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.agent_log).unwrap_or_default();
            eprintln!("agent log:\n{log}");
        }
    }
}

const ENOSPC: &str = "No space left on device";
const DISK: &str = "[sinks.out.buffer]\ntype = \"disk\"\nfsync_interval = \"50ms\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case13_full_data_dir_with_a_memory_buffer_keeps_checkpoints_and_delivers() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let Some(setup) = Setup::new(&collector, 2, "") else {
        return;
    };
    let (agent, before, filler) = setup.deliver_then_fill(&collector).await;
    append(&setup.log, 1_000, 3_000);
    assert!(collector.wait_for(3_000, WAIT).await);
    let error = setup
        .wait_for_log(&["cannot write checkpoints", ENOSPC])
        .await;
    assert!(
        error.contains(&setup.fs.mount_point.display().to_string()),
        "{error}"
    );
    setup.assert_checkpoints_kept(&before);
    std::fs::remove_file(filler).unwrap();
    setup.wait_for_checkpoint_at_end();
    setup.wait_for_log(&["checkpoints written again"]).await;
    agent.stop();
    let result = outcome(
        "13 data_dir full, memory buffer",
        &collector.messages(),
        3_000,
    );
    assert_eq!(
        result,
        Outcome {
            lost: 0,
            duplicated: 0
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case13_full_data_dir_blocks_a_disk_buffer_without_loss_until_there_is_room() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let sink = format!("queue_batches = 2\n{DISK}");
    let Some(setup) = Setup::new(&collector, 4, &sink) else {
        return;
    };
    let (agent, before, filler) = setup.deliver_then_fill(&collector).await;
    // Far more than the queue in front of the buffer holds (2 batches of 256 KiB of input).
    let n = 30_000;
    append(&setup.log, 1_000, n);
    let error = setup
        .wait_for_log(&["cannot append to the disk buffer", ENOSPC])
        .await;
    let buffers = setup.fs.mount_point.join("buffers").join("out");
    assert!(error.contains(&buffers.display().to_string()), "{error}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let read = setup.metric("logferry_source_events_total{source=\"web\"}");
    assert!(
        read < n as f64,
        "the source read all {n} lines although the buffer could not take them"
    );
    assert!(collector.count() < n);
    setup.assert_checkpoints_kept(&before);
    std::fs::remove_file(filler).unwrap();
    collector.expect_messages(n, WAIT).await;
    setup
        .wait_for_log(&["appending to the disk buffer works again"])
        .await;
    setup.wait_for_checkpoint_at_end();
    agent.stop();
    let result = outcome(
        "13 data_dir full, disk buffer, block",
        &collector.messages(),
        n,
    );
    assert_eq!(
        result,
        Outcome {
            lost: 0,
            duplicated: 0
        }
    );
    eprintln!("source read {read} of {n} lines while the disk was full");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case13_full_data_dir_makes_a_drop_newest_disk_buffer_drop_and_count() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let sink = format!("{DISK}when_full = \"drop_newest\"\n");
    let Some(setup) = Setup::new(&collector, 4, &sink) else {
        return;
    };
    let (agent, before, filler) = setup.deliver_then_fill(&collector).await;
    append(&setup.log, 1_000, 11_000);
    let dropped_series = "logferry_events_dropped_total{reason=\"buffer_full\"}";
    let read_series = "logferry_source_events_total{source=\"web\"}";
    let deadline = Instant::now() + WAIT;
    while setup.metric(read_series) < 11_000.0 {
        assert!(Instant::now() < deadline, "the source stopped reading");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error = setup
        .wait_for_log(&["cannot append to the disk buffer", ENOSPC, "drop_newest"])
        .await;
    assert!(
        error.contains(&setup.fs.mount_point.display().to_string()),
        "{error}"
    );
    setup.assert_checkpoints_kept(&before);
    std::fs::remove_file(filler).unwrap();
    append(&setup.log, 11_000, 12_000);
    setup
        .wait_for_log(&["appending to the disk buffer works again"])
        .await;
    let dropped = setup.metric(dropped_series) as usize;
    assert!(dropped > 0, "nothing was dropped");
    let delivered = 12_000 - dropped;
    collector.expect_messages(delivered, WAIT).await;
    setup.wait_for_checkpoint_at_end();
    tokio::time::sleep(Duration::from_millis(500)).await;
    agent.stop();
    let result = outcome(
        "13 data_dir full, disk buffer, drop_newest",
        &collector.messages(),
        12_000,
    );
    eprintln!("dropped and counted: {dropped}");
    assert_eq!(result.lost, dropped, "every line not delivered is counted");
    assert_eq!(result.duplicated, 0);
    let seen = support::agent::tally(&collector.messages());
    assert!(
        (11_000..12_000).all(|i| seen.contains_key(&i)),
        "lines written after the room came back are delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case13_a_disk_buffer_that_fills_its_filesystem_frees_it_once_delivered() {
    let mut collector = Collector::start(CollectorOptions::default()).await;
    collector.kill().await;
    // max_size far above the filesystem: the buffer's own segment fills it.
    let sink = format!("{DISK}max_size = \"1GiB\"\n");
    let Some(setup) = Setup::new(&collector, 3, &sink) else {
        return;
    };
    let n = 20_000;
    append(&setup.log, 0, n);
    let agent = setup.start();
    setup
        .wait_for_log(&["cannot append to the disk buffer", ENOSPC])
        .await;
    collector.start_again().await;
    let messages = collector.expect_messages(n, WAIT).await;
    setup
        .wait_for_log(&["appending to the disk buffer works again"])
        .await;
    setup.wait_for_checkpoint_at_end();
    tokio::time::sleep(Duration::from_millis(500)).await;
    agent.stop();
    let result = outcome(
        "13 disk buffer fills data_dir, collector down, then back",
        &messages,
        n,
    );
    assert_eq!(result.lost, 0);
    assert_eq!(result.duplicated, 0);
}
