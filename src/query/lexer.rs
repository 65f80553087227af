//! Splitting a LogPoint query into tokens, each with its byte span in the query.

use std::ops::Range;

use super::pattern::{Literal, Piece};
use super::ParseError;

/// A comparison between a field and a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Compare(CompareOp),
    /// `-` before a term: NOT.
    Minus,
    /// `|`: the start of a pipeline command.
    Pipe,
    And,
    Or,
    Not,
    In,
    /// A word or a quoted string (a quoted `"OR"` is text, not a keyword).
    Text(Literal),
}

/// A token and where it is in the query (byte offsets).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Range<usize>,
}

/// Characters that end an unquoted word.
fn ends_word(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '(' | ')' | '[' | ']' | ',' | '=' | '!' | '<' | '>' | '"' | '|'
        )
}

/// Tokenises `query`. A `-` is NOT where a term may start, and part of the value after a comparison
/// or inside a list (`x>-5`, `x IN [-1]`).
pub fn tokenise(query: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut chars = query.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        let value_position = matches!(
            tokens.last().map(|t| &t.kind),
            Some(TokenKind::Compare(_) | TokenKind::LBracket | TokenKind::Comma)
        );
        let single = match c {
            '(' => Some(TokenKind::LParen),
            ')' => Some(TokenKind::RParen),
            '[' => Some(TokenKind::LBracket),
            ']' => Some(TokenKind::RBracket),
            ',' => Some(TokenKind::Comma),
            '|' => Some(TokenKind::Pipe),
            '=' => Some(TokenKind::Compare(CompareOp::Eq)),
            '-' if !value_position => Some(TokenKind::Minus),
            _ => None,
        };
        if let Some(kind) = single {
            tokens.push(Token {
                kind,
                span: start..start + 1,
            });
            continue;
        }
        let kind = match c {
            '!' | '<' | '>' => {
                let with_eq = chars.next_if(|&(_, n)| n == '=').is_some();
                let op = match (c, with_eq) {
                    ('!', true) => CompareOp::Ne,
                    ('<', false) => CompareOp::Lt,
                    ('<', true) => CompareOp::Le,
                    ('>', false) => CompareOp::Gt,
                    ('>', true) => CompareOp::Ge,
                    _ => {
                        return Err(ParseError::new(
                            query,
                            start,
                            "expected '=' after '!' (the operator is '!=')",
                        ))
                    }
                };
                TokenKind::Compare(op)
            }
            '"' => {
                let pieces = quoted(query, start, &mut chars)?;
                TokenKind::Text(Literal::new(pieces))
            }
            _ => {
                let mut pieces = vec![piece(c, query, start, &mut chars)?];
                while let Some(&(at, n)) = chars.peek() {
                    if ends_word(n) {
                        break;
                    }
                    chars.next();
                    pieces.push(piece(n, query, at, &mut chars)?);
                }
                keyword(&pieces).unwrap_or_else(|| TokenKind::Text(Literal::new(pieces)))
            }
        };
        let end = chars.peek().map_or(query.len(), |&(at, _)| at);
        tokens.push(Token {
            kind,
            span: start..end,
        });
    }
    Ok(tokens)
}

type Chars<'q> = std::iter::Peekable<std::str::CharIndices<'q>>;

/// One character of an unquoted word: `*`, `?`, or a literal (`\x` is a literal x).
fn piece(c: char, query: &str, at: usize, chars: &mut Chars<'_>) -> Result<Piece, ParseError> {
    Ok(match c {
        '*' => Piece::AnyRun,
        '?' => Piece::AnyOne,
        '\\' => match chars.next() {
            Some((_, escaped)) => Piece::Char(escaped),
            None => {
                return Err(ParseError::new(
                    query,
                    at,
                    "expected a character after '\\'",
                ))
            }
        },
        c => Piece::Char(c),
    })
}

/// The rest of a double-quoted string whose opening quote is at `start`.
fn quoted(query: &str, start: usize, chars: &mut Chars<'_>) -> Result<Vec<Piece>, ParseError> {
    let mut pieces = Vec::new();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok(pieces),
            c => pieces.push(piece(c, query, at, chars)?),
        }
    }
    Err(ParseError::new(
        query,
        start,
        "expected a closing '\"' for the string that starts here",
    ))
}

/// `AND`, `OR`, `NOT`, `IN` in any case; quoting makes them plain words.
fn keyword(pieces: &[Piece]) -> Option<TokenKind> {
    let word: String = pieces
        .iter()
        .map(|p| match p {
            Piece::Char(c) => c.to_ascii_uppercase(),
            _ => '*',
        })
        .collect();
    match word.as_str() {
        "AND" => Some(TokenKind::And),
        "OR" => Some(TokenKind::Or),
        "NOT" => Some(TokenKind::Not),
        "IN" => Some(TokenKind::In),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(query: &str) -> Vec<TokenKind> {
        tokenise(query)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn text(s: &str) -> TokenKind {
        TokenKind::Text(Literal::new(s.chars().map(Piece::Char).collect()))
    }

    #[test]
    fn minus_is_not_before_a_term_and_a_sign_in_a_value() {
        assert_eq!(
            kinds(r#"-"of=" x>-5"#),
            vec![
                TokenKind::Minus,
                text("of="),
                text("x"),
                TokenKind::Compare(CompareOp::Gt),
                text("-5"),
            ]
        );
    }

    #[test]
    fn operators_keywords_and_spans() {
        let tokens = tokenise(r#"a!=1 or b IN ["x", "y\"z"]"#).unwrap();
        let found: Vec<_> = tokens.iter().map(|t| t.kind.clone()).collect();
        assert_eq!(
            found,
            vec![
                text("a"),
                TokenKind::Compare(CompareOp::Ne),
                text("1"),
                TokenKind::Or,
                text("b"),
                TokenKind::In,
                TokenKind::LBracket,
                text("x"),
                TokenKind::Comma,
                text("y\"z"),
                TokenKind::RBracket,
            ]
        );
        assert_eq!(tokens[1].span, 1..3);
        assert_eq!(tokens[9].span, 19..25);
        assert_eq!(kinds(r#""OR""#), vec![text("OR")]);
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = tokenise(r#"user="root"#).unwrap_err();
        assert_eq!(e.offset, 5);
        assert!(e.expected.contains("closing '\"'"), "{e}");
        let e = tokenise("a ! b").unwrap_err();
        assert_eq!(e.offset, 2);
    }
}
