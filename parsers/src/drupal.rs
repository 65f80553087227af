//! Drupal watchdog syslog messages: `base_url|timestamp|type|ip|request_uri|referer|uid|link|message`.

use memchr::{memchr, memchr3, memrchr};

use crate::scan::{from, parse_u64, split_at, trim_eol};

/// One watchdog entry, borrowing from the input.
///
/// Invariants: `timestamp` came from a non-empty run of digits (so it is ≥ 0); `uid`
/// is `None` for an empty field; `message` is everything after the eighth `|` (it may
/// contain `|`); the other fields hold no `|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrupalRecord<'a> {
    /// Site base URL, e.g. `https://www.kk.dk`.
    pub base_url: &'a [u8],
    /// Unix seconds of the event.
    pub timestamp: i64,
    /// Watchdog type, e.g. `user`, `php`, `access denied`.
    pub kind: &'a [u8],
    /// Client address.
    pub ip: &'a [u8],
    /// Requested URI.
    pub request_uri: &'a [u8],
    /// Referer, possibly empty.
    pub referer: &'a [u8],
    /// Drupal user id; `None` when empty.
    pub uid: Option<u64>,
    /// Operations link, often empty.
    pub link: &'a [u8],
    /// The log message.
    pub message: &'a [u8],
}

/// Parses a watchdog message (the syslog MSG of program `drupal`); `None` when it has
/// fewer than nine `|`-separated fields, a non-numeric timestamp or a non-numeric uid.
///
/// A trailing `\r`/`\n` is ignored. Never panics, allocates nothing.
pub fn parse(message: &[u8]) -> Option<DrupalRecord<'_>> {
    let mut it = trim_eol(message).splitn(9, |&c| c == b'|');
    let base_url = it.next()?;
    let timestamp = i64::try_from(parse_u64(it.next()?)?).ok()?;
    let kind = it.next()?;
    let ip = it.next()?;
    let request_uri = it.next()?;
    let referer = it.next()?;
    let uid = match it.next()? {
        b"" => None,
        d => Some(parse_u64(d)?),
    };
    let link = it.next()?;
    let message = it.next()?;
    Some(DrupalRecord {
        base_url,
        timestamp,
        kind,
        ip,
        request_uri,
        referer,
        uid,
        link,
        message,
    })
}

/// The host of a URL: `https://user@www.kk.dk:8443/x` → `www.kk.dk`, `http://[::1]:80/` → `::1`.
///
/// Strips the scheme (when it is `letters://`), userinfo, port, path, query and
/// fragment; a bare `www.kk.dk/path` works too. `None` when no host is left.
pub fn host_of(base_url: &[u8]) -> Option<&[u8]> {
    let b = base_url.trim_ascii();
    let scheme_len = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        .count();
    let rest = match from(b, scheme_len).strip_prefix(b"://") {
        Some(r) if scheme_len > 0 => r,
        _ => b.strip_prefix(b"//").unwrap_or(b),
    };
    let authority = split_at(rest, memchr3(b'/', b'?', b'#', rest).unwrap_or(rest.len())).0;
    let hostport = match memrchr(b'@', authority) {
        Some(i) => from(authority, i + 1),
        None => authority,
    };
    let host = match hostport.strip_prefix(b"[") {
        Some(v6) => split_at(v6, memchr(b']', v6)?).0,
        None => split_at(hostport, memchr(b':', hostport).unwrap_or(hostport.len())).0,
    };
    (!host.is_empty()).then_some(host)
}

