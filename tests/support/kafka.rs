//! A real Kafka-protocol broker for tests (`tansu`, a child process on a free loopback port) and a
//! consumer that reads back what reached it.
//!
//! `tansu` is looked up in `$LOGFERRY_TANSU`, `~/.cache/logferry/tansu/bin` (where `.ci/run` installs
//! it when missing), on `PATH` and in `~/.cargo/bin`; it must be built with the `dynostore` feature. Without it a test fails, unless `LOGFERRY_SKIP_KAFKA=1`: then [`Broker::start`]
//! returns `None` after printing why, and the test returns without checking anything.
//! `LOGFERRY_TANSU_LOG` (a `RUST_LOG` filter, e.g. `info`) shows the broker's log.
//! Storage is in memory: a broker killed and started again comes back empty (tansu 0.6's SQLite
//! engine panics in these tests, its S3 one needs a service).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tempfile::TempDir;

/// How long the harness waits for the broker to listen or for messages to arrive.
pub const BROKER_WAIT: Duration = Duration::from_secs(30);

/// A tansu broker on 127.0.0.1.
pub struct Broker {
    tansu: PathBuf,
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

/// One message read back from the broker.
#[derive(Debug, Clone)]
pub struct Received {
    pub topic: String,
    pub partition: i32,
    pub key: String,
    pub payload: String,
}

fn find_tansu() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LOGFERRY_TANSU") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("tansu"));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let ci = home
        .as_ref()
        .map(|h| h.join(".cache/logferry/tansu/bin/tansu"));
    let cargo_bin = home.map(|h| h.join(".cargo/bin/tansu"));
    ci.into_iter()
        .chain(on_path)
        .chain(cargo_bin)
        .find(|p| p.is_file())
}

impl Broker {
    /// Starts a broker on a free port; `None` only when tansu is missing and LOGFERRY_SKIP_KAFKA=1.
    pub fn start() -> Option<Broker> {
        Broker::start_on(super::unused_port())
    }

    /// Like [`Broker::start`], on `port` (e.g. one an agent was told to use before).
    pub fn start_on(port: u16) -> Option<Broker> {
        let Some(tansu) = find_tansu() else {
            if std::env::var("LOGFERRY_SKIP_KAFKA").as_deref() == Ok("1") {
                eprintln!("!!!!! SKIPPED: no tansu broker (LOGFERRY_SKIP_KAFKA=1); this Kafka test checked nothing !!!!!");
                return None;
            }
            panic!("no `tansu` in $LOGFERRY_TANSU, ~/.cache/logferry/tansu/bin, PATH or ~/.cargo/bin: install it (`cargo install tansu --locked --features dynostore`, as .ci/run does) or set LOGFERRY_SKIP_KAFKA=1 to skip the Kafka tests");
        };
        let mut broker = Broker {
            tansu,
            port,
            dir: tempfile::tempdir().expect("broker directory"),
            child: None,
        };
        broker.launch();
        Some(broker)
    }

