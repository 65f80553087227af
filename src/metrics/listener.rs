//! Metrics of the network sources (syslog and HTTP listeners): connections, refusals and drops,
//! by source and reason, rendered with the other metrics.

use super::exposition::{Exposition, Kind};
use super::{Counter, Gauge};

/// Why a listener refused a connection or a request, or dropped what it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A connection beyond `max_connections` (closed at once).
    ConnectionLimit,
    /// A TLS handshake that failed (bad or missing client certificate included).
    TlsHandshake,
    /// A client certificate whose subject is not in `allowed_subjects`.
    SubjectNotAllowed,
    /// A connection closed after `idle_timeout` without data.
    IdleTimeout,
    /// An HTTP request without a known bearer token (401).
    Unauthorized,
    /// An HTTP body over `max_body_bytes` (413).
    TooLarge,
    /// An HTTP body that is not JSON objects, or another bad request (400).
    BadRequest,
    /// An HTTP request refused or timed out because the pipeline was full (503).
    PipelineFull,
    /// UDP messages dropped because the pipeline was full (counted per message).
    UdpPipelineFull,
}

impl Refusal {
    const ALL: [Refusal; 9] = [
        Refusal::ConnectionLimit,
        Refusal::TlsHandshake,
        Refusal::SubjectNotAllowed,
        Refusal::IdleTimeout,
        Refusal::Unauthorized,
        Refusal::TooLarge,
        Refusal::BadRequest,
        Refusal::PipelineFull,
        Refusal::UdpPipelineFull,
    ];

    fn label(self) -> &'static str {
        match self {
            Refusal::ConnectionLimit => "connection_limit",
            Refusal::TlsHandshake => "tls_handshake",
            Refusal::SubjectNotAllowed => "subject_not_allowed",
            Refusal::IdleTimeout => "idle_timeout",
            Refusal::Unauthorized => "unauthorized",
            Refusal::TooLarge => "too_large",
            Refusal::BadRequest => "bad_request",
            Refusal::PipelineFull => "pipeline_full",
            Refusal::UdpPipelineFull => "udp_pipeline_full",
        }
    }
}

/// The metrics of one listening source (its events and bytes are in its `SourceMetrics`).
#[derive(Debug, Default)]
pub struct ListenerMetrics {
    /// Connections open now.
    pub open: Gauge,
    /// Connections accepted (including those then refused).
    pub accepted: Counter,
    refused: [Counter; Refusal::ALL.len()],
}

impl ListenerMetrics {
    /// Counts `n` refusals (or dropped messages) for `reason`.
    pub fn refuse(&self, reason: Refusal, n: u64) {
        if let Some(i) = Refusal::ALL.iter().position(|r| *r == reason) {
            self.refused[i].add(n);
        }
    }

    /// How many were counted for `reason`.
    pub fn refused(&self, reason: Refusal) -> u64 {
        Refusal::ALL
            .iter()
            .position(|r| *r == reason)
            .map_or(0, |i| self.refused[i].get())
    }
}

/// Writes the listener families for every registered listener.
pub(super) fn render(listeners: &[(String, std::sync::Arc<ListenerMetrics>)], e: &mut Exposition) {
    if listeners.is_empty() {
        return;
    }
    e.family(
        "logferry_source_connections",
        Kind::Gauge,
        "TCP/TLS/HTTP connections open now, per network source.",
    );
    for (source, m) in listeners {
        e.sample(
            "logferry_source_connections",
            &[("source", source)],
            m.open.get(),
        );
    }
    e.family(
        "logferry_source_connections_total",
        Kind::Counter,
        "Connections accepted by the network source.",
    );
    for (source, m) in listeners {
        e.sample(
            "logferry_source_connections_total",
            &[("source", source)],
            m.accepted.get(),
        );
    }
    e.family(
        "logferry_source_refused_total",
        Kind::Counter,
        "Connections, requests or (udp_pipeline_full) UDP messages a network source refused or dropped, by reason.",
    );
    for (source, m) in listeners {
        for reason in Refusal::ALL {
            e.sample(
                "logferry_source_refused_total",
                &[("source", source), ("reason", reason.label())],
                m.refused(reason),
            );
        }
    }
}
