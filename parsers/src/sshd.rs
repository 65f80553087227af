//! Authentication events in OpenSSH `sshd` messages (the syslog MSG of program `sshd`).

use std::sync::LazyLock;

use memchr::memmem::Finder;
use nom::bytes::complete::{tag, take_till, take_while1};
use nom::combinator::opt;
use nom::sequence::delimited;
use nom::{IResult, Parser};

use crate::scan::{from, leading_digits, parse_u16, parse_u32, split_at, token, trim_eol};

// The searches below run on every sshd line; building a substring searcher costs more than the
// search itself on a short message, so each is built once.
static REPEATED_OPEN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b": [ "));
static PAM_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"): "));

/// One recognised sshd event, borrowing from the message.
///
/// Invariants: every `address` is non-empty and holds no space; `user`s are as written
/// (an `Invalid user` line may name the empty user); `port` is `None` when the line
/// names none or it does not fit a `u16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshdEvent<'a> {
    /// `Accepted <method> for <user> from <ip> port <port> ssh2[: <key info>]`.
    Accepted {
        /// Authentication method, e.g. `publickey`, `password`, `keyboard-interactive/pam`.
        method: &'a [u8],
        /// Account logged in to.
        user: &'a [u8],
        /// Client address.
        address: &'a [u8],
        /// Client port.
        port: Option<u16>,
    },
    /// `Failed <method> for [invalid user ]<user> from <ip> port <port> ssh2`.
    Failed {
        /// Authentication method, e.g. `password`, `none`.
        method: &'a [u8],
        /// Account tried.
        user: &'a [u8],
        /// Whether sshd called the user invalid (no such account).
        invalid_user: bool,
        /// Client address.
        address: &'a [u8],
        /// Client port.
        port: Option<u16>,
    },
    /// `Invalid user <user> from <ip>[ port <port>]` (user may be empty).
    InvalidUser {
        /// Account tried, possibly empty.
        user: &'a [u8],
        /// Client address.
        address: &'a [u8],
        /// Client port.
        port: Option<u16>,
    },
    /// `Connection closed by …`, `Connection reset by …`, `Disconnected from …`, `Received disconnect from …`.
    Disconnect {
        /// User named by `authenticating user`, `invalid user` or `user`, if any.
        user: Option<&'a [u8]>,
        /// Client address.
        address: &'a [u8],
        /// Client port.
        port: Option<u16>,
    },
    /// `pam_unix(sshd:session): session opened|closed for user <user>[(uid=N)]…`.
    Session {
        /// `true` for opened, `false` for closed.
        open: bool,
        /// Account of the session.
        user: &'a [u8],
        /// `uid=` right after the user name, when written.
        uid: Option<u32>,
    },
    /// `pam_unix(sshd:auth): authentication failure; … rhost=<host> user=<user>` (empty values → None).
    AuthFailure {
        /// `rhost=` value, `None` when empty or absent.
        rhost: Option<&'a [u8]>,
        /// `user=` value, `None` when empty or absent.
        user: Option<&'a [u8]>,
    },
}

/// Recognises an sshd event in a syslog MSG; `None` for any other message.
///
/// Also accepts the `message repeated N times: [ … ]` wrapper, an `error: ` prefix on
/// `Received disconnect`, and PAM lines without the `pam_unix(…): ` prefix (as
/// `sshd(pam_unix)` used to write them). Never panics, allocates nothing.
pub fn parse(message: &[u8]) -> Option<SshdEvent<'_>> {
    let m = unwrap_repeated(trim_eol(message));
    match m.first()? {
        b'A' => accepted(m),
        b'F' => failed(m),
        b'I' => invalid_user(m),
        b'C' | b'D' | b'R' | b'e' => disconnect(m),
        _ => pam(m),
    }
}

/// `message repeated 3 times: [ inner ]` → `inner`; anything else unchanged.
fn unwrap_repeated(m: &[u8]) -> &[u8] {
    let Some(rest) = m.strip_prefix(b"message repeated ") else {
        return m;
    };
    match REPEATED_OPEN.find(rest) {
        Some(i) => {
            let inner = from(rest, i + 4);
            inner.strip_suffix(b" ]").unwrap_or(inner)
        }
        None => m,
    }
}

