//! `su` session messages: `(to root) deploy on pts/1`, `FAILED SU (to root) deploy on pts/1` and the older shadow-utils forms.

use nom::bytes::complete::{tag, take_till1};
use nom::combinator::{opt, rest};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

use crate::scan::trim_eol;

/// One su attempt, borrowing from the input.
///
/// Invariants: `target` and `caller` are non-empty and hold no space; `tty`, when
/// `Some`, is as written (`pts/1`, `/dev/pts/0`, `none`, `???`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuEvent<'a> {
    /// Whether su refused.
    pub failed: bool,
    /// The account switched to.
    pub target: &'a [u8],
    /// The user who ran su.
    pub caller: &'a [u8],
    /// Terminal, when the line names one.
    pub tty: Option<&'a [u8]>,
}

/// Recognises an su attempt (the syslog MSG of program `su`); `None` otherwise.
///
/// Forms: `[FAILED SU ](to <target>) <caller> on <tty>` (util-linux),
/// `Successful su for <target> by <caller>`, `FAILED su for <target> by <caller>`, and
/// `+ <tty> <caller>:<target>` / `- <tty> <caller>:<target>` (shadow-utils). Never panics.
pub fn parse(message: &[u8]) -> Option<SuEvent<'_>> {
    let m = trim_eol(message);
    util_linux(m)
        .or_else(|_| for_by(m))
        .or_else(|_| plus_minus(m))
        .map(|(_, e)| e)
        .ok()
}

type Res<'a> = IResult<&'a [u8], SuEvent<'a>>;

fn word(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_till1(|c| c == b' ').parse(i)
}

/// `[FAILED SU ](to <target>) <caller>[ on <tty>]`
fn util_linux(i: &[u8]) -> Res<'_> {
    (
        opt(tag("FAILED SU ")),
        delimited(
            tag("(to "),
            take_till1(|c| c == b')' || c == b' '),
            tag(") "),
        ),
        word,
        opt(preceded(tag(" on "), rest)),
    )
        .map(
            |(failed, target, caller, tty): (Option<&[u8]>, _, _, Option<&[u8]>)| SuEvent {
                failed: failed.is_some(),
                target,
                caller,
                tty: tty.filter(|t| !t.is_empty()),
            },
        )
        .parse(i)
}

/// `Successful su for <target> by <caller>` / `FAILED su for <target> by <caller>`
fn for_by(i: &[u8]) -> Res<'_> {
    let (i, failed) =
        if let Ok((i, _)) = tag::<_, _, nom::error::Error<&[u8]>>("FAILED su for ").parse(i) {
            (i, true)
        } else {
            let (i, _) = tag("Successful su for ").parse(i)?;
            (i, false)
        };
    (word, preceded(tag(" by "), word))
        .map(|(target, caller)| SuEvent {
            failed,
            target,
            caller,
            tty: None,
        })
        .parse(i)
}

/// `+ <tty> <caller>:<target>` / `- <tty> <caller>:<target>`
fn plus_minus(i: &[u8]) -> Res<'_> {
    let (i, sign) = nom::branch::alt((tag("+ "), tag("- "))).parse(i)?;
    let (i, tty) = word(i)?;
    let (i, _) = tag(" ").parse(i)?;
    let (i, caller) = take_till1(|c| c == b':' || c == b' ').parse(i)?;
    let (i, target) = preceded(tag(":"), word).parse(i)?;
    Ok((
        i,
        SuEvent {
            failed: sign == b"- ",
            target,
            caller,
            tty: Some(tty),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::mutations;
    use proptest::prelude::*;

    const SEEDS: &[&[u8]] = &[
        b"(to root) deploy on pts/1",
        b"FAILED SU (to root) deploy on pts/1",
        b"Successful su for root by ubuntu",
        b"+ /dev/pts/0 ubuntu:root",
    ];

    #[test]
    fn forms() {
        assert_eq!(
            parse(SEEDS[0]),
            Some(SuEvent {
                failed: false,
                target: b"root",
                caller: b"deploy",
                tty: Some(b"pts/1")
            })
        );
        assert_eq!(
            parse(SEEDS[1]),
            Some(SuEvent {
                failed: true,
                target: b"root",
                caller: b"deploy",
                tty: Some(b"pts/1")
            })
        );
        assert_eq!(
            parse(b"(to oracle) bob on none\r\n"),
            Some(SuEvent {
                failed: false,
                target: b"oracle",
                caller: b"bob",
                tty: Some(b"none")
            })
        );
        assert_eq!(
            parse(b"(to root) bob"),
            Some(SuEvent {
                failed: false,
                target: b"root",
                caller: b"bob",
                tty: None
            })
        );
        assert_eq!(
            parse(SEEDS[2]),
            Some(SuEvent {
                failed: false,
                target: b"root",
                caller: b"ubuntu",
                tty: None
            })
        );
        assert_eq!(
            parse(b"FAILED su for root by bob"),
            Some(SuEvent {
                failed: true,
                target: b"root",
                caller: b"bob",
                tty: None
            })
        );
        assert_eq!(
            parse(SEEDS[3]),
            Some(SuEvent {
                failed: false,
                target: b"root",
                caller: b"ubuntu",
                tty: Some(b"/dev/pts/0")
            })
        );
        assert_eq!(
            parse(b"- pts/3 eve:root"),
            Some(SuEvent {
                failed: true,
                target: b"root",
                caller: b"eve",
                tty: Some(b"pts/3")
            })
        );
    }

    #[test]
    fn not_su() {
        for m in [
            &b""[..],
            b"pam_unix(su:session): session opened for user root by ubuntu(uid=0)",
            b"(to ) x on y",
            b"(to root)",
            b"- pts/3 eve",
            b"'su root' failed for lonvick on /dev/pts/8",
        ] {
            assert_eq!(parse(m), None, "{}", String::from_utf8_lossy(m));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = parse(&b);
        }

        #[test]
        fn never_panics_on_mutations(b in mutations(SEEDS)) {
            if let Some(e) = parse(&b) {
                prop_assert!(!e.target.is_empty() && !e.caller.is_empty());
            }
        }
    }
}
