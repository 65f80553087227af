//! The bridge from a network source's async tasks to its processing thread.
//!
//! Listeners (tokio tasks) cut what they receive into [`Chunk`]s and send them, as [`Delivery`]s, into
//! a bounded channel; one OS thread per source receives them and runs the [`Processor`], which blocks
//! while a sink's queue is full. The channel then fills up, and a TCP listener's `send().await` waits:
//! it stops reading its sockets, so the senders' TCP windows close (backpressure, nothing lost). UDP
//! uses `try_send` instead and counts a drop; HTTP waits briefly, then answers 503.
//!
//! Acknowledgement: each delivery carries the [`Receipt`] the source wants run once every sink
//! acknowledged its events (an HTTP source answers its request then; a syslog source has nothing
//! to answer). The thread ends when every sender is gone (the listeners stopped) and it has processed
//! what was queued.

use std::net::IpAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use crate::batch::Receipt;
use crate::normalise::time::event_time_now;
use crate::process::{Processor, Sender};
use crate::sources::tail::Chunk;

/// Chunks waiting for the processing thread, per source.
pub const INTAKE_CHUNKS: usize = 4;

/// An authenticated client of an HTTP source: what its token decides on its events.
#[derive(Debug)]
pub struct Client {
    pub device_name: String,
    pub application: String,
}

/// Records received from one peer, on their way to the processing thread.
#[derive(Debug)]
pub struct Delivery {
    pub chunk: Chunk,
    pub peer: IpAddr,
    /// The HTTP client that sent them; `None` for syslog.
    pub client: Option<Arc<Client>>,
    /// Bytes received for them (framing included), for the source's byte count.
    pub bytes: u64,
    pub receipt: Receipt,
}

/// The sending side, cloned by every connection of the source.
pub type IntakeSender = mpsc::Sender<Delivery>;

/// Starts the processing thread of source `name`; `device_name` is the source's fixed one, if any
/// (see [`Sender::device_name`]).
pub fn start(
    name: &str,
    mut processor: Processor,
    device_name: Option<String>,
) -> std::io::Result<(IntakeSender, JoinHandle<()>)> {
    let (tx, mut rx) = mpsc::channel::<Delivery>(INTAKE_CHUNKS);
    let source = name.to_string();
    let thread = std::thread::Builder::new()
        .name(format!("source-{name}"))
        .spawn(move || {
            while let Some(delivery) = rx.blocking_recv() {
                let sender = Sender {
                    peer: delivery.peer,
                    device_name: match &delivery.client {
                        Some(client) => Some(client.device_name.as_str()),
                        None => device_name.as_deref(),
                    },
                    application: delivery.client.as_ref().map(|c| c.application.as_str()),
                };
                let sent = processor.send_relayed(
                    &delivery.chunk,
                    &sender,
                    delivery.bytes,
                    delivery.receipt,
                    event_time_now(),
                );
                if sent.is_err() {
                    tracing::warn!(source = %source, "the sinks of this source have stopped; it stops too");
                    return;
                }
            }
        })?;
    Ok((tx, thread))
}
