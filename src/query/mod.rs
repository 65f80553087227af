//! The part of LogPoint's search query language that checks one event: `field=value` with `*`/`?`
//! wildcards, `!=`, `<`/`>`/`<=`/`>=`, `field IN [..]`, `field=*`, keywords, `-`/`NOT`, `OR`, AND by
//! juxtaposition, parentheses. `docs/testing-pipelines.md` describes the language and its precedence.

mod eval;
mod lexer;
mod parser;
mod pattern;

use std::fmt;

use crate::event::Event;
pub use eval::{field_values, FieldValue};

/// A parsed query, ready to test events.
#[derive(Debug, Clone)]
pub struct Query {
    text: String,
    root: parser::Node,
}

impl Query {
    /// Parses `text`; the error says where and what was expected there.
    pub fn parse(text: &str) -> Result<Query, ParseError> {
        let tokens = lexer::tokenise(text)?;
        let root = parser::parse(text, &tokens)?;
        Ok(Query {
            text: text.to_string(),
            root,
        })
    }

    /// Whether `event` matches the query.
    pub fn matches(&self, event: &Event<'_>) -> bool {
        eval::matches(&self.root, event)
    }

    /// The top-level clauses (the AND-ed terms) that `event` does not match, as written in the query.
    pub fn failing_clauses(&self, event: &Event<'_>) -> Vec<&str> {
        let clauses = match &self.root.expr {
            parser::Expr::And(children) => children.as_slice(),
            _ => std::slice::from_ref(&self.root),
        };
        clauses
            .iter()
            .filter(|c| !eval::matches(c, event))
            .map(|c| &self.text[c.span.clone()])
            .collect()
    }

    /// The query as written.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Why a query does not parse: where (byte offset and 1-based character column) and what was
/// expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub offset: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub expected: String,
    query: String,
}

impl ParseError {
    fn new(query: &str, offset: usize, expected: &str) -> Self {
        let offset = offset.min(query.len());
        let line_start = query[..offset].rfind('\n').map_or(0, |i| i + 1);
        ParseError {
            offset,
            column: query[line_start..offset].chars().count() + 1,
            expected: expected.to_string(),
            query: query.to_string(),
        }
    }
}

impl fmt::Display for ParseError {
    /// `column N: expected ...`, then the query line with a caret under the position.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line_start = self.query[..self.offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.query[self.offset..]
            .find('\n')
            .map_or(self.query.len(), |i| self.offset + i);
        let line = self.query[line_start..line_end].replace('\t', " ");
        let line_number = self.query[..line_start].matches('\n').count() + 1;
        if line_number > 1 {
            write!(f, "line {line_number}, ")?;
        }
        write!(
            f,
            "column {}: {}\n    {line}\n    {:>width$}",
            self.column,
            self.expected,
            "^",
            width = self.column
        )
    }
}

#[cfg(test)]
mod tests;