/// A login-related watchdog message (type `user`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction<'a> {
    /// `Session opened for NAME.`
    LoginOk(&'a [u8]),
    /// `Login attempt failed for NAME.`
    LoginFailed(&'a [u8]),
    /// `Session closed for NAME.`
    Logout(&'a [u8]),
}

/// Recognises `Session opened for NAME.` / `Login attempt failed for NAME.` / `Session closed for NAME.`
///
/// The name is what follows `for ` with one trailing `.` removed; `None` for other
/// messages or an empty name.
pub fn user_action(message: &[u8]) -> Option<UserAction<'_>> {
    fn name(rest: &[u8]) -> Option<&[u8]> {
        let n = rest.strip_suffix(b".").unwrap_or(rest);
        (!n.is_empty()).then_some(n)
    }
    let m = trim_eol(message);
    if let Some(r) = m.strip_prefix(b"Session opened for ") {
        name(r).map(UserAction::LoginOk)
    } else if let Some(r) = m.strip_prefix(b"Login attempt failed for ") {
        name(r).map(UserAction::LoginFailed)
    } else if let Some(r) = m.strip_prefix(b"Session closed for ") {
        name(r).map(UserAction::Logout)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::mutations;
    use proptest::prelude::*;

    const SEEDS: &[&[u8]] = &[
        b"https://www.kk.dk|1795683600|user|10.1.1.1|https://www.kk.dk/user/login|https://www.kk.dk/|0||Login attempt failed for jdoe.",
        b"http://intranet.example:8080|1795683601|php|192.0.2.4|/node/1|||<a href=\"/node/1\">view</a>|Warning: a | b in x.php",
    ];

    #[test]
    fn watchdog_line() {
        let r = parse(SEEDS[0]).unwrap();
        assert_eq!(
            r,
            DrupalRecord {
                base_url: b"https://www.kk.dk",
                timestamp: 1_795_683_600,
                kind: b"user",
                ip: b"10.1.1.1",
                request_uri: b"https://www.kk.dk/user/login",
                referer: b"https://www.kk.dk/",
                uid: Some(0),
                link: b"",
                message: b"Login attempt failed for jdoe.",
            }
        );
        assert_eq!(
            user_action(r.message),
            Some(UserAction::LoginFailed(b"jdoe"))
        );
        assert_eq!(host_of(r.base_url), Some(&b"www.kk.dk"[..]));
        let r = parse(SEEDS[1]).unwrap();
        assert_eq!((r.uid, r.referer), (None, &b""[..]));
        assert_eq!(r.link, b"<a href=\"/node/1\">view</a>");
        assert_eq!(r.message, b"Warning: a | b in x.php");
    }

    #[test]
    fn rejects() {
        for m in [
            &b""[..],
            b"a|b|c",
            b"https://x|17x|user|ip|uri|ref|0||m",
            b"https://x||user|ip|uri|ref|0||m",
            b"https://x|1|user|ip|uri|ref|u1||m",
            b"https://x|99999999999999999999|user|ip|uri|ref|0||m",
            b"https://x|1|user|ip|uri|ref|0|",
        ] {
            assert_eq!(parse(m), None, "{}", String::from_utf8_lossy(m));
        }
        assert_eq!(
            parse(b"https://x|1|user|ip|uri|ref|0||").map(|r| r.message),
            Some(&b""[..])
        );
    }

    #[test]
    fn hosts() {
        for (url, host) in [
            (&b"https://www.kk.dk"[..], Some(&b"www.kk.dk"[..])),
            (b"https://www.kk.dk/", Some(b"www.kk.dk")),
            (
                b"http://user:pw@intranet.example:8080/x?y#z",
                Some(b"intranet.example"),
            ),
            (b"http://[2001:db8::1]:8443/", Some(b"2001:db8::1")),
            (b"www.kk.dk/path", Some(b"www.kk.dk")),
            (b"www.kk.dk/r?u=http://evil.example/", Some(b"www.kk.dk")),
            (b"//cdn.example/x", Some(b"cdn.example")),
            (b"https://", None),
            (b"", None),
            (b"http://[::1", None),
        ] {
            assert_eq!(host_of(url), host, "{}", String::from_utf8_lossy(url));
        }
    }

    #[test]
    fn user_actions() {
        assert_eq!(
            user_action(b"Session opened for jdoe."),
            Some(UserAction::LoginOk(b"jdoe"))
        );
        assert_eq!(
            user_action(b"Session closed for j.doe."),
            Some(UserAction::Logout(b"j.doe"))
        );
        assert_eq!(
            user_action(b"Login attempt failed for jdoe"),
            Some(UserAction::LoginFailed(b"jdoe"))
        );
        assert_eq!(user_action(b"Session opened for ."), None);
        assert_eq!(user_action(b"User jdoe logged in"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Some(r) = parse(&b) {
                let _ = host_of(r.base_url);
                let _ = user_action(r.message);
            }
            let _ = host_of(&b);
            let _ = user_action(&b);
        }

        #[test]
        fn never_panics_on_mutations(b in mutations(SEEDS)) {
            if let Some(r) = parse(&b) {
                prop_assert!(r.timestamp >= 0);
                let _ = host_of(r.base_url);
                let _ = user_action(r.message);
            }
        }
    }
}
