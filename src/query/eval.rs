//! Evaluating a parsed query against a normalised [`Event`], keeping LogPoint's types: numbers
//! compare as numbers, text as case-insensitive wildcard patterns, `label` as a set.

use crate::event::{Event, Value};

use super::lexer::CompareOp;
use super::parser::{Expr, Node};
use super::pattern::{Literal, Number};

/// One value of a field of an event, as the query sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'e> {
    Int(i64),
    Float(f64),
    /// Strings and IP addresses.
    Text(&'e str),
}

/// Every value the event has under `name`: the fixed fields (`log_ts`, `norm_id`, `device_name`,
/// `source_name`, `severity`, `facility`, `msg`, `parse_error`), each label for `label`, and the
/// format's fields.
pub fn field_values<'e>(
    event: &'e Event<'_>,
    name: &'e str,
) -> impl Iterator<Item = FieldValue<'e>> + 'e {
    let fixed = match name {
        "log_ts" => Some(FieldValue::Int(event.time.unix)),
        "norm_id" => Some(FieldValue::Text(event.norm_id)),
        "device_name" => Some(FieldValue::Text(event.device_name)),
        "source_name" => Some(FieldValue::Text(event.source_name)),
        "severity" => Some(FieldValue::Int(i64::from(event.severity))),
        "facility" => Some(FieldValue::Int(i64::from(event.facility))),
        "msg" => Some(FieldValue::Text(&event.msg)).filter(|_| !event.msg.is_empty()),
        "parse_error" => event.parse_error.as_deref().map(FieldValue::Text),
        _ => None,
    };
    let labels: &[_] = if name == "label" { &event.labels } else { &[] };
    fixed
        .into_iter()
        .chain(labels.iter().map(|l| FieldValue::Text(l)))
        .chain(
            event
                .fields
                .iter()
                .filter(move |f| f.name == name)
                .map(|f| match &f.value {
                    Value::Int(n) => FieldValue::Int(*n),
                    Value::Float(x) => FieldValue::Float(*x),
                    Value::Ip(s) | Value::Str(s) => FieldValue::Text(s),
                }),
        )
}

/// Whether `event` matches the query tree `node`.
pub fn matches(node: &Node, event: &Event<'_>) -> bool {
    match &node.expr {
        Expr::And(children) => children.iter().all(|c| matches(c, event)),
        Expr::Or(children) => children.iter().any(|c| matches(c, event)),
        Expr::Not(inner) => !matches(inner, event),
        Expr::Exists { field } => field_values(event, field).next().is_some(),
        Expr::Compare {
            field,
            op: CompareOp::Ne,
            value,
        } => !field_values(event, field).any(|v| equals(v, value)),
        Expr::Compare {
            field,
            op: CompareOp::Eq,
            value,
        } => field_values(event, field).any(|v| equals(v, value)),
        Expr::Compare { field, op, value } => {
            field_values(event, field).any(|v| orders(v, *op, value))
        }
        Expr::In { field, values } => {
            field_values(event, field).any(|v| values.iter().any(|value| equals(v, value)))
        }
        Expr::Keyword(literal) => literal.found_in(&event.msg),
    }
}

/// `field=value` for one value: numerically when both are numbers, else as a pattern over the text.
fn equals(value: FieldValue<'_>, literal: &Literal) -> bool {
    match (value, literal.number) {
        (FieldValue::Int(n), Some(Number::Int(want))) => n == want,
        (FieldValue::Int(n), Some(want)) => n as f64 == want.as_f64(),
        (FieldValue::Float(x), Some(want)) => x == want.as_f64(),
        (FieldValue::Int(n), None) => literal.matches_text(itoa::Buffer::new().format(n)),
        (FieldValue::Float(x), None) => literal.matches_text(&crate::encode::json::float_text(x)),
        (FieldValue::Text(text), _) => literal.matches_text(text),
    }
}

/// `<`, `<=`, `>`, `>=`: only numeric fields take part (a text field never matches).
fn orders(value: FieldValue<'_>, op: CompareOp, literal: &Literal) -> bool {
    let Some(want) = literal.number else {
        return false;
    };
    let ordering = match (value, want) {
        (FieldValue::Int(n), Number::Int(w)) => n.cmp(&w),
        (FieldValue::Int(n), Number::Float(w)) => match (n as f64).partial_cmp(&w) {
            Some(o) => o,
            None => return false,
        },
        (FieldValue::Float(x), w) => match x.partial_cmp(&w.as_f64()) {
            Some(o) => o,
            None => return false,
        },
        (FieldValue::Text(_), _) => return false,
    };
    match op {
        CompareOp::Lt => ordering.is_lt(),
        CompareOp::Le => ordering.is_le(),
        CompareOp::Gt => ordering.is_gt(),
        CompareOp::Ge => ordering.is_ge(),
        CompareOp::Eq | CompareOp::Ne => false,
    }
}
