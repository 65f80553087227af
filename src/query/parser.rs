//! The grammar of the query subset, by recursive descent, with LogPoint's precedence: NOT binds
//! tightest, then OR, then AND (juxtaposition or `AND`), so `a b OR c` is `a AND (b OR c)`.
//!
//! ```text
//! query   = and EOF
//! and     = or { ["AND"] or }
//! or      = unary { "OR" unary }
//! unary   = ("-" | "NOT") unary | primary
//! primary = "(" and ")" | text OP value | text "IN" "[" value { "," value } [","] "]" | text
//! ```

use std::ops::Range;

use super::lexer::{CompareOp, Token, TokenKind};
use super::pattern::Literal;
use super::ParseError;

/// A node of the query and the part of the query text it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub expr: Expr,
    pub span: Range<usize>,
}

/// What a node tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every child matches (two or more children).
    And(Vec<Node>),
    /// Some child matches (two or more children).
    Or(Vec<Node>),
    Not(Box<Node>),
    /// `field OP value`; `field=*` is [`Expr::Exists`].
    Compare {
        field: String,
        op: CompareOp,
        value: Literal,
    },
    /// `field IN [values]`.
    In {
        field: String,
        values: Vec<Literal>,
    },
    /// `field=*`: the event has the field.
    Exists {
        field: String,
    },
    /// A word or phrase searched for in the message.
    Keyword(Literal),
}

/// Parses the tokens of `query` into its tree.
pub fn parse(query: &str, tokens: &[Token]) -> Result<Node, ParseError> {
    let mut parser = Parser {
        query,
        tokens,
        pos: 0,
    };
    if tokens.is_empty() {
        return Err(ParseError::new(query, 0, "expected a search term"));
    }
    let node = parser.and()?;
    match parser.peek() {
        None => Ok(node),
        Some(TokenKind::RParen) => {
            Err(parser.error("expected a term or the end of the query; this ')' closes nothing"))
        }
        Some(_) => Err(parser.error("expected a term or the end of the query")),
    }
}

struct Parser<'q, 't> {
    query: &'q str,
    tokens: &'t [Token],
    pos: usize,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&TokenKind> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    /// An error at the current token (or the end of the query).
    fn error(&self, expected: &str) -> ParseError {
        let offset = self
            .tokens
            .get(self.pos)
            .map_or(self.query.len(), |t| t.span.start);
        let mut error = ParseError::new(self.query, offset, expected);
        if let Some(Token {
            kind: TokenKind::Pipe,
            ..
        }) = self.tokens.get(self.pos)
        {
            error.expected = format!(
                "{expected}; pipeline commands ('| process', '| chart', ...) are not supported, only the search before them"
            );
        }
        error
    }

    fn start(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map_or(self.query.len(), |t| t.span.start)
    }

