//! `sudo` command-log messages: `caller : [reason ; ]TTY=… ; PWD=… ; USER=… ; COMMAND=…`.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::scan::{trim_ascii, trim_eol};

// Built once: building a substring searcher costs more than searching a short message with it.
static CALLER_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" : "));
static FIELD_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" ; "));

/// One sudo command-log message, borrowing from the input.
///
/// Invariants: `caller` is non-empty, trimmed and holds no whitespace; at least one of
/// `tty`, `pwd`, `user`, `command` is `Some`; `command` is the rest of the line after
/// `COMMAND=` (it may contain ` ; `).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SudoEvent<'a> {
    /// The user who ran sudo.
    pub caller: &'a [u8],
    /// Why sudo refused, e.g. `3 incorrect password attempts`, `user NOT in sudoers`.
    pub reason: Option<&'a [u8]>,
    /// `TTY=` value.
    pub tty: Option<&'a [u8]>,
    /// `PWD=` value.
    pub pwd: Option<&'a [u8]>,
    /// `USER=` value, the target user.
    pub user: Option<&'a [u8]>,
    /// `COMMAND=` value: the rest of the line.
    pub command: Option<&'a [u8]>,
}

/// Recognises a sudo command-log message (the syslog MSG of program `sudo`); `None` otherwise.
///
/// Other `KEY=value` fields (`GROUP=`, `ENV=`, `TSID=`) are skipped. Never panics,
/// allocates nothing.
pub fn parse(message: &[u8]) -> Option<SudoEvent<'_>> {
    let message = trim_eol(message);
    let caller_end = CALLER_END.find(message)?;
    let caller = message.get(..caller_end)?;
    let mut rest = message.get(caller_end + 3..)?;
    let caller = trim_ascii(caller);
    if caller.is_empty() || caller.iter().any(u8::is_ascii_whitespace) {
        return None;
    }
    let mut ev = SudoEvent {
        caller,
        reason: None,
        tty: None,
        pwd: None,
        user: None,
        command: None,
    };
    let mut first = true;
    let mut known = false;
    while !rest.is_empty() {
        if let Some(cmd) = rest.strip_prefix(b"COMMAND=") {
            ev.command = Some(cmd);
            known = true;
            break;
        }
        let (field, next) = match FIELD_END.find(rest) {
            Some(i) => (
                rest.get(..i).unwrap_or(&[]),
                rest.get(i + 3..).unwrap_or(&[]),
            ),
            None => (rest, &[][..]),
        };
        let field = trim_ascii(field);
        if let Some(v) = field.strip_prefix(b"TTY=") {
            ev.tty = Some(v);
            known = true;
        } else if let Some(v) = field.strip_prefix(b"PWD=") {
            ev.pwd = Some(v);
            known = true;
        } else if let Some(v) = field.strip_prefix(b"USER=") {
            ev.user = Some(v);
            known = true;
        } else if first && !field.is_empty() {
            ev.reason = Some(field);
        }
        first = false;
        rest = next;
    }
    known.then_some(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::mutations;
    use proptest::prelude::*;

    const SEEDS: &[&[u8]] = &[
        b"deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart wildfly",
        b"deploy : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/ls",
        b"bob : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh -c 'a ; b'",
        b"  ops : TTY=unknown ; PWD=/ ; USER=root ; GROUP=wheel ; ENV=A=1 ; COMMAND=/bin/true",
    ];

    #[test]
    fn command_lines() {
        assert_eq!(
            parse(SEEDS[0]),
            Some(SudoEvent {
                caller: b"deploy",
                reason: None,
                tty: Some(b"pts/0"),
                pwd: Some(b"/home/deploy"),
                user: Some(b"root"),
                command: Some(b"/usr/bin/systemctl restart wildfly"),
            })
        );
        let e = parse(SEEDS[1]).unwrap();
        assert_eq!(e.reason, Some(&b"3 incorrect password attempts"[..]));
        assert_eq!(e.command, Some(&b"/bin/ls"[..]));
        let e = parse(SEEDS[2]).unwrap();
        assert_eq!(
            (e.caller, e.reason),
            (&b"bob"[..], Some(&b"user NOT in sudoers"[..]))
        );
        assert_eq!(e.command, Some(&b"/bin/sh -c 'a ; b'"[..]));
        let e = parse(SEEDS[3]).unwrap();
        assert_eq!(
            (e.caller, e.tty, e.user),
            (&b"ops"[..], Some(&b"unknown"[..]), Some(&b"root"[..]))
        );
        assert_eq!(e.command, Some(&b"/bin/true"[..]));
    }

    #[test]
    fn other_messages() {
        assert_eq!(
            parse(b"pam_unix(sudo:session): session opened for user root by ubuntu(uid=0)"),
            None
        );
        assert_eq!(parse(b"deploy : something odd"), None);
        assert_eq!(parse(b" : TTY=pts/0"), None);
        assert_eq!(parse(b"a b : TTY=pts/0"), None);
        assert_eq!(parse(b""), None);
        let e = parse(b"deploy : TTY=pts/0 ; COMMAND=").unwrap();
        assert_eq!(e.command, Some(&b""[..]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&b);
        }

        #[test]
        fn never_panics_on_mutations(b in mutations(SEEDS)) {
            let _ = parse(&b);
        }
    }
}
