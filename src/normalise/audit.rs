//! Linux audit records → `norm_id=LinuxAudit`: auditd keys renamed as LogPoint's Sigma pipeline names them.
//!
//! Field order follows the schema's worked examples: `event_type`, then the record's fields in the
//! order written (a user-space record's `msg='…'` unpacked in place), then `audit_serial`. In an
//! `EXECVE` record the arguments come first and its other fields (`argc`) after `audit_serial`.

use std::borrow::Cow;

use logferry_parsers::auditd::{self, AuditField, AuditValue};
use logferry_parsers::syscalls;

use super::json::FIXED;
use super::text::{address, canonical_int, lossy, snake_case};
use super::MapResult;
use crate::event::{Event, EventTime, Value};

/// Maps one audit record; its time is the `audit(EPOCH.MS:…)` stamp, in UTC.
pub fn map<'a>(line: &'a [u8], event: &mut Event<'a>) -> MapResult {
    let record = auditd::parse(line).map_err(|e| e.to_string())?;
    event.time = EventTime {
        unix: i64::try_from(record.seconds).map_err(|_| "timestamp out of range")?,
        nanos: record.millis * 1_000_000,
        offset_seconds: None,
    };
    event.norm_id = "LinuxAudit";
    event.app_name = "auditd";
    event.label("Audit");
    event.text("event_type", record.record_type);
    if let Some(node) = record.node {
        event.text("node", node);
    }
    let arch = auditd::fields(record.body)
        .find(|f| f.key == b"arch")
        .map_or(&b""[..], |f| value_bytes(f.value));
    let mut mapper = Mapper {
        record_type: record.record_type,
        arch,
        result: None,
        syscall: None,
    };
    let is_execve = record.record_type == b"EXECVE";
    mapper.fields(record.body, event, |key| {
        !is_execve || auditd::argument_index(key).is_some()
    });
    if let Ok(serial) = i64::try_from(record.serial) {
        event.int("audit_serial", serial);
    }
    if is_execve {
        mapper.fields(record.body, event, |key| {
            auditd::argument_index(key).is_none()
        });
    }
    if is_execve || matches!(mapper.syscall, Some("execve" | "execveat")) {
        event.label("Process");
        event.label("Create");
    }
    if matches!(record.record_type, b"USER_LOGIN" | b"USER_AUTH") {
        event.label("User");
        event.label("Login");
        match mapper.result {
            Some(true) => event.label("Successful"),
            Some(false) => event.label("Failed"),
            None => {}
        }
    }
    Ok(())
}

/// State gathered while the fields of one record are mapped.
struct Mapper<'a> {
    record_type: &'a [u8],
    /// The record's `arch` (hex), for naming its `syscall`.
    arch: &'a [u8],
    /// `res=`: success (`success`, `yes`, `1`) or failure (`failed`, `no`, `0`).
    result: Option<bool>,
    /// The name of the record's system call.
    syscall: Option<&'static str>,
}

impl<'a> Mapper<'a> {
    /// Maps the fields of `body` whose key `select` accepts, unpacking a nested `msg='…'` in place.
    fn fields(&mut self, body: &'a [u8], event: &mut Event<'a>, select: impl Fn(&[u8]) -> bool) {
        for field in auditd::fields(body) {
            if let AuditValue::Nested(inner) = field.value {
                for nested in auditd::fields(inner) {
                    if select(nested.key) {
                        self.field(nested, event);
                    }
                }
            } else if select(field.key) {
                self.field(field, event);
            }
        }
    }

    fn field(&mut self, field: AuditField<'a>, event: &mut Event<'a>) {
        let key = field.key;
        let text = self.decoded(field);
        if matches!(&*text, b"?" | b"(null)" | b"(none)") {
            return;
        }
        match key {
            b"syscall" => return self.syscall(&text, event),
            b"res" => {
                self.result = match &*text {
                    b"success" | b"yes" | b"1" => Some(true),
                    b"failed" | b"no" | b"0" => Some(false),
                    _ => None,
                }
            }
            b"addr" => {
                if let Cow::Borrowed(addr) = text {
                    if event.get("source_address").is_none() && event.get("source_host").is_none() {
                        address(event, "source_address", "source_host", addr);
                    }
                    return;
                }
            }
            _ => {}
        }
        let argument = auditd::argument_index(key).map(argument_name);
        let Some(name) = argument.clone().or_else(|| taxonomy_name(key, event)) else {
            return;
        };
        if FIXED.contains(&&*name) || event.get(&name).is_some() {
            return;
        }
        let quoted = matches!(field.value, AuditValue::Quoted(_));
        let number = match (&argument, quoted, &text) {
            (None, false, Cow::Borrowed(bytes)) => decimal(bytes),
            _ => None,
        };
        let value = match number {
            Some(n) => Value::Int(n),
            None => Value::Str(event.record.cow(text)),
        };
        event.dynamic(name, value);
    }

