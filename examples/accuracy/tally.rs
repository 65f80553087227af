//! Agreement counts per field, with the disagreements grouped into classes and a few examples each.

use std::collections::BTreeMap;

/// Agreement of one field over a suite.
#[derive(Debug, Default)]
pub struct FieldTally {
    pub checked: usize,
    pub agreed: usize,
    /// class → (count, examples)
    pub classes: BTreeMap<String, (usize, Vec<String>)>,
}

/// Agreement per field over one suite, in first-checked order.
#[derive(Debug, Default)]
pub struct Tally {
    pub records: usize,
    fields: Vec<(String, FieldTally)>,
}

impl Tally {
    fn field(&mut self, name: &str) -> &mut FieldTally {
        let at = match self.fields.iter().position(|(n, _)| n == name) {
            Some(at) => at,
            None => {
                self.fields.push((name.to_string(), FieldTally::default()));
                self.fields.len() - 1
            }
        };
        &mut self.fields[at].1
    }

    /// Records one comparison: `expected` from the ground truth, `got` from our event.
    pub fn check(&mut self, field: &str, expected: &str, got: Option<&str>, input: &str) {
        let class = match got {
            Some(g) if g == expected => None,
            Some(g) if g.trim() == expected.trim() => {
                Some("differs in surrounding spaces".to_string())
            }
            Some(g)
                if expected
                    .strip_prefix('\u{feff}')
                    .is_some_and(|e| e == g || e.trim_start() == g) =>
            {
                Some("we drop the byte-order mark".to_string())
            }
            Some(g) if g.contains('\u{fffd}') && expected.contains("__bytes_base64__") => {
                Some("invalid UTF-8: we send U+FFFD, the suite the raw bytes".to_string())
            }
            Some(_) => Some("different value".to_string()),
            None => Some("missing".to_string()),
        };
        self.check_class(field, class, || {
            format!("expected {expected:?}, got {got:?} in {input:?}")
        });
    }

    /// Records a comparison whose outcome the caller classified (`None` = agreed).
    pub fn check_class(
        &mut self,
        field: &str,
        class: Option<String>,
        example: impl FnOnce() -> String,
    ) {
        let tally = self.field(field);
        tally.checked += 1;
        match class {
            None => tally.agreed += 1,
            Some(class) => {
                let entry = tally.classes.entry(class).or_default();
                entry.0 += 1;
                if entry.1.len() < 8 {
                    entry.1.push(example());
                }
            }
        }
    }

    /// The lowest agreement rate of any field (1.0 when nothing was checked).
    pub fn worst_rate(&self) -> f64 {
        self.fields
            .iter()
            .map(|(_, t)| rate(t.agreed, t.checked))
            .fold(1.0, f64::min)
    }

    /// Prints the suite's table and its disagreement classes.
    pub fn print(&self, title: &str, show: usize) {
        println!("### {title}\n");
        println!("{} records.\n", self.records);
        println!("| field | checked | agree | rate |");
        println!("|---|---:|---:|---:|");
        for (name, t) in &self.fields {
            println!(
                "| {name} | {} | {} | {:.2}% |",
                t.checked,
                t.agreed,
                rate(t.agreed, t.checked) * 100.0
            );
        }
        println!();
        for (name, t) in &self.fields {
            for (class, (count, examples)) in &t.classes {
                println!("- `{name}`: {class}: {count}");
                for e in examples.iter().take(show) {
                    println!("  - {}", truncate(e, 300));
                }
            }
        }
        println!();
    }
}

pub fn rate(ok: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        ok as f64 / total as f64
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}
