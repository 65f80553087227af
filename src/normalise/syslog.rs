//! Syslog lines (RFC 3164, RFC 5424) → `norm_id=Syslog`, refined per program (sshd, sudo, su, Drupal).
//!
//! Field order follows the schema's worked examples: the header fields (`host`, `process`,
//! `process_id`, `event_type`, structured data), then the program's own fields, then `message`.

use logferry_parsers::{drupal, sshd, su, sudo, syslog};

use super::text::{address, canonical_int, to_snake_case};
use super::time::SourceClock;
use super::MapResult;
use crate::event::{Event, EventTime, Value};

/// Maps one syslog line.
pub fn map<'a>(
    line: &'a [u8],
    clock: &SourceClock,
    now: EventTime,
    event: &mut Event<'a>,
) -> MapResult {
    let record = syslog::parse(line).map_err(|e| e.to_string())?;
    if let Some(time) = &record.time {
        event.time = clock
            .resolve(time, now)
            .ok_or("timestamp is not a real date")?;
    }
    if let Some(pri) = record.pri {
        event.facility = pri.facility;
        event.severity = pri.severity;
    }
    event.norm_id = "Syslog";
    event.app_name = "syslog";
    if let Some(host) = record.hostname {
        event.text("host", host);
    }
    let program = record.app_name.unwrap_or_default();
    if let Some(app) = record.app_name {
        event.text("process", app);
    }
    if let Some(pid) = record.proc_id {
        match canonical_int(pid) {
            Some(n) => event.int("process_id", n),
            None => event.text("process_id", pid),
        }
    }
    if let Some(msg_id) = record.msg_id {
        event.text("event_type", msg_id);
    }
    if let Some(sd) = record.structured_data {
        structured_data(sd, event);
    }
    let mut message = record.message;
    let refined = match program {
        b"sshd" => {
            event.norm_id = "LinuxSshd";
            sshd_fields(message, event)
        }
        b"sudo" => {
            event.norm_id = "LinuxSudo";
            sudo_fields(message, event)
        }
        b"su" => {
            event.norm_id = "LinuxSu";
            su_fields(message, event)
        }
        _ => drupal_fields(&mut message, event),
    };
    if !refined {
        event.label("Syslog");
    }
    event.text("message", message.trim_ascii_end());
    Ok(())
}

/// Structured-data parameters as fields: names snake_cased, the first of a repeated name wins,
/// canonical integers as numbers.
fn structured_data<'a>(sd: &'a [u8], event: &mut Event<'a>) {
    for param in syslog::sd_params(sd) {
        let Ok(param) = param else { break };
        let name = to_snake_case(event.record.str(param.name));
        if name.is_empty() || event.get(&name).is_some() {
            continue;
        }
        let value = match canonical_int(&param.value) {
            Some(n) => Value::Int(n),
            None => Value::Str(event.record.cow(param.value)),
        };
        event.dynamic(name, value);
    }
}

fn port(event: &mut Event<'_>, port: Option<u16>) {
    if let Some(port) = port {
        event.int("source_port", i64::from(port));
    }
}

fn sshd_fields<'a>(message: &'a [u8], event: &mut Event<'a>) -> bool {
    use sshd::SshdEvent;
    let Some(parsed) = sshd::parse(message) else {
        return false;
    };
    match parsed {
        SshdEvent::Accepted {
            method,
            user,
            address: addr,
            port: p,
        } => {
            event.text("user", user);
            address(event, "source_address", "source_host", addr);
            port(event, p);
            event.text("authentication_method", method);
            event.str("action", "Accepted");
            labels(event, &["User", "Login", "Successful"]);
        }
        SshdEvent::Failed {
            method,
            user,
            invalid_user,
            address: addr,
            port: p,
        } => {
            event.text("user", user);
            address(event, "source_address", "source_host", addr);
            port(event, p);
            event.text("authentication_method", method);
            event.str("action", "Failed");
            event.text("object", method);
            if invalid_user {
                event.str("reason", "invalid user");
            }
            labels(event, &["User", "Login", "Failed"]);
        }
        SshdEvent::InvalidUser {
            user,
            address: addr,
            port: p,
        } => {
            event.text("user", user);
            address(event, "source_address", "source_host", addr);
            port(event, p);
            event.str("reason", "invalid user");
            labels(event, &["User", "Login", "Failed"]);
        }
        SshdEvent::Disconnect {
            user,
            address: addr,
            port: p,
        } => {
            if let Some(user) = user {
                event.text("user", user);
            }
            address(event, "source_address", "source_host", addr);
            port(event, p);
            labels(event, &["Connection", "Disconnect"]);
        }
        SshdEvent::Session { open, user, uid } => {
            event.text("user", user);
            if let Some(uid) = uid {
                event.int("user_id", i64::from(uid));
            }
            labels(
                event,
                &["User", "Session", if open { "Open" } else { "Close" }],
            );
        }
        SshdEvent::AuthFailure { rhost, user } => {
            if let Some(rhost) = rhost {
                address(event, "source_address", "source_host", rhost);
            }
            if let Some(user) = user {
                event.text("user", user);
            }
            labels(event, &["User", "Authentication", "Failed"]);
        }
    }
    true
}

