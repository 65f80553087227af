//! Values of a query as LogPoint compares them: `*` and `?` wildcards, case-insensitive text, numbers.

use std::fmt;

/// One element of a value: a literal character or a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    Char(char),
    /// `*`: any run of characters, including none.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
}

/// A value written in a query: its wildcard pattern and, when it reads as one, its number.
///
/// Invariant: `number` is `Some` only when the value has no wildcard.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub pieces: Vec<Piece>,
    pub number: Option<Number>,
}

/// A numeric value of a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            // Precision loss above 2^53 only matters for comparisons between floats and huge ints.
            Number::Int(n) => n as f64,
            Number::Float(f) => f,
        }
    }
}

impl Literal {
    /// A literal from its pieces; reads the number when the text is one (`2222`, `-1`, `0.5`).
    pub fn new(pieces: Vec<Piece>) -> Self {
        let mut literal = Literal {
            pieces,
            number: None,
        };
        if !literal.has_wildcard() {
            literal.number = parse_number(&literal.to_plain_text());
        }
        literal
    }

    /// True for the value `*` alone: "the field exists".
    pub fn is_any(&self) -> bool {
        self.pieces == [Piece::AnyRun]
    }

    /// The characters of a literal without wildcards (a field name); wildcards read as `*`/`?`.
    pub fn to_plain_text(&self) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Char(c) => *c,
                Piece::AnyRun => '*',
                Piece::AnyOne => '?',
            })
            .collect()
    }

    /// True if the literal has a wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.pieces.iter().any(|p| !matches!(p, Piece::Char(_)))
    }

    /// Whether `text` matches the whole pattern, ignoring case.
    pub fn matches_text(&self, text: &str) -> bool {
        glob_match(&self.pieces, text)
    }

    /// Whether `text` contains a match of the pattern that starts and ends on word boundaries,
    /// ignoring case: a keyword search (`or` is not found in `for root`, `port 22*` is).
    /// An empty phrase is found nowhere.
    pub fn found_in(&self, text: &str) -> bool {
        if self.pieces.is_empty() {
            return false;
        }
        let boundaries: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i) && is_word_boundary(text, i))
            .collect();
        boundaries.iter().enumerate().any(|(n, &start)| {
            boundaries[n..]
                .iter()
                .any(|&end| glob_match(&self.pieces, &text[start..end]))
        })
    }
}

/// A word is a run of letters, digits and `_`; a boundary is any position not inside one.
fn is_word_boundary(text: &str, at: usize) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let before = text[..at].chars().next_back().is_some_and(is_word);
    let after = text[at..].chars().next().is_some_and(is_word);
    !(before && after)
}

impl fmt::Display for Literal {
    /// The value as a query would write it, quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for piece in &self.pieces {
            match piece {
                Piece::Char(c @ ('"' | '\\' | '*' | '?')) => write!(f, "\\{c}")?,
                Piece::Char(c) => write!(f, "{c}")?,
                Piece::AnyRun => f.write_str("*")?,
                Piece::AnyOne => f.write_str("?")?,
            }
        }
        f.write_str("\"")
    }
}

/// `text` as an integer or a finite float; `None` for anything else (including `inf`, `NaN`).
pub fn parse_number(text: &str) -> Option<Number> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(Number::Int(n));
    }
    let looks_numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    match text.parse::<f64>() {
        Ok(f) if looks_numeric && f.is_finite() => Some(Number::Float(f)),
        _ => None,
    }
}

/// Wildcard match of the whole of `text`, case-insensitive; linear backtracking on the last `*`.
fn glob_match(pattern: &[Piece], text: &str) -> bool {
    let (mut p, mut t) = (0, 0);
    // After a mismatch, retry from the last `*` with one more character swallowed.
    let mut retry: Option<(usize, usize)> = None;
    loop {
        let next = text[t..].chars().next();
        match (pattern.get(p), next) {
            (None, None) => return true,
            (Some(Piece::AnyRun), _) => {
                retry = Some((p, t));
                p += 1;
                continue;
            }
            (Some(Piece::AnyOne), Some(c)) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            (Some(Piece::Char(want)), Some(c)) if same_letter(*want, c) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        let Some((star, from)) = retry else {
            return false;
        };
        let Some(skipped) = text[from..].chars().next() else {
            return false;
        };
        retry = Some((star, from + skipped.len_utf8()));
        p = star + 1;
        t = from + skipped.len_utf8();
    }
}

fn same_letter(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str) -> Literal {
        Literal::new(
            text.chars()
                .map(|c| match c {
                    '*' => Piece::AnyRun,
                    '?' => Piece::AnyOne,
                    c => Piece::Char(c),
                })
                .collect(),
        )
    }

    #[test]
    fn wildcards_match_the_whole_value() {
        assert!(lit("198.51.*").matches_text("198.51.100.4"));
        assert!(!lit("198.51.*").matches_text("10.198.51.4"));
        assert!(lit("*iptables").matches_text("/usr/sbin/iptables"));
        assert!(lit("*-c*").matches_text("-czf"));
        assert!(lit("r??t").matches_text("root"));
        assert!(!lit("r??t").matches_text("rooot"));
        assert!(lit("*").matches_text(""));
        assert!(lit("a*b*c").matches_text("aXbYbZc"));
        assert!(!lit("a*b*c").matches_text("aXbYbZ"));
        assert!(lit("ü*").matches_text("Übung"));
    }

    #[test]
    fn case_is_ignored() {
        assert!(lit("EXECVE").matches_text("execve"));
        assert!(lit("failed*").matches_text("Failed password"));
        assert!(!lit("root").matches_text("roots"));
    }

    #[test]
    fn keyword_search_finds_whole_words_and_phrases() {
        assert!(lit("--to-ports 42").found_in("iptables --to-ports 42 -j"));
        assert!(lit("if=").found_in("dd if=/dev/zero"));
        assert!(lit("wget * | sh").found_in("x; wget http://e | sh"));
        assert!(!lit("of=").found_in("dd if=/dev/zero"));
        assert!(!lit("or").found_in("Failed password for root"));
        assert!(lit("pass*").found_in("Failed password for root"));
        assert!(lit("*word").found_in("Failed password for root"));
        assert!(!lit("").found_in("x"));
    }

    #[test]
    fn numbers_are_read_only_without_wildcards() {
        assert_eq!(lit("2222").number, Some(Number::Int(2222)));
        assert_eq!(lit("-1.5").number, Some(Number::Float(-1.5)));
        assert_eq!(lit("2*").number, None);
        assert_eq!(lit("inf").number, None);
        assert_eq!(lit("1e3").number, Some(Number::Float(1000.0)));
        assert_eq!(lit("0x10").number, None);
    }

    #[test]
    fn display_quotes_and_escapes() {
        let mut l = lit("a*");
        l.pieces.push(Piece::Char('"'));
        assert_eq!(l.to_string(), r#""a*\"""#);
    }
}