/// `<prefix><method> for ` → method and the rest.
fn method_for<'a>(m: &'a [u8], prefix: &'static str) -> IResult<&'a [u8], &'a [u8]> {
    (tag(prefix), take_while1(|c| c != b' '), tag(" for "))
        .map(|(_, method, _)| method)
        .parse(m)
}

/// `<ip>[ port <n>]…` → address (a trailing `:` dropped) and port.
fn address_port(b: &[u8]) -> Option<(&[u8], Option<u16>)> {
    let (addr, rest) = token(b);
    let addr = addr.strip_suffix(b":").unwrap_or(addr);
    if addr.is_empty() {
        return None;
    }
    let port = rest
        .strip_prefix(b" port ")
        .and_then(|p| parse_u16(leading_digits(p).0));
    Some((addr, port))
}

/// `<user> from <ip>[ port <n>]…` → user, address, port (split at the last ` from `).
fn user_from(b: &[u8]) -> Option<(&[u8], &[u8], Option<u16>)> {
    // `f` is rare in these messages: trying each `f` from the end is cheaper than a reverse
    // substring searcher, whose set-up and two-way scan cost more than the message is long.
    let i = memchr::memrchr_iter(b'f', b)
        .filter_map(|f| f.checked_sub(1))
        .find(|&i| from(b, i).starts_with(b" from "))?;
    let (address, port) = address_port(from(b, i + 6))?;
    Some((split_at(b, i).0, address, port))
}

fn accepted(m: &[u8]) -> Option<SshdEvent<'_>> {
    let (rest, method) = method_for(m, "Accepted ").ok()?;
    let (user, address, port) = user_from(rest)?;
    Some(SshdEvent::Accepted {
        method,
        user,
        address,
        port,
    })
}

fn failed(m: &[u8]) -> Option<SshdEvent<'_>> {
    let (rest, method) = method_for(m, "Failed ").ok()?;
    let (rest, invalid): (&[u8], Option<&[u8]>) =
        opt(tag::<_, _, nom::error::Error<&[u8]>>("invalid user "))
            .parse(rest)
            .ok()?;
    let (user, address, port) = user_from(rest)?;
    Some(SshdEvent::Failed {
        method,
        user,
        invalid_user: invalid.is_some(),
        address,
        port,
    })
}

fn invalid_user(m: &[u8]) -> Option<SshdEvent<'_>> {
    let rest = m.strip_prefix(b"Invalid user ")?;
    let (user, address, port) = user_from(rest)?;
    Some(SshdEvent::InvalidUser {
        user,
        address,
        port,
    })
}

fn disconnect(m: &[u8]) -> Option<SshdEvent<'_>> {
    let m = m.strip_prefix(b"error: ").unwrap_or(m);
    let rest = m
        .strip_prefix(b"Connection closed by ")
        .or_else(|| m.strip_prefix(b"Connection reset by "))
        .or_else(|| m.strip_prefix(b"Disconnected from "))
        .or_else(|| m.strip_prefix(b"Received disconnect from "))?;
    let (user, rest) = match ["authenticating user ", "invalid user ", "user "]
        .iter()
        .find_map(|p| rest.strip_prefix(p.as_bytes()))
    {
        Some(after) => {
            let (user, tail) = token(after);
            if tail.is_empty() {
                return None;
            }
            (Some(user), from(tail, 1))
        }
        None => (None, rest),
    };
    let (address, port) = address_port(rest)?;
    Some(SshdEvent::Disconnect {
        user,
        address,
        port,
    })
}

/// `pam_unix(…): ` prefix (optional) then a session or authentication-failure line.
fn pam(m: &[u8]) -> Option<SshdEvent<'_>> {
    let body = match m.strip_prefix(b"pam_unix(") {
        Some(r) => from(r, PAM_END.find(r)? + 3),
        None => m,
    };
    if let Some(rest) = body.strip_prefix(b"session opened for user ") {
        return session(true, rest);
    }
    if let Some(rest) = body.strip_prefix(b"session closed for user ") {
        return session(false, rest);
    }
    let rest = body.strip_prefix(b"authentication failure;")?;
    let mut rhost = None;
    let mut user = None;
    for kv in rest.split(|&c| c == b' ') {
        if let Some(v) = kv.strip_prefix(b"rhost=") {
            rhost = (!v.is_empty()).then_some(v);
        } else if let Some(v) = kv.strip_prefix(b"user=") {
            user = (!v.is_empty()).then_some(v);
        }
    }
    Some(SshdEvent::AuthFailure { rhost, user })
}