    /// The value as text: hex decoded where auditd hex-encodes the key, `proctitle`'s NULs as spaces.
    fn decoded(&self, field: AuditField<'a>) -> Cow<'a, [u8]> {
        let AuditValue::Bare(bare) = field.value else {
            return Cow::Borrowed(value_bytes(field.value));
        };
        if !auditd::is_encoded(self.record_type, field.key) {
            return Cow::Borrowed(bare);
        }
        match auditd::decode_hex(bare) {
            Some(mut bytes) => {
                if field.key == b"proctitle" {
                    while bytes.last() == Some(&0) {
                        bytes.pop();
                    }
                    bytes
                        .iter_mut()
                        .filter(|b| **b == 0)
                        .for_each(|b| *b = b' ');
                }
                Cow::Owned(bytes)
            }
            None => Cow::Borrowed(bare),
        }
    }

    /// `syscall=N` → `syscall` (the name for the record's `arch`, else the number as text) and `syscall_id`.
    fn syscall(&mut self, text: &[u8], event: &mut Event<'a>) {
        let number = canonical_int(text);
        self.syscall = number
            .and_then(|n| u64::try_from(n).ok())
            .and_then(|n| syscalls::name(self.arch, n));
        let name = match self.syscall {
            Some(name) => Cow::Borrowed(name),
            None => lossy(text).into_owned().into(),
        };
        event.dynamic(Cow::Borrowed("syscall"), Value::Str(name));
        if let Some(n) = number {
            event.int("syscall_id", n);
        }
    }
}

/// The raw bytes of a value, whatever its quoting.
fn value_bytes(value: AuditValue<'_>) -> &[u8] {
    match value {
        AuditValue::Bare(v) | AuditValue::Quoted(v) | AuditValue::Nested(v) => v,
    }
}

/// The taxonomy name of an auditd key; a key without a mapping keeps its name, snake_cased
/// (`old-auid` → `old_auid`). `None` for a key with nothing left of it.
fn taxonomy_name<'a>(key: &'a [u8], event: &Event<'a>) -> Option<Cow<'a, str>> {
    let mapped = match key {
        b"pid" => "process_id",
        b"ppid" => "parent_process_id",
        b"uid" => "user_id",
        b"auid" => "audit_user_id",
        b"euid" => "effective_user_id",
        b"suid" => "set_user_id",
        b"fsuid" => "file_system_user_id",
        b"gid" => "group_id",
        b"egid" => "effective_group_id",
        b"sgid" => "set_group_id",
        b"fsgid" => "filesystem_group_id",
        b"comm" | b"proctitle" => "command",
        b"exe" | b"name" | b"cwd" => "path",
        b"nametype" => "path_type",
        b"acct" => "user",
        b"res" => "status",
        b"ses" => "session_id",
        _ => {
            let plain = key
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
            return if plain {
                Some(event.record.str(key))
            } else {
                Some(snake_case(&lossy(key)).into()).filter(|n: &Cow<'_, str>| !n.is_empty())
            };
        }
    };
    Some(Cow::Borrowed(mapped))
}

/// `argument0` … `argument7` without allocating; higher indices are built.
fn argument_name(index: u32) -> Cow<'static, str> {
    const NAMES: [&str; 8] = [
        "argument0",
        "argument1",
        "argument2",
        "argument3",
        "argument4",
        "argument5",
        "argument6",
        "argument7",
    ];
    match NAMES.get(index as usize) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(format!("argument{index}")),
    }
}

