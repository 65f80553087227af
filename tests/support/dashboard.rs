//! The Grafana dashboard shipped in packaging/grafana/, as the tests check it against the exported metrics.

/// Every `logferry_*` metric name the expressions of packaging/grafana/logferry.json use.
pub fn metric_names() -> Vec<String> {
    let text = std::fs::read_to_string("packaging/grafana/logferry.json").unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut names = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(at) = rest.find("logferry_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    assert!(names.len() >= 10, "too few metrics found: {names:?}");
    names
}