/// A user name and the digits of `(uid=N)` right after it.
type UserUid<'a> = (&'a [u8], Option<&'a [u8]>);

/// `<user>[(uid=N)][ by …]` after `session opened|closed for user `.
fn session(open: bool, rest: &[u8]) -> Option<SshdEvent<'_>> {
    let parsed: IResult<&[u8], UserUid<'_>> = (
        take_till(|c| c == b'(' || c == b' '),
        opt(delimited(
            tag("(uid="),
            take_while1(|c: u8| c.is_ascii_digit()),
            tag(")"),
        )),
    )
        .parse(rest);
    let (_, (user, uid)) = parsed.ok()?;
    if user.is_empty() {
        return None;
    }
    Some(SshdEvent::Session {
        open,
        user,
        uid: uid.and_then(parse_u32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::mutations;
    use proptest::prelude::*;

    const SEEDS: &[&[u8]] = &[
        b"Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA 39:33:99:e9",
        b"Accepted keyboard-interactive/pam for bob from 2001:db8::1 port 22 ssh2",
        b"Failed password for root from 203.0.113.5 port 22 ssh2",
        b"Failed none for invalid user x from 198.51.100.7 port 50000 ssh2",
        b"Invalid user  from 1.2.3.4",
        b"Invalid user admin from 1.2.3.4 port 4242",
        b"Connection closed by authenticating user root 1.2.3.4 port 22 [preauth]",
        b"Disconnected from invalid user guest 5.6.7.8 port 1022 [preauth]",
        b"Received disconnect from 9.9.9.9 port 53: 11: Bye Bye [preauth]",
        b"pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)",
        b"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root",
        b"message repeated 2 times: [ Failed password for root from 1.2.3.4 port 22 ssh2]",
    ];

    #[test]
    fn accepted_lines() {
        assert_eq!(
            parse(SEEDS[0]),
            Some(SshdEvent::Accepted {
                method: b"publickey",
                user: b"vagrant",
                address: b"10.0.2.2",
                port: Some(63673)
            })
        );
        assert_eq!(
            parse(SEEDS[1]),
            Some(SshdEvent::Accepted {
                method: b"keyboard-interactive/pam",
                user: b"bob",
                address: b"2001:db8::1",
                port: Some(22)
            })
        );
    }

    #[test]
    fn failed_lines() {
        assert_eq!(
            parse(SEEDS[2]),
            Some(SshdEvent::Failed {
                method: b"password",
                user: b"root",
                invalid_user: false,
                address: b"203.0.113.5",
                port: Some(22)
            })
        );
        assert_eq!(
            parse(SEEDS[3]),
            Some(SshdEvent::Failed {
                method: b"none",
                user: b"x",
                invalid_user: true,
                address: b"198.51.100.7",
                port: Some(50000)
            })
        );
        assert_eq!(
            parse(b"Failed password for invalid user  from 1.2.3.4 port 9 ssh2"),
            Some(SshdEvent::Failed {
                method: b"password",
                user: b"",
                invalid_user: true,
                address: b"1.2.3.4",
                port: Some(9)
            })
        );
        assert_eq!(
            parse(
                b"message repeated 2 times: [ Failed password for root from 1.2.3.4 port 22 ssh2]"
            ),
            Some(SshdEvent::Failed {
                method: b"password",
                user: b"root",
                invalid_user: false,
                address: b"1.2.3.4",
                port: Some(22)
            })
        );
    }

    #[test]
    fn invalid_user_lines() {
        assert_eq!(
            parse(SEEDS[4]),
            Some(SshdEvent::InvalidUser {
                user: b"",
                address: b"1.2.3.4",
                port: None
            })
        );
        assert_eq!(
            parse(SEEDS[5]),
            Some(SshdEvent::InvalidUser {
                user: b"admin",
                address: b"1.2.3.4",
                port: Some(4242)
            })
        );
        assert_eq!(parse(b"Invalid user admin from"), None);
    }

    #[test]
    fn disconnect_lines() {
        let d = |user: Option<&'static [u8]>, address: &'static [u8], port| {
            Some(SshdEvent::Disconnect {
                user,
                address,
                port,
            })
        };
        assert_eq!(parse(SEEDS[6]), d(Some(b"root"), b"1.2.3.4", Some(22)));
        assert_eq!(parse(SEEDS[7]), d(Some(b"guest"), b"5.6.7.8", Some(1022)));
        assert_eq!(parse(SEEDS[8]), d(None, b"9.9.9.9", Some(53)));
        assert_eq!(
            parse(b"Connection closed by 1.2.3.4 [preauth]"),
            d(None, b"1.2.3.4", None)
        );
        assert_eq!(
            parse(b"Connection closed by 1.2.3.4 port 22"),
            d(None, b"1.2.3.4", Some(22))
        );
        assert_eq!(
            parse(b"Disconnected from user deploy 10.0.0.1 port 5000"),
            d(Some(b"deploy"), b"10.0.0.1", Some(5000))
        );
        assert_eq!(
            parse(b"Received disconnect from 1.2.3.4: 11: Bye Bye [preauth]"),
            d(None, b"1.2.3.4", None)
        );
        assert_eq!(
            parse(b"error: Received disconnect from 1.2.3.4 port 99:14: No more [preauth]"),
            d(None, b"1.2.3.4", Some(99))
        );
        assert_eq!(
            parse(b"Connection closed by invalid user  1.2.3.4 port 22"),
            d(Some(b""), b"1.2.3.4", Some(22))
        );
        assert_eq!(
            parse(b"Connection reset by 1.2.3.4 port 22 [preauth]"),
            d(None, b"1.2.3.4", Some(22))
        );
        assert_eq!(parse(b"Connection closed by "), None);
    }

    #[test]
    fn pam_lines() {
        assert_eq!(
            parse(SEEDS[9]),
            Some(SshdEvent::Session {
                open: true,
                user: b"deploy",
                uid: Some(1001)
            })
        );
        assert_eq!(
            parse(b"pam_unix(sshd:session): session closed for user deploy"),
            Some(SshdEvent::Session {
                open: false,
                user: b"deploy",
                uid: None
            })
        );
        assert_eq!(
            parse(b"session opened for user test by (uid=509)"),
            Some(SshdEvent::Session {
                open: true,
                user: b"test",
                uid: None
            })
        );
        assert_eq!(
            parse(SEEDS[10]),
            Some(SshdEvent::AuthFailure {
                rhost: Some(b"1.2.3.4"),
                user: Some(b"root")
            })
        );
        assert_eq!(
            parse(b"authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 "),
            Some(SshdEvent::AuthFailure { rhost: Some(b"218.188.2.4"), user: None })
        );
        assert_eq!(
            parse(b"pam_unix(sshd:auth): check pass; user unknown"),
            None
        );
        assert_eq!(parse(b"Server listening on 0.0.0.0 port 22."), None);
        assert_eq!(parse(b""), None);
    }

    #[test]
    fn user_from_splits_at_the_last_from() {
        let split = |b: &'static [u8]| user_from(b).map(|(user, address, _)| (user, address));
        assert_eq!(
            split(b"a from b from c"),
            Some((&b"a from b"[..], &b"c"[..]))
        );
        assert_eq!(split(b"f from 1.2.3.4"), Some((&b"f"[..], &b"1.2.3.4"[..])));
        assert_eq!(split(b" from 1.2.3.4"), Some((&b""[..], &b"1.2.3.4"[..])));
        assert_eq!(split(b"from 1.2.3.4"), None);
        assert_eq!(split(b"x fromage 1.2.3.4"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn user_from_finds_what_a_substring_search_finds(b in proptest::collection::vec(
            proptest::sample::select(b"from xf".to_vec()), 0..40)) {
            let expected = memchr::memmem::rfind(&b, b" from ")
                .and_then(|i| address_port(from(&b, i + 6)).map(|(a, p)| (split_at(&b, i).0, a, p)));
            prop_assert_eq!(user_from(&b), expected);
        }

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
