//! Unit and property tests of the syslog parser.

use super::*;
use crate::testutil::{mutations, params};
use proptest::prelude::*;

const SSHD: &[u8] = b"Feb 21 21:54:44 app03 sshd[3402]: Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA 39:33:99:e9:a0:dc:f2:33:a3:e5:72:3b:7c:3a:56:84";
const SUDO: &[u8] = b"Nov 26 08:00:01 app03 sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart wildfly";
const KERNEL: &[u8] = b"Dec 31 23:59:59 app03 kernel: [12345.678] eth0: link down";
const KVANTUM: &[u8] = br#"<165>1 2026-11-26T10:11:12.345678+01:00 kvantum-int01 invoice-flow 4711 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] Faktura 88123 godkendt af bruger jdoe"#;
const RFC3164_EX: &[u8] =
    b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8";
const RFC5424_EX1: &[u8] = b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8";
const RFC5424_EX2: &[u8] = b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.";
const RFC5424_EX3: &[u8] = br#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry..."#;
const RFC5424_EX4: &[u8] = br#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]"#;
const RSYSLOG_3339: &[u8] = b"2026-11-26T10:11:12.345678+01:00 host prog: msg\r\n";

#[test]
fn bsd_sshd() {
    let r = parse(SSHD).unwrap();
    assert_eq!(r.protocol, Protocol::Rfc3164);
    assert_eq!(r.pri, None);
    let t = r.time.unwrap();
    assert_eq!(
        (
            t.year,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second,
            t.offset_seconds
        ),
        (None, 2, 21, 21, 54, 44, None)
    );
    assert_eq!(r.hostname, Some(&b"app03"[..]));
    assert_eq!(r.app_name, Some(&b"sshd"[..]));
    assert_eq!(r.proc_id, Some(&b"3402"[..]));
    assert_eq!((r.msg_id, r.structured_data), (None, None));
    assert!(r
        .message
        .starts_with(b"Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA 39:33:"));
}

#[test]
fn bsd_sudo_and_kernel() {
    let r = parse(SUDO).unwrap();
    assert_eq!(
        (r.hostname, r.app_name, r.proc_id),
        (Some(&b"app03"[..]), Some(&b"sudo"[..]), None)
    );
    assert_eq!(r.message, b"deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart wildfly");
    let r = parse(KERNEL).unwrap();
    assert_eq!(
        (r.hostname, r.app_name, r.proc_id),
        (Some(&b"app03"[..]), Some(&b"kernel"[..]), None)
    );
    assert_eq!(r.message, b"[12345.678] eth0: link down");
}

#[test]
fn bsd_rfc_example() {
    let r = parse(RFC3164_EX).unwrap();
    assert_eq!(
        r.pri,
        Some(Priority {
            facility: 4,
            severity: 2
        })
    );
    assert_eq!(
        (r.hostname, r.app_name),
        (Some(&b"mymachine"[..]), Some(&b"su"[..]))
    );
    assert_eq!(r.message, b"'su root' failed for lonvick on /dev/pts/8");
}

