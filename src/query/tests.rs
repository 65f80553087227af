//! The evaluator against hand-made events: precedence, wildcards, IN, numbers vs strings, NOT,
//! parse errors, and the Sigma project's LogPoint queries.

use std::borrow::Cow;

use super::*;
use crate::event::{Event, Value};

/// A failed SSH login as the syslog normaliser writes it.
fn ssh_event() -> Event<'static> {
    let mut event = Event::new("app03", "/var/log/auth.log");
    event.norm_id = "UnixSSH";
    for label in ["User", "Login", "Failed"] {
        event.label(label);
    }
    event.str("user", "root");
    event.dynamic(
        Cow::Borrowed("source_address"),
        Value::Ip(Cow::Borrowed("198.51.100.4")),
    );
    event.int("source_port", 2222);
    event.str("port_text", "2222");
    event.dynamic(Cow::Borrowed("duration"), Value::Float(0.25));
    event.msg = Cow::Borrowed("Failed password for root from 198.51.100.4 port 2222 ssh2");
    event
}

fn check(query: &str) -> bool {
    let q = Query::parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    q.matches(&ssh_event())
}

#[test]
fn fields_labels_and_juxtaposition() {
    assert!(check(
        r#"label="User" label="Login" label="Failed" user="root""#
    ));
    assert!(check(r#"label=user label=FAILED"#));
    assert!(!check(r#"label="User" label="Successful""#));
    assert!(check(
        r#"norm_id=UnixSSH device_name="app03" severity=6 facility=1"#
    ));
    assert!(check(r#"user="root" AND source_port=2222"#));
    assert!(!check(r#"nosuchfield="x""#));
}

#[test]
fn or_binds_tighter_than_and() {
    // a b OR c == a AND (b OR c): false AND (...) is false whatever c is.
    assert!(!check(r#"user=admin source_port=2222 OR user=root"#));
    // With explicit grouping the other way it matches.
    assert!(check(r#"(user=admin source_port=2222) OR user=root"#));
    assert!(check(r#"user=root user=admin OR source_port=2222"#));
    assert!(!check(r#"user=root user=admin OR source_port=1"#));
    // NOT binds tighter than OR: -a OR b == (NOT a) OR b.
    assert!(check(r#"-user=root OR source_port=2222"#));
    assert!(!check(r#"-(user=root OR source_port=1)"#));
}

#[test]
fn wildcards_and_case() {
    assert!(check(r#"source_address="198.51.*""#));
    assert!(check(r#"source_address=198.51.100.?"#));
    assert!(!check(r#"source_address="10.*""#));
    assert!(check(r#"user="RO*""#));
    assert!(check(r#"user=r??t"#));
    assert!(!check(r#"user=r?t"#));
    assert!(check(r#"user="*o*""#));
    // An escaped wildcard is a literal character.
    assert!(!check(r#"user="ro\*""#));
}

#[test]
fn exists_and_not_equal() {
    assert!(check("user=*"));
    assert!(check("label=*"));
    assert!(!check("parse_error=*"));
    assert!(check("parse_error!=*"));
    assert!(!check("user!=*"));
    assert!(check("user!=admin"));
    assert!(!check("user!=ROOT"));
    // A missing field is "not equal" too, as `-field=value` would be.
    assert!(check("nosuchfield!=x"));
}

#[test]
fn in_lists() {
    assert!(check(r#"user IN ["admin", "root"]"#));
    assert!(check(r#"user in ["adm*", "r*"]"#));
    assert!(!check(r#"user IN ["admin", "guest"]"#));
    assert!(check(r#"source_port IN [22, 2222]"#));
    assert!(check(r#"label IN ["Logout", "Login"]"#));
    assert!(check(r#"user IN ["root",]"#));
}

#[test]
fn numbers_compare_as_numbers() {
    assert!(check("source_port>1024"));
    assert!(check("source_port>=2222 source_port<=2222"));
    assert!(!check("source_port<1024"));
    assert!(check("source_port=2222.0"));
    assert!(check(r#"source_port="2222""#));
    assert!(check("source_port=22*"));
    assert!(check("duration<1 duration>0.2 duration=0.25"));
    assert!(check("log_ts>=0"));
    // A string field holding digits equals the number as text, but does not order.
    assert!(check("port_text=2222"));
    assert!(!check("port_text>1024"));
    // 02222 is the number 2222 for a numeric field, other text for a string field.
    assert!(check("source_port=02222"));
    assert!(!check("port_text=02222"));
}

#[test]
fn not_in_both_spellings() {
    assert!(check("-user=admin"));
    assert!(check("NOT user=admin"));
    assert!(check("not user=admin"));
    assert!(!check("-user=root"));
    assert!(check("- -user=root"));
    assert!(check(r#"-(user=admin OR user=guest)"#));
}

#[test]
fn keywords_search_the_message() {
    assert!(check(r#""failed password""#));
    assert!(check("password ssh2"));
    assert!(check(r#""port 22*""#));
    assert!(!check(r#""accepted""#));
    assert!(check(r#"-"accepted""#));
    // A quoted keyword is a word, not an operator.
    assert!(!check(r#""OR""#));
}

#[test]
fn failing_clauses_name_the_top_level_terms() {
    let q = Query::parse(r#"label="User" label="Logout" (user=root OR user=x) source_port<10"#)
        .unwrap();
    assert_eq!(
        q.failing_clauses(&ssh_event()),
        vec![r#"label="Logout""#, "source_port<10"]
    );
    let q = Query::parse("user=x").unwrap();
    assert_eq!(q.failing_clauses(&ssh_event()), vec!["user=x"]);
}

fn error(query: &str) -> ParseError {
    match Query::parse(query) {
        Ok(_) => panic!("{query} parsed"),
        Err(e) => e,
    }
}

#[test]
fn parse_errors_say_where_and_what() {
    let e = error("user=");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (6, "expected a value after '='")
    );
    let e = error("(user=root");
    assert_eq!((e.column, e.expected.as_str()), (11, "expected ')'"));
    let e = error("user=root)");
    assert_eq!(e.column, 10);
    let e = error("a OR");
    assert_eq!(e.expected, "expected a term after OR");
    let e = error("port>high");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (6, "expected a number after '>'")
    );
    let e = error("x IN [a b]");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (9, "expected ',' or ']' in the IN list")
    );
    let e = error("x IN a");
    assert_eq!(e.expected, "expected '[' after IN");
    let e = error("us*r=root");
    assert_eq!(e.column, 1);
    let e = error("");
    assert_eq!(e.expected, "expected a search term");
    let e = error("user=root | chart count()");
    assert_eq!(e.column, 11);
    assert!(e.expected.contains("pipeline commands"), "{e}");
    assert_eq!(
        e.to_string(),
        "column 11: expected a term or the end of the query; pipeline commands ('| process', \
         '| chart', ...) are not supported, only the search before them\n    user=root | chart count()\n              ^"
    );
}

#[test]
fn never_panics_on_odd_input() {
    for query in [
        "\"", "\\", "-", "--", "((", ")", "[", "]", ",", "=", "!", "<=", "a=\\", "ü=ö", "a IN [",
        "a IN []", "NOT", "AND", "OR OR", "a=\"\"", "\"\"", "a=- b", "*",
    ] {
        let _ = Query::parse(query).map(|q| q.matches(&ssh_event()));
    }
}

/// Every query of Sigma's Linux rules converted for LogPoint parses, except the one that needs a
/// pipeline (`| process regex(...)`), which is rejected with a clear error.
#[test]
fn sigma_logpoint_queries_parse() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpora/sigma/logpoint_queries.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} not found", path.display());
        return;
    };
    let (mut parsed, mut rejected) = (0, Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let rule: serde_json::Value = serde_json::from_str(line).unwrap();
        let query = rule["logpoint_query"].as_str().unwrap();
        match Query::parse(query) {
            Ok(q) => {
                q.matches(&ssh_event());
                parsed += 1;
            }
            Err(e) => rejected.push((rule["rule"].to_string(), e)),
        }
    }
    eprintln!("{parsed} Sigma LogPoint queries parse; rejected: {rejected:?}");
    assert_eq!(rejected.len(), 1, "{rejected:#?}");
    assert!(rejected[0].1.expected.contains("pipeline commands"));
    assert!(parsed >= 54);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Strings of the characters that matter to the lexer, plus words and keywords.
    fn query_text() -> impl Strategy<Value = String> {
        let atom = prop_oneof![
            Just("user".to_string()),
            Just(" OR ".to_string()),
            Just(" AND ".to_string()),
            Just(" NOT ".to_string()),
            Just(" IN ".to_string()),
            "[-=!<>()\\[\\],\"\\\\*? |a1.ü]".prop_map(|s: String| s),
        ];
        proptest::collection::vec(atom, 0..24).prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics(text in query_text()) {
            match Query::parse(&text) {
                Ok(q) => {
                    let event = ssh_event();
                    q.matches(&event);
                    q.failing_clauses(&event);
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn never_panics_on_any_string(text in ".{0,80}") {
            if let Ok(q) = Query::parse(&text) {
                q.matches(&ssh_event());
            }
        }
    }
}