    fn end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.span.end)
    }

    fn starts_term(&self) -> bool {
        matches!(
            self.peek(),
            Some(TokenKind::LParen | TokenKind::Minus | TokenKind::Not | TokenKind::Text(_))
        )
    }

    fn and(&mut self) -> Result<Node, ParseError> {
        let start = self.start();
        let mut children = vec![self.or()?];
        loop {
            if self.peek() == Some(&TokenKind::And) {
                self.pos += 1;
                if !self.starts_term() {
                    return Err(self.error("expected a term after AND"));
                }
            } else if !self.starts_term() {
                break;
            }
            children.push(self.or()?);
        }
        Ok(self.combine(start, children, Expr::And))
    }

    fn or(&mut self) -> Result<Node, ParseError> {
        let start = self.start();
        let mut children = vec![self.unary()?];
        while self.peek() == Some(&TokenKind::Or) {
            self.pos += 1;
            if !self.starts_term() {
                return Err(self.error("expected a term after OR"));
            }
            children.push(self.unary()?);
        }
        Ok(self.combine(start, children, Expr::Or))
    }

    fn combine(&self, start: usize, mut children: Vec<Node>, make: fn(Vec<Node>) -> Expr) -> Node {
        if children.len() == 1 {
            children.remove(0)
        } else {
            Node {
                expr: make(children),
                span: start..self.end(),
            }
        }
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        let start = self.start();
        if matches!(self.peek(), Some(TokenKind::Minus | TokenKind::Not)) {
            self.pos += 1;
            if !self.starts_term() {
                return Err(self.error("expected a term to negate"));
            }
            let inner = self.unary()?;
            return Ok(Node {
                expr: Expr::Not(Box::new(inner)),
                span: start..self.end(),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, ParseError> {
        let start = self.start();
        let Some(token) = self.tokens.get(self.pos) else {
            return Err(self.error("expected a search term"));
        };
        self.pos += 1;
        let expr = match &token.kind {
            TokenKind::LParen => {
                if self.peek() == Some(&TokenKind::RParen) {
                    return Err(self.error("expected a term inside the parentheses"));
                }
                let inner = self.and()?;
                if self.peek() != Some(&TokenKind::RParen) {
                    return Err(self.error("expected ')'"));
                }
                self.pos += 1;
                // Keep the inner tree; the span now includes the parentheses.
                return Ok(Node {
                    expr: inner.expr,
                    span: start..self.end(),
                });
            }
            TokenKind::Text(literal) => match self.peek() {
                Some(TokenKind::Compare(op)) => {
                    let op = *op;
                    let field = self.field_name(literal, token)?;
                    self.pos += 1;
                    self.comparison(start, field, op)?
                }
                Some(TokenKind::In) => {
                    let field = self.field_name(literal, token)?;
                    self.pos += 1;
                    Expr::In {
                        field,
                        values: self.list()?,
                    }
                }
                _ => Expr::Keyword(literal.clone()),
            },
            _ => {
                self.pos -= 1;
                return Err(
                    self.error("expected a search term: field=value, a word, a \"phrase\" or '('")
                );
            }
        };
        Ok(Node {
            expr,
            span: start..self.end(),
        })
    }

    fn field_name(&self, literal: &Literal, token: &Token) -> Result<String, ParseError> {
        if literal.has_wildcard() || literal.pieces.is_empty() {
            return Err(ParseError::new(
                self.query,
                token.span.start,
                "expected a field name (without wildcards) before the operator",
            ));
        }
        Ok(literal.to_plain_text())
    }

    fn comparison(
        &mut self,
        start: usize,
        field: String,
        op: CompareOp,
    ) -> Result<Expr, ParseError> {
        let value = self.value(op.symbol())?;
        Ok(match op {
            CompareOp::Eq if value.is_any() => Expr::Exists { field },
            CompareOp::Ne if value.is_any() => Expr::Not(Box::new(Node {
                expr: Expr::Exists { field },
                span: start..self.end(),
            })),
            CompareOp::Eq | CompareOp::Ne => Expr::Compare { field, op, value },
            _ if value.number.is_none() => {
                self.pos -= 1;
                return Err(self.error(&format!("expected a number after '{}'", op.symbol())));
            }
            _ => Expr::Compare { field, op, value },
        })
    }

    fn value(&mut self, after: &str) -> Result<Literal, ParseError> {
        match self.peek() {
            Some(TokenKind::Text(literal)) => {
                let literal = literal.clone();
                self.pos += 1;
                Ok(literal)
            }
            _ => Err(self.error(&format!("expected a value after '{after}'"))),
        }
    }

    fn list(&mut self) -> Result<Vec<Literal>, ParseError> {
        if self.peek() != Some(&TokenKind::LBracket) {
            return Err(self.error("expected '[' after IN"));
        }
        self.pos += 1;
        let mut values = Vec::new();
        loop {
            if self.peek() == Some(&TokenKind::RBracket) && !values.is_empty() {
                self.pos += 1;
                return Ok(values);
            }
            let after = if values.is_empty() { "[" } else { "," };
            values.push(self.value(after)?);
            match self.peek() {
                Some(TokenKind::Comma) => self.pos += 1,
                Some(TokenKind::RBracket) => {}
                _ => return Err(self.error("expected ',' or ']' in the IN list")),
            }
        }
    }
}
