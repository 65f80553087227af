//! Tests of the custom-layout matcher on real-looking Apache and Nginx lines.

use super::*;
use crate::log_format::{compile_string, Syntax};
use crate::testutil::mutations;
use proptest::prelude::*;

const APACHE_D: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D"#;
const APACHE_D_LINE: &[u8] = br#"192.168.1.100 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=1 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)" 1534"#;
const NGINX_MAIN: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" rt=$request_time uct="$upstream_connect_time""#;
const NGINX_MAIN_LINE: &[u8] = br#"2001:db8::7 - - [26/Nov/2026:09:15:00 +0100] "POST /api/v1/search?q=a%20b HTTP/2.0" 503 1532 "-" "curl/8.5 \"test\" agent" "10.0.0.1, 10.0.0.2" rt=0.123 uct="0.001, 0.002""#;
const VHOST_MS: &str = r#"%v:%p %a %u [%{begin:msec}t] "%m %U%q %H" %>s %O %{ms}T"#;
const VHOST_MS_LINE: &[u8] =
    br#"www.example.dk:8443 10.1.2.3 bob [1795680000123] "GET /s?q=1 HTTP/1.1" 404 - 12"#;
const ISO: &str = r#"$time_iso8601 $host $remote_addr "$request_method $uri$is_args$args $server_protocol" $status $bytes_sent $msec"#;
const ISO_LINE: &[u8] = br#"2026-11-26T10:00:00+01:00 shop.example.dk 10.0.0.9 "GET /basket?id=7 HTTP/1.1" 200 512 1795683600.250"#;

fn format(text: &str, syntax: Syntax) -> LogFormat {
    compile_string(text, syntax).unwrap()
}

#[test]
fn apache_with_microseconds() {
    let r = format(APACHE_D, Syntax::Apache)
        .parse(APACHE_D_LINE)
        .unwrap();
    assert_eq!(r.client, Some(&b"192.168.1.100"[..]));
    assert_eq!(r.user, Some(&b"frank"[..]));
    let Some(LayoutTime::Civil(t)) = r.time else {
        panic!("{:?}", r.time)
    };
    assert_eq!(t.unix_seconds(), Some(971_211_336));
    assert_eq!(r.method, Some(&b"GET"[..]));
    assert_eq!(r.target.as_deref(), Some(&b"/apache_pb.gif?a=1"[..]));
    assert_eq!(r.version, Some(&b"1.0"[..]));
    assert_eq!((r.status, r.bytes), (Some(200), Some(2326)));
    assert_eq!(r.referer, Some(&b"http://www.example.com/start.html"[..]));
    assert_eq!(
        r.user_agent,
        Some(&b"Mozilla/4.08 [en] (Win98; I ;Nav)"[..])
    );
    assert_eq!(r.duration_micros, Some(1534));
    assert_eq!((r.vhost, r.port, r.other_request), (None, None, None));
}