#[test]
fn bsd_tag_shapes() {
    type Case = (&'static [u8], Opt, Opt, Opt, &'static [u8]);
    type Opt = Option<&'static [u8]>;
    let cases: &[Case] = &[
        (
            b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure;",
            Some(b"combo"),
            Some(b"sshd"),
            Some(b"19939"),
            b"authentication failure;",
        ),
        (
            b"Feb  1 21:54:44 host CRON[8812]: (root) CMD (x)",
            Some(b"host"),
            Some(b"CRON"),
            Some(b"8812"),
            b"(root) CMD (x)",
        ),
        (
            b"Feb 21 21:54:44 sshd[3402]: hi",
            None,
            Some(b"sshd"),
            Some(b"3402"),
            b"hi",
        ),
        (
            b"Feb 21 21:54:44 kernel: hi",
            None,
            Some(b"kernel"),
            None,
            b"hi",
        ),
        (
            b"Feb 21 21:54:44 host prog no colon here",
            Some(b"host"),
            None,
            None,
            b"prog no colon here",
        ),
        (
            b"Feb 21 21:54:44 host prog:x y",
            Some(b"host"),
            None,
            None,
            b"prog:x y",
        ),
        (
            b"Feb 21 21:54:44 host prog[12] msg",
            Some(b"host"),
            Some(b"prog"),
            Some(b"12"),
            b"msg",
        ),
        (
            b"Feb 21 21:54:44 host prog[12",
            Some(b"host"),
            None,
            None,
            b"prog[12",
        ),
        (
            b"Feb 21 21:54:44 host prog[]: m",
            Some(b"host"),
            Some(b"prog"),
            None,
            b"m",
        ),
        (
            b"Feb 21 21:54:44 host /usr/sbin/cron[7]: m",
            Some(b"host"),
            Some(b"/usr/sbin/cron"),
            Some(b"7"),
            b"m",
        ),
        (b"Feb 21 21:54:44 host", Some(b"host"), None, None, b""),
        (
            b"Feb 21 21:54:44 host prog:",
            Some(b"host"),
            Some(b"prog"),
            None,
            b"",
        ),
        (b"Feb 21 21:54:44", None, None, None, b""),
        (
            b"Feb 21 21:54:44 host [1.2] x",
            Some(b"host"),
            None,
            None,
            b"[1.2] x",
        ),
        (
            b"Feb 21 21:54:44 host prog: \xEF\xBB\xBFbom\r\n",
            Some(b"host"),
            Some(b"prog"),
            None,
            b"bom",
        ),
    ];
    for &(line, host, app, pid, msg) in cases {
        let r = parse(line).unwrap();
        let l = String::from_utf8_lossy(line);
        assert_eq!(r.hostname, host, "{l}");
        assert_eq!(r.app_name, app, "{l}");
        assert_eq!(r.proc_id, pid, "{l}");
        assert_eq!(r.message, msg, "{l}");
    }
}

#[test]
fn bsd_with_rfc3339_and_fraction() {
    let r = parse(RSYSLOG_3339).unwrap();
    assert_eq!(r.protocol, Protocol::Rfc3164);
    let t = r.time.unwrap();
    assert_eq!(
        (t.unix_seconds(), t.nanos),
        (Some(1_795_684_272), 345_678_000)
    );
    assert_eq!(
        (r.hostname, r.app_name, r.message),
        (Some(&b"host"[..]), Some(&b"prog"[..]), &b"msg"[..])
    );
    let r = parse(b"<13>Feb 01 21:54:44.123456 host prog: m").unwrap();
    assert_eq!(r.time.unwrap().nanos, 123_456_000);
    let r = parse(b"<13>no timestamp here").unwrap();
    assert_eq!(
        (r.time, r.hostname, r.app_name),
        (None, Some(&b"no"[..]), None)
    );
    assert_eq!(r.message, b"timestamp here");
}

#[test]
fn ietf_kvantum() {
    let r = parse(KVANTUM).unwrap();
    assert_eq!(r.protocol, Protocol::Rfc5424);
    assert_eq!(
        r.pri,
        Some(Priority {
            facility: 20,
            severity: 5
        })
    );
    let t = r.time.unwrap();
    assert_eq!(
        (t.unix_seconds(), t.nanos, t.offset_seconds),
        (Some(1_795_684_272), 345_678_000, Some(3600))
    );
    assert_eq!(r.hostname, Some(&b"kvantum-int01"[..]));
    assert_eq!(r.app_name, Some(&b"invoice-flow"[..]));
    assert_eq!(r.proc_id, Some(&b"4711"[..]));
    assert_eq!(r.msg_id, Some(&b"ID47"[..]));
    let sd = r.structured_data.unwrap();
    assert_eq!(
        sd,
        br#"[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]"#
    );
    let id = "exampleSDID@32473".to_string();
    assert_eq!(
        params(sd),
        vec![
            (id.clone(), "iut".into(), "3".into()),
            (id.clone(), "eventSource".into(), "Application".into()),
            (id, "eventID".into(), "1011".into()),
        ]
    );
    assert_eq!(r.message, b"Faktura 88123 godkendt af bruger jdoe");
}

