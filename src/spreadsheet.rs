//! CSV as spreadsheets read it: the panel's exports and imports.
//!
//! A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
//! is a formula to Excel, LibreOffice and Google Sheets, which would run it
//! when the file is opened. Exports write such a cell with a `'` first (the
//! spreadsheets' own way of saying "text"), and so a cell that starts with
//! `'` too; imports take that `'` off again, so that an exported file
//! imported again changes nothing.
//!
//! An item's tags share one cell, separated by `|`; a `|` or `\` within a
//! name is written with a `\` before it.

use std::borrow::Cow;

/// The first characters that make a cell a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// What a spreadsheet opening the file reads as text: `value`, or `value`
/// with `'` first when it would otherwise be a formula, or when it already
/// looks like such a cell (so that [`uncell`] gives it back whole).
pub fn cell(value: &str) -> Cow<'_, str> {
    if value.starts_with(FORMULA_STARTS) || uncell(value).len() < value.len() {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// The value a cell written by [`cell`] holds: one leading `'` taken off
/// when what follows it is a formula's start or another `'`. Other cells
/// stay as they are.
pub fn uncell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with('\'') || rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// Tag names in one cell: `a|b`, with `|` and `\` escaped by `\`.
pub fn join_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut joined = String::new();
    for (n, name) in names.into_iter().enumerate() {
        if n > 0 {
            joined.push('|');
        }
        for c in name.chars() {
            if c == '|' || c == '\\' {
                joined.push('\\');
            }
            joined.push(c);
        }
    }
    joined
}

/// The names of a cell written by [`join_names`] (or by hand, `a | b`):
/// trimmed, the empty ones left out.
pub fn split_names(cell: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut chars = cell.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.push(chars.next().unwrap_or('\\')),
            '|' => names.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    names.push(current);
    names.into_iter().map(|name| name.trim().to_owned()).filter(|name| !name.is_empty()).collect()
}

/// Rows of cells as CSV lines (comma-separated, quoted where needed, CRLF
/// endings as RFC 4180 says), each cell written by [`cell`].
pub fn lines<R, C>(rows: impl IntoIterator<Item = R>) -> Vec<u8>
where
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    for row in rows {
        let cells: Vec<String> = row.into_iter().map(|c| cell(c.as_ref()).into_owned()).collect();
        // Writing to memory fails only when out of it.
        writer.write_record(&cells).expect("CSV written to memory");
    }
    writer.into_inner().unwrap_or_default()
}

/// What opens a UTF-8 CSV file, so that Excel reads it as UTF-8.
pub const BOM: &str = "\u{feff}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_written_as_text_and_read_back_as_they_were() {
        for value in ["=1+1", "+33 1 23", "-5% off", "@SUM(A1)", "\tx", "\rx", "''", "'=x", "'''"] {
            let written = cell(value);
            assert!(written.starts_with('\''), "{value:?} -> {written:?}");
            assert_eq!(uncell(&written), value);
        }
        for value in ["Lamp", "", "12.50", "a=b", "it's", "'", "'a'"] {
            assert_eq!(cell(value), value);
            assert_eq!(uncell(value), value, "a cell never escaped stays");
        }
    }

    #[test]
    fn tag_names_share_a_cell_and_split_back() {
        let names = ["red", "a|b", "back\\slash", "plain"];
        let joined = join_names(names);
        assert_eq!(joined, "red|a\\|b|back\\\\slash|plain");
        assert_eq!(split_names(&joined), names);
        assert_eq!(split_names(" red | blue ||"), ["red", "blue"]);
        assert!(split_names("").is_empty());
    }

    #[test]
    fn lines_quote_what_needs_it_and_escape_formulas() {
        let out = lines([vec!["1", "a,b", "say \"hi\"", "=cmd"], vec!["2", "two\nlines", "", "-1"]]);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "1,\"a,b\",\"say \"\"hi\"\"\",'=cmd\r\n2,\"two\nlines\",,'-1\r\n");
    }
}