#[test]
fn nginx_with_escaped_quotes_and_dropped_fields() {
    let r = format(NGINX_MAIN, Syntax::Nginx)
        .parse(NGINX_MAIN_LINE)
        .unwrap();
    assert_eq!(r.client, Some(&b"2001:db8::7"[..]));
    assert_eq!(r.user, Some(&b"-"[..]));
    assert_eq!(r.target.as_deref(), Some(&b"/api/v1/search?q=a%20b"[..]));
    assert_eq!((r.status, r.bytes), (Some(503), Some(1532)));
    assert_eq!(r.referer, Some(&b"-"[..]));
    assert_eq!(r.user_agent, Some(&br#"curl/8.5 \"test\" agent"#[..]));
    assert_eq!(r.duration_micros, Some(123_000));
}

#[test]
fn vhost_port_parts_and_epoch_millis() {
    let r = format(VHOST_MS, Syntax::Apache)
        .parse(VHOST_MS_LINE)
        .unwrap();
    assert_eq!(r.vhost, Some(&b"www.example.dk"[..]));
    assert_eq!(r.port, Some(8443));
    assert_eq!(r.client, Some(&b"10.1.2.3"[..]));
    assert_eq!(
        r.time,
        Some(LayoutTime::Epoch {
            seconds: 1_795_680_000,
            nanos: 123_000_000
        })
    );
    assert_eq!(r.method, Some(&b"GET"[..]));
    assert!(matches!(r.target, Some(Cow::Borrowed(b"/s?q=1"))));
    assert_eq!(r.version, Some(&b"1.1"[..]));
    assert_eq!((r.status, r.bytes), (Some(404), None));
    assert_eq!(r.duration_micros, Some(12_000));
}

#[test]
fn iso_time_and_nginx_path_query_parts() {
    let f = format(ISO, Syntax::Nginx);
    let r = f.parse(ISO_LINE).unwrap();
    let Some(LayoutTime::Civil(t)) = r.time else {
        panic!("{:?}", r.time)
    };
    assert_eq!(t.unix_seconds(), Some(1_795_683_600));
    assert_eq!(t.offset_seconds, Some(3600));
    assert_eq!(r.vhost, Some(&b"shop.example.dk"[..]));
    assert!(matches!(r.target, Some(Cow::Borrowed(b"/basket?id=7"))));
    assert_eq!(r.bytes, Some(512));
    let r = f
        .parse(br#"2026-11-26T10:00:00Z h 10.0.0.9 "GET /basket HTTP/1.1" 200 512 1"#)
        .unwrap();
    assert!(matches!(r.target, Some(Cow::Borrowed(b"/basket"))));
}

#[test]
fn path_and_query_written_apart_are_joined() {
    let f = format(r#"%U "%q" $x"#, Syntax::Apache);
    let r = f.parse(br#"/a "?b=1" $x"#).unwrap();
    assert_eq!(r.target.as_deref(), Some(&b"/a?b=1"[..]));
    let f = format("$uri $args", Syntax::Nginx);
    assert_eq!(
        f.parse(b"/a b=1").unwrap().target.as_deref(),
        Some(&b"/a?b=1"[..])
    );
    assert_eq!(
        f.parse(b"/a -").unwrap().target.as_deref(),
        Some(&b"/a"[..])
    );
}

#[test]
fn seconds_and_fractions() {
    assert_eq!(scaled(b"0.123", 1_000_000), Some(123_000));
    assert_eq!(scaled(b"2", 1_000_000), Some(2_000_000));
    assert_eq!(scaled(b"1.5", 1_000), Some(1_500));
    assert_eq!(scaled(b"0.1234567891", 1_000_000), Some(123_456));
    assert_eq!(scaled(b"12", 1), Some(12));
    assert_eq!(scaled(b"", 1), None);
    assert_eq!(scaled(b"1.", 1), Some(1));
    assert_eq!(scaled(b"1.2.3", 1), None);
    assert_eq!(scaled(b"99999999999999999999", 1), None);
}

#[test]
fn tls_garbage_request_and_cut_user_agent() {
    let f = format(APACHE_D, Syntax::Apache);
    let r = f
        .parse(br#"203.0.113.9 - - [26/Nov/2026:03:01:02 +0100] "\x16\x03\x01" 400 226 "-" "-" 17"#)
        .unwrap();
    assert_eq!(r.other_request, Some(&br"\x16\x03\x01"[..]));
    assert_eq!((r.method, r.target), (None, None));
    let f = format(r#"%h %>s "%{User-agent}i""#, Syntax::Apache);
    let r = f.parse(b"1.2.3.4 200 \"Mozilla/5.0 (cut").unwrap();
    assert_eq!(r.user_agent, Some(&b"Mozilla/5.0 (cut"[..]));
}

#[test]
fn rejects_lines_of_another_shape() {
    let f = format(APACHE_D, Syntax::Apache);
    for line in [
        &b""[..],
        b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" x 1 \"-\" \"-\" 1",
        b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1x \"-\" \"-\" 1",
        b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700 \"GET / HTTP/1.0\" 200 1 \"-\" \"-\" 1",
        b"1.2.3.4 - - 10/Oct/2000:13:55:36 -0700 \"GET / HTTP/1.0\" 200 1 \"-\" \"-\" 1",
        b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1 \"-\" \"-\" abc",
        b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0 200 1",
    ] {
        let e = f.parse(line).unwrap_err();
        assert!(e.offset <= line.len(), "{e}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        for (text, syntax) in [(APACHE_D, Syntax::Apache), (NGINX_MAIN, Syntax::Nginx), (VHOST_MS, Syntax::Apache), (ISO, Syntax::Nginx)] {
            if let Err(e) = format(text, syntax).parse(&b) {
                prop_assert!(e.offset <= b.len());
            }
        }
    }

    #[test]
    fn never_panics_on_mutations(b in mutations(&[APACHE_D_LINE, NGINX_MAIN_LINE, VHOST_MS_LINE, ISO_LINE])) {
        for (text, syntax) in [(APACHE_D, Syntax::Apache), (NGINX_MAIN, Syntax::Nginx), (VHOST_MS, Syntax::Apache), (ISO, Syntax::Nginx)] {
            if let Err(e) = format(text, syntax).parse(&b) {
                prop_assert!(e.offset <= b.len());
            }
        }
    }

    #[test]
    fn compiling_any_text_never_panics(text in "[%${}a-zA-Z<>!0-9,:^\\\\\" ]{0,40}") {
        let _ = compile_string(&text, Syntax::Apache);
        let _ = compile_string(&text, Syntax::Nginx);
    }
}