#[test]
fn ietf_rfc_examples() {
    let r = parse(RFC5424_EX1).unwrap();
    assert_eq!(
        r.pri,
        Some(Priority {
            facility: 4,
            severity: 2
        })
    );
    assert_eq!(r.time.unwrap().unix_seconds(), Some(1_065_910_455));
    assert_eq!(
        (r.hostname, r.app_name, r.proc_id, r.msg_id),
        (
            Some(&b"mymachine.example.com"[..]),
            Some(&b"su"[..]),
            None,
            Some(&b"ID47"[..])
        )
    );
    assert_eq!(r.structured_data, None);
    assert_eq!(r.message, b"'su root' failed for lonvick on /dev/pts/8");

    let r = parse(RFC5424_EX2).unwrap();
    let t = r.time.unwrap();
    assert_eq!((t.nanos, t.offset_seconds), (3_000, Some(-25_200)));
    assert_eq!(
        (
            r.hostname,
            r.app_name,
            r.proc_id,
            r.msg_id,
            r.structured_data
        ),
        (
            Some(&b"192.0.2.1"[..]),
            Some(&b"myproc"[..]),
            Some(&b"8710"[..]),
            None,
            None
        )
    );
    assert_eq!(r.message, b"%% It's time to make the do-nuts.");

    let r = parse(RFC5424_EX3).unwrap();
    assert_eq!(r.proc_id, None);
    assert_eq!(params(r.structured_data.unwrap()).len(), 3);
    assert_eq!(r.message, b"An application event log entry...");

    let r = parse(RFC5424_EX4).unwrap();
    assert_eq!(r.message, b"");
    let p = params(r.structured_data.unwrap());
    assert_eq!(p.len(), 4);
    assert_eq!(
        p[3],
        (
            "examplePriority@32473".into(),
            "class".into(),
            "high".into()
        )
    );

    let r = parse(b"1 - h - - - - no PRI").unwrap();
    assert_eq!(
        (r.protocol, r.pri, r.hostname, r.message),
        (Protocol::Rfc5424, None, Some(&b"h"[..]), &b"no PRI"[..])
    );
    assert!(parse(b"122 - - - - - -").is_err());
    let r = parse(b"<1>999 - - - - - -").unwrap();
    assert_eq!(r.protocol, Protocol::Rfc5424);
    let r = parse(b"<14>1 - - - - - -").unwrap();
    assert_eq!(
        (
            r.time,
            r.hostname,
            r.app_name,
            r.proc_id,
            r.msg_id,
            r.structured_data,
            r.message
        ),
        (None, None, None, None, None, None, &b""[..])
    );
}