fn sudo_fields<'a>(message: &'a [u8], event: &mut Event<'a>) -> bool {
    let Some(sudo) = sudo::parse(message) else {
        return false;
    };
    event.text("user", sudo.caller);
    for (name, value) in [
        ("target_user", sudo.user),
        ("terminal", sudo.tty),
        ("path", sudo.pwd),
        ("command", sudo.command),
        ("reason", sudo.reason),
    ] {
        if let Some(value) = value {
            event.text(name, value);
        }
    }
    let outcome = if sudo.reason.is_some() {
        "Failed"
    } else {
        "Execute"
    };
    labels(event, &["User", "Privilege", outcome]);
    true
}

fn su_fields<'a>(message: &'a [u8], event: &mut Event<'a>) -> bool {
    let Some(su) = su::parse(message) else {
        return false;
    };
    event.text("user", su.caller);
    event.text("target_user", su.target);
    if let Some(tty) = su.tty {
        event.text("terminal", tty);
    }
    labels(
        event,
        &[
            "User",
            "Privilege",
            if su.failed { "Failed" } else { "Successful" },
        ],
    );
    true
}

/// The Drupal syslog module's watchdog line, whatever the program is called; `message` becomes the
/// watchdog message.
fn drupal_fields<'a>(message: &mut &'a [u8], event: &mut Event<'a>) -> bool {
    // The base URL comes first: most messages are turned away here, before the split into fields.
    if !message.starts_with(b"http") {
        return false;
    }
    let Some(record) = drupal::parse(message) else {
        return false;
    };
    event.norm_id = "DrupalWatchdog";
    event.time.unix = record.timestamp;
    labels(event, &["Application", "Drupal"]);
    if let Some(host) = drupal::host_of(record.base_url) {
        event.text("destination_host", host);
    }
    event.text("event_category", record.kind);
    address(event, "source_address", "source_host", record.ip);
    event.text("url", record.request_uri);
    event.text("referer", record.referer);
    if let Some(uid) = record.uid {
        event.int("user_id", i64::try_from(uid).unwrap_or(i64::MAX));
    }
    if record.kind == b"user" {
        match drupal::user_action(record.message) {
            Some(drupal::UserAction::LoginOk(name)) => {
                event.text("user", name);
                labels(event, &["User", "Login", "Successful"]);
            }
            Some(drupal::UserAction::LoginFailed(name)) => {
                event.text("user", name);
                labels(event, &["User", "Login", "Failed"]);
            }
            Some(drupal::UserAction::Logout(name)) => {
                event.text("user", name);
                labels(event, &["User", "Logout"]);
            }
            None => {}
        }
    } else if record.kind == b"php" {
        event.label("Error");
    }
    *message = record.message;
    true
}

/// Adds `labels`, which hold no duplicates.
fn labels(event: &mut Event<'_>, labels: &[&'static str]) {
    if event.labels.is_empty() {
        // The usual case (refinement labels come first): nothing to compare against.
        event
            .labels
            .extend(labels.iter().map(|&label| label.into()));
    } else {
        for label in labels {
            event.label(*label);
        }
    }
}
