//! Rules for text that users type: NFC-normalised, trimmed, bounded in length
//! and free of control characters (in names, invisible and direction-changing
//! ones too). Both the API and the web forms use them.

use unicode_normalization::UnicodeNormalization;

use crate::error::FieldErrors;

/// Length bounds, in characters, of the texts the data model stores.
pub const STORE_NAME_MAX: usize = 80;
pub const ITEM_NAME_MAX: usize = 80;
pub const DESCRIPTION_MAX: usize = 2000;
pub const TAG_NAME_MAX: usize = 40;
pub const TOKEN_NAME_MAX: usize = 80;

/// Normalises `raw` and checks it as a required single-line text of at most
/// `max` characters. Records a message under `field` and returns `None` when
/// the text is not acceptable.
pub fn required_line(field: &str, raw: &str, max: usize, errors: &mut FieldErrors) -> Option<String> {
    let text = normalize(raw);
    let problem = if text.is_empty() {
        Some("must not be empty".to_owned())
    } else if text.chars().count() > max {
        Some(format!("must be at most {max} characters"))
    } else if text.chars().any(|c| c.is_control() || is_invisible(c)) {
        Some("must not contain control or invisible characters".to_owned())
    } else {
        None
    };
    match problem {
        Some(message) => {
            errors.insert(field.to_owned(), message);
            None
        }
        None => Some(text),
    }
}

/// Like [`required_line`] for optional multi-line text: line breaks and tabs
/// are kept (`\r\n` becomes `\n`), an empty text becomes `None`.
pub fn optional_paragraphs(field: &str, raw: &str, max: usize, errors: &mut FieldErrors) -> Option<String> {
    let text = normalize(raw).replace("\r\n", "\n").replace('\r', "\n");
    let problem = if text.chars().count() > max {
        Some(format!("must be at most {max} characters"))
    } else if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        Some("must not contain control characters".to_owned())
    } else {
        None
    };
    if let Some(message) = problem {
        errors.insert(field.to_owned(), message);
        return None;
    }
    (!text.is_empty()).then_some(text)
}

/// Characters that show nothing, or reorder what follows, and so let one
/// name pass for another: Unicode's `Default_Ignorable_Code_Point` property
/// (zero-width spaces and joiners, soft hyphen, fillers, variation
/// selectors, tag characters, ...), which holds every `Bidi_Control`
/// character too (marks, embeddings, overrides, isolates), and the blank
/// Braille pattern, which shows as a space but is not one.
pub fn is_invisible(c: char) -> bool {
    is_default_ignorable(c) || c == '\u{2800}'
}

/// `Default_Ignorable_Code_Point`, from Unicode's DerivedCoreProperties.txt
/// (unchanged since Unicode 6.0 but for U+180F, added in 14.0).
fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// NFC form with surrounding white space removed.
pub fn normalize(raw: &str) -> String {
    raw.nfc().collect::<String>().trim().to_owned()
}

/// Escapes the `LIKE` wildcards in a user's search text, so `50%` finds "50%"
/// rather than everything starting with "50".
pub fn like_pattern_containing(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Checks an email address just enough to catch typos; the mail server is
/// the only real judge. Returns it normalised.
pub fn email(field: &str, raw: &str, errors: &mut FieldErrors) -> Option<String> {
    let email = required_line(field, raw, 254, errors)?;
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Some(email)
    } else {
        errors.insert(field.to_owned(), "must be an email address".to_owned());
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, max: usize) -> Result<String, String> {
        let mut errors = FieldErrors::new();
        required_line("name", raw, max, &mut errors).ok_or_else(|| errors["name"].clone())
    }

    #[test]
    fn trims_and_normalises_to_nfc() {
        assert_eq!(check("  Cafe\u{301}  ", 10), Ok("Caf\u{e9}".to_owned()));
    }

    #[test]
    fn refuses_empty_long_and_control_characters() {
        assert_eq!(check("   ", 10), Err("must not be empty".to_owned()));
        assert_eq!(check(&"x".repeat(11), 10), Err("must be at most 10 characters".to_owned()));
        for bad in [
            "a\u{0}b",
            "a\nb",
            "a\u{200B}b",
            "a\u{200D}b",
            "a\u{2060}b",
            "a\u{FEFF}b",
            "ab\u{202E}c",
            "a\u{2066}b",
            // Marks, hyphens, fillers, the blank pattern and tag characters.
            "a\u{200E}b",
            "a\u{200F}b",
            "a\u{00AD}b",
            "a\u{061C}b",
            "a\u{180E}b",
            "a\u{2062}b",
            "a\u{3164}b",
            "a\u{2800}b",
            "a\u{E0041}b",
            "a\u{FE0F}b",
            "a\u{FFA0}b",
        ] {
            assert_eq!(
                check(bad, 10),
                Err("must not contain control or invisible characters".to_owned()),
                "{bad:?}"
            );
        }
        // Letters of right-to-left scripts are not direction controls.
        assert_eq!(check("\u{05D0}\u{05D1}", 10), Ok("\u{05D0}\u{05D1}".to_owned()));
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(check(&"é".repeat(10), 10), Ok("é".repeat(10)));
    }

    #[test]
    fn paragraphs_keep_line_breaks_but_not_nul() {
        let mut errors = FieldErrors::new();
        assert_eq!(
            optional_paragraphs("d", "one\r\ntwo\rthree", 100, &mut errors),
            Some("one\ntwo\nthree".to_owned())
        );
        assert_eq!(optional_paragraphs("d", "  ", 100, &mut errors), None);
        assert!(errors.is_empty());
        assert_eq!(optional_paragraphs("d", "a\u{0}", 100, &mut errors), None);
        assert_eq!(errors["d"], "must not contain control characters");
    }

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(like_pattern_containing(r"50%_\"), r"%50\%\_\\%");
    }

    #[test]
    fn email_needs_a_local_part_and_a_dotted_domain() {
        let mut errors = FieldErrors::new();
        assert_eq!(email("e", " Ann@Example.org ", &mut errors), Some("Ann@Example.org".into()));
        for bad in ["ann", "@example.org", "ann@", "ann@example", "a b@example.org", "a@b@c.org"] {
            assert_eq!(email("e", bad, &mut errors), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn accepted_names_are_normalised_clean_and_stable(raw in "\\PC{0,100}|[\\u{0}-\\u{2070}]{0,20}") {
            let mut errors = FieldErrors::new();
            if let Some(name) = required_line("name", &raw, 80, &mut errors) {
                proptest::prop_assert!(!name.is_empty() && name.chars().count() <= 80);
                proptest::prop_assert!(!name.chars().any(|c| c.is_control() || is_invisible(c)));
                proptest::prop_assert_eq!(normalize(&name), name.clone());
            } else {
                proptest::prop_assert_eq!(errors.len(), 1);
            }
        }
    }
}