#[test]
fn broken_structured_data_keeps_the_header() {
    for (line, message) in [
        (
            &b"<34>1 2003-10-11T22:14:15.003Z host app pid msgid x y"[..],
            &b"x y"[..],
        ),
        (
            b"<34>1 2003-10-11T22:14:15.003Z host app pid msgid [a x=\"1\"",
            b"[a x=\"1\"",
        ),
        (
            b"<34>1 2003-10-11T22:14:15.003Z host app pid msgid -x",
            b"-x",
        ),
        (
            b"<13>1 2019-02-13T19:48:34+00:00 h root 8449 - [incorrect x] qwerty",
            b"[incorrect x] qwerty",
        ),
        (
            b"<1>1 - - - - - [a b=\"1\"][broken qwerty",
            b"[broken qwerty",
        ),
    ] {
        let r = parse(line).unwrap();
        assert_eq!(
            (r.app_name.is_some() || line.starts_with(b"<1>"), r.message),
            (true, message),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    let r = parse(b"<1>1 - - - - - [a b=\"1\"][broken qwerty").unwrap();
    assert_eq!(r.structured_data, Some(&b"[a b=\"1\"]"[..]));
}

#[test]
fn bsd_leniencies_of_real_senders() {
    let r = parse(b"<38> Mar  7 19:06:53 example tag: testmessage").unwrap();
    assert_eq!(
        (r.hostname, r.app_name, r.message),
        (
            Some(&b"example"[..]),
            Some(&b"tag"[..]),
            &b"testmessage"[..]
        )
    );
    let r = parse(b"<167>Mar 7 19:06:53: example tag: x").unwrap();
    assert_eq!(
        (r.hostname, r.app_name),
        (Some(&b"example"[..]), Some(&b"tag"[..]))
    );
    let r = parse(b"<190>Apr 15 2007 21:28:13: %PIX-6-302014: Teardown TCP connection").unwrap();
    assert_eq!(
        (r.time.and_then(|t| t.year), r.hostname, r.app_name),
        (Some(2007), None, Some(&b"%PIX-6-302014"[..]))
    );
    assert_eq!(r.message, b"Teardown TCP connection");
    let r = parse(b"<190>Apr 15 21:28:13 2007 linksys app: msg").unwrap();
    assert_eq!(
        (r.time.and_then(|t| t.year), r.hostname, r.app_name),
        (Some(2007), Some(&b"linksys"[..]), Some(&b"app"[..]))
    );
}

#[test]
fn program_names_with_spaces() {
    let r =
        parse(b"Dec 13 11:35:57 mac Google Chrome[85294]: objc[85294]: __weak variable").unwrap();
    assert_eq!(
        (r.hostname, r.app_name, r.proc_id),
        (
            Some(&b"mac"[..]),
            Some(&b"Google Chrome"[..]),
            Some(&b"85294"[..])
        )
    );
    assert_eq!(r.message, b"objc[85294]: __weak variable");
    for line in [
        &b"Dec 13 11:35:57 mac some words here: not a tag"[..],
        b"Dec 13 11:35:57 mac a b[x1]: y",
        b"Dec 13 11:35:57 mac a [1]: y",
    ] {
        assert_eq!(
            parse(line).unwrap().app_name,
            None,
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn rejects() {
    for line in [
        &b""[..],
        b"hello world",
        b"<192>Oct 11 22:14:15 host su: x",
        b"<1234>Oct 11 22:14:15 host su: x",
        b"<>Oct 11 22:14:15 host su: x",
        b"<34Oct 11 22:14:15 host su: x",
        b"Oct 32 22:14:15 host su: x",
        b"Oct 11 22:14:15host su: x",
        b"<34>1 2003-10-11T22:14:15.003Z host",
        b"<34>1 2003-10-11T22:14:15.003Z host app pid msgid",
        b"<34>1 2003-13-11T22:14:15.003Z host app pid msgid -",
        b"<1>1 - host\nname - - - -",
        b"<1>1 - - a\x7fp - - -",
    ] {
        let e = parse(line).unwrap_err();
        assert!(e.offset <= line.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        match parse(&b) {
            Ok(r) => if let Some(sd) = r.structured_data {
                prop_assert!(sd_params(sd).all(|p| p.is_ok()));
            },
            Err(e) => prop_assert!(e.offset <= b.len()),
        }
        prop_assert!(sd_params(&b).filter(Result::is_err).count() <= 1);
    }

    #[test]
    fn never_panics_on_mutations(b in mutations(&[SSHD, SUDO, KERNEL, KVANTUM, RFC3164_EX, RFC5424_EX1, RFC5424_EX2, RFC5424_EX3, RFC5424_EX4, RSYSLOG_3339])) {
        if let Ok(r) = parse(&b) {
            prop_assert!(!r.message.starts_with(b" "));
            if let Some(sd) = r.structured_data {
                prop_assert!(sd_params(sd).all(|p| p.is_ok()));
            }
        }
    }
}
