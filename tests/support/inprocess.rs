//! The pipeline run in the test's own process (`pipeline::run_until`), with an `[api]` to read its
//! metrics, and the JSON payloads of what a [`super::Collector`] received from it.

use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::unused_port;

/// A running pipeline; stop it with [`Pipeline::stop`].
pub struct Pipeline {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    api: String,
    _dir: TempDir,
}

impl Pipeline {
    /// Runs `components` (sources and sinks tables) with a data_dir of its own and an `[api]`;
    /// returns once the API answers (every source is listening by then).
    pub async fn start(components: &str) -> Pipeline {
        let dir = tempfile::tempdir().expect("temporary directory");
        let api = format!("127.0.0.1:{}", unused_port());
        let text = format!(
            "data_dir = {:?}\nshutdown_timeout = \"5s\"\n[api]\naddress = \"{api}\"\n{components}",
            dir.path().display().to_string()
        );
        let config = logferry::config::parse(&text, "test.toml")
            .unwrap_or_else(|e| panic!("test configuration rejected:\n{e}\n---\n{text}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(logferry::pipeline::run_until(config, async {
            let _ = stopped.await;
        }));
        let pipeline = Pipeline {
            stop: Some(stop),
            task: Some(task),
            api,
            _dir: dir,
        };
        for _ in 0..500 {
            if pipeline.try_get("/health").await.is_some() {
                return pipeline;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the pipeline did not start");
    }

    /// `GET path` from the API: the response body, `None` if it does not answer.
    async fn try_get(&self, path: &str) -> Option<String> {
        let mut stream = tokio::net::TcpStream::connect(&self.api).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
    }

    /// The value of the sample `name{labels}` (labels as written, e.g. `source="net"`); 0 if absent.
    pub async fn metric(&self, name: &str, labels: &str) -> f64 {
        let text = self.try_get("/metrics").await.expect("metrics");
        let prefix = format!("{name}{{{labels}}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Like [`Pipeline::metric`], polled until it is not 0 (at most a few seconds).
    pub async fn wait_metric(&self, name: &str, labels: &str) -> f64 {
        for _ in 0..250 {
            let value = self.metric(name, labels).await;
            if value != 0.0 {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        0.0
    }

    /// Stops gracefully and checks that `run_until` succeeded.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("running");
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the pipeline stops")
            .expect("no panic")
            .expect("run_until succeeds");
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The JSON payload of a received RFC 5424 message (a sink with `encoding = "json"`).
pub fn payload(message: &str) -> serde_json::Value {
    let start = message
        .find('{')
        .unwrap_or_else(|| panic!("no JSON payload in {message}"));
    serde_json::from_str(&message[start..]).unwrap_or_else(|e| panic!("{e}: {message}"))
}