/// A decimal integer as auditd writes one: canonical digits, optionally negative (`exit=-2`).
fn decimal(text: &[u8]) -> Option<i64> {
    match text.strip_prefix(b"-") {
        Some(digits) => canonical_int(digits).filter(|&n| n != 0).map(|n| -n),
        None => canonical_int(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(line: &str) -> Event<'_> {
        let mut event = Event::new("host", "audit.log");
        event.record = crate::normalise::text::RecordText::new(line.as_bytes());
        map(line.as_bytes(), &mut event).unwrap();
        event
    }

    #[test]
    fn syscall_record() {
        let e = mapped(
            "type=SYSCALL msg=audit(1764151200.123:9911): arch=c000003e syscall=59 success=yes exit=0 a0=55d0c1 a1=40000 items=2 ppid=2201 pid=2210 auid=1000 uid=0 euid=0 tty=pts0 ses=3 comm=\"curl\" exe=\"/usr/bin/curl\" subj=unconfined key=\"susp_activity\"",
        );
        assert_eq!(e.labels.as_slice(), ["Audit", "Process", "Create"]);
        assert_eq!(e.get("syscall"), Some(&Value::Str("execve".into())));
        assert_eq!(e.get("syscall_id"), Some(&Value::Int(59)));
        assert_eq!(e.get("argument1"), Some(&Value::Str("40000".into())));
        assert_eq!(e.get("parent_process_id"), Some(&Value::Int(2201)));
        assert_eq!(e.get("effective_user_id"), Some(&Value::Int(0)));
        assert_eq!(e.get("command"), Some(&Value::Str("curl".into())));
        assert_eq!(e.get("path"), Some(&Value::Str("/usr/bin/curl".into())));
        assert_eq!(e.get("key"), Some(&Value::Str("susp_activity".into())));
        assert_eq!(e.get("exit"), Some(&Value::Int(0)));
        assert_eq!(e.get("arch"), Some(&Value::Str("c000003e".into())));
        let names: Vec<&str> = e.fields.iter().map(|f| &*f.name).collect();
        assert_eq!(names.last(), Some(&"audit_serial"));
        assert_eq!(e.time.nanos, 123_000_000);
    }

    #[test]
    fn aarch64_and_unknown_syscalls() {
        let e = mapped("type=SYSCALL msg=audit(1.0:1): arch=c00000b7 syscall=221 exit=-2");
        assert_eq!(e.get("syscall"), Some(&Value::Str("execve".into())));
        assert_eq!(e.get("exit"), Some(&Value::Int(-2)));
        let e = mapped("type=SYSCALL msg=audit(1.0:1): tty=(none) key=(null) hostname=?");
        assert_eq!(e.fields.len(), 2, "only event_type and audit_serial");
        let e = mapped("type=SYSCALL msg=audit(1.0:1): arch=40000003 syscall=11");
        assert_eq!(e.get("syscall"), Some(&Value::Str("11".into())));
        assert_eq!(e.get("syscall_id"), Some(&Value::Int(11)));
        assert_eq!(e.labels.as_slice(), ["Audit"]);
    }

    #[test]
    fn proctitle_and_path_records() {
        let e = mapped("type=PROCTITLE msg=audit(1.0:1): proctitle=6375726C002D73002F746D702F78");
        assert_eq!(e.get("command"), Some(&Value::Str("curl -s /tmp/x".into())));
        let e = mapped(
            "type=PATH msg=audit(1.0:1): item=0 name=2F746D702F612062 inode=12 mode=0100644 nametype=CREATE",
        );
        assert_eq!(e.get("path"), Some(&Value::Str("/tmp/a b".into())));
        assert_eq!(e.get("mode"), Some(&Value::Str("0100644".into())));
        assert_eq!(e.get("path_type"), Some(&Value::Str("CREATE".into())));
        let e = mapped("type=CWD msg=audit(1.0:1): cwd=\"/root\"");
        assert_eq!(e.get("path"), Some(&Value::Str("/root".into())));
    }

    #[test]
    fn user_records() {
        let e = mapped(
            "node=app03 type=USER_AUTH msg=audit(1.0:7): pid=1 uid=0 old-auid=4294967295 msg='op=PAM:authentication grantors=pam_unix acct=\"root\" exe=\"/usr/bin/su\" hostname=? addr=? terminal=pts/0 res=success'",
        );
        assert_eq!(
            e.labels.as_slice(),
            ["Audit", "User", "Login", "Successful"]
        );
        assert_eq!(e.get("node"), Some(&Value::Str("app03".into())));
        assert_eq!(e.get("old_auid"), Some(&Value::Int(4_294_967_295)));
        assert_eq!(e.get("user"), Some(&Value::Str("root".into())));
        assert_eq!(e.get("hostname"), None);
        assert_eq!(e.get("source_address"), None);
        let e = mapped("type=USER_LOGIN msg=audit(1.0:7): msg='addr=mail.example.org res=no'");
        assert_eq!(
            e.get("source_host"),
            Some(&Value::Str("mail.example.org".into()))
        );
        assert_eq!(e.labels.as_slice(), ["Audit", "User", "Login", "Failed"]);
    }

    #[test]
    fn execve_order_and_many_arguments() {
        let e = mapped(
            "type=EXECVE msg=audit(1.0:5): argc=9 a0=\"sh\" a1=\"1\" a2=\"2\" a3=\"3\" a4=\"4\" a5=\"5\" a6=\"6\" a7=\"7\" a8=2D63 a1_len=3",
        );
        let names: Vec<&str> = e.fields.iter().map(|f| &*f.name).collect();
        assert_eq!(names[..2], ["event_type", "argument0"]);
        assert_eq!(names[9..], ["argument8", "audit_serial", "argc", "a1_len"]);
        assert_eq!(e.get("argument8"), Some(&Value::Str("-c".into())));
        assert_eq!(e.get("argument1"), Some(&Value::Str("1".into())));
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(b"-13"), Some(-13));
        assert_eq!(decimal(b"-0"), None);
        assert_eq!(decimal(b"4294967295"), Some(4_294_967_295));
        assert_eq!(decimal(b"0x1"), None);
    }
}
