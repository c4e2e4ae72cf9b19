//! Plain aligned tables and `field: value` listings for people (`--json` is for scripts).

use serde_json::Value;

/// Columns padded to their widest cell (in characters), two spaces apart, no trailing spaces.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `label  value` lines, labels padded to the longest.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0);
    pairs.iter().map(|(l, v)| format!("{l:<width$}  {v}").trim_end().to_owned()).collect::<Vec<_>>().join("\n")
}

/// A JSON value as a cell: strings bare, null as `-`.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `v[path…]` as a cell.
pub fn at(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cell(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let t = render(&["ID", "NAME"], &[vec!["1".into(), "nightly".into()], vec!["22".into(), "ø".into()]]);
        assert_eq!(t, "ID  NAME\n1   nightly\n22  ø");
    }

    #[test]
    fn fields_line_up() {
        assert_eq!(fields(&[("id", "1".into()), ("name", "x".into())]), "id    1\nname  x");
    }
}