    /// `127.0.0.1:PORT`, for `brokers`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) {
        // tansu logs to stdout: shown only when asked for.
        let log = std::env::var("LOGFERRY_TANSU_LOG").ok();
        let stdout = if log.is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let child = Command::new(&self.tansu)
            .arg("broker")
            .args(["--listener-url", &self.url()])
            .args(["--advertised-listener-url", &self.url()])
            .args(["--storage-engine", "memory://tansu/"])
            .current_dir(self.dir.path())
            .env("RUST_LOG", log.as_deref().unwrap_or("warn"))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tansu");
        let deadline = Instant::now() + BROKER_WAIT;
        let mut child = child;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{} exited ({status}) instead of listening: is it built with `--features dynostore` (for memory://)?", self.tansu.display());
            }
            assert!(Instant::now() < deadline, "tansu did not listen in time");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let status = Command::new(&self.tansu)
            .args(["topic", "create", topic, "--broker", &self.url()])
            .args(["--partitions", &partitions.to_string()])
            .stdout(Stdio::null())
            .status()
            .expect("run tansu topic create");
        assert!(status.success(), "tansu topic create {topic} failed");
    }

    /// Kills the broker at once (SIGKILL): no graceful shutdown.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port (killing it first if it runs); it comes back empty.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Produces `lines` to `topic`, line `i` to partition `i % partitions`, and waits until the
    /// broker has confirmed them all.
    ///
    /// One record per record batch: tansu 0.6's storage answers a fetch with the batches that
    /// *start* at or after the requested offset (`offsets.split_off(&offset)` in tansu-storage's
    /// `dynostore.rs`), where Apache Kafka returns the batch holding that offset. A consumer that
    /// resumes from a commit inside a multi-record batch (after a restart or a rebalance) would
    /// never be given the rest of that batch. With one record per batch every offset starts one.
    pub fn produce(&self, topic: &str, partitions: i32, lines: &[String]) {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", self.address())
            .set("linger.ms", "5")
            .set("batch.num.messages", "1")
            .create()
            .expect("test producer");
        for (i, line) in lines.iter().enumerate() {
            let partition = i as i32 % partitions;
            loop {
                let record = BaseRecord::<(), str>::to(topic)
                    .partition(partition)
                    .payload(line.as_str());
                match producer.send(record) {
                    Ok(()) => break,
                    Err(_) => {
                        producer.poll(Duration::from_millis(10));
                    }
                }
            }
        }
        producer
            .flush(BROKER_WAIT)
            .expect("the broker confirms every test message");
    }

    /// A consumer of `topics` from their beginning, in a group of its own.
    pub fn consumer(&self, topics: &[&str]) -> BaseConsumer {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.address())
            .set("group.id", format!("test-{}", fastrand::u64(..)))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .expect("test consumer");
        consumer.subscribe(topics).expect("subscribe");
        consumer
    }

    /// The offsets `group` has committed on partitions `0..partitions` of `topic` (-1: none yet).
    /// Asks the group coordinator (OffsetFetch) without joining the group.
    pub fn committed(&self, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
        let mut list = TopicPartitionList::new();
        for p in 0..partitions {
            list.add_partition(topic, p);
        }
        let committed = self
            .group_client(group)
            .committed_offsets(list, BROKER_WAIT)
            .expect("the broker answers an offset fetch");
        (0..partitions)
            .map(
                |p| match committed.find_partition(topic, p).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o,
                    _ => -1,
                },
            )
            .collect()
    }

    /// Commits `offsets` (one per partition, from 0) of `topic` for `group`, as a client outside
    /// the group (OffsetCommit with no generation): what a durable broker would have kept.
    pub fn commit(&self, group: &str, topic: &str, offsets: &[i64]) {
        let mut list = TopicPartitionList::new();
        for (p, o) in offsets.iter().enumerate() {
            list.add_partition_offset(topic, p as i32, Offset::Offset(*o))
                .expect("a valid offset");
        }
        self.group_client(group)
            .commit(&list, CommitMode::Sync)
            .expect("the broker takes the commit");
    }

    fn group_client(&self, group: &str) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", self.address())
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("test group client")
    }

    /// Reads `topics` until `expected` messages arrived, or [`BROKER_WAIT`] passed without a new one.
    pub fn read(&self, topics: &[&str], expected: usize) -> Vec<Received> {
        read_from(&self.consumer(topics), expected)
    }
}

/// Polls `consumer` until `expected` messages arrived, or [`BROKER_WAIT`] passed without a new one.
pub fn read_from(consumer: &BaseConsumer, expected: usize) -> Vec<Received> {
    let mut received = Vec::new();
    let mut last = Instant::now();
    while received.len() < expected && last.elapsed() < BROKER_WAIT {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                last = Instant::now();
                received.push(Received {
                    topic: m.topic().to_string(),
                    partition: m.partition(),
                    key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                    payload: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                });
            }
            Some(Err(e)) => eprintln!("test consumer: {e}"),
            None => {}
        }
    }
    received
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}
