//! A case's short id and its shortened text.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::window::CaseBy;

/// Hex digits of a case id: 48 bits, so that ten thousand cases collide
/// with a chance of about 2 in 10 million.
const ID_DIGITS: usize = 12;

/// A case's id: the first 12 hex digits of the SHA-256 of what identifies
/// it (the identity's kind, the mode and the text), the same for the same
/// case in every store and every version.
pub fn case_id(case_by: &CaseBy, mode: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    match case_by {
        CaseBy::Input => hasher.update(b"input\0"),
        CaseBy::Config(key) => {
            hasher.update(b"config.");
            hasher.update(key.as_bytes());
            hasher.update(b"\0");
        }
    }
    hasher.update(mode.as_bytes());
    hasher.update(b"\0");
    hasher.update(text.as_bytes());
    let digest = hasher.finalize();
    digest[..ID_DIGITS / 2]
        .iter()
        .fold(String::with_capacity(ID_DIGITS), |mut id, byte| {
            // Writing to a String cannot fail.
            let _ = write!(id, "{byte:02x}");
            id
        })
}

/// `text` on one line and at most `width` characters: runs of whitespace
/// (newlines too) become one space, and a longer text ends in `…`.
pub fn short_text(text: &str, width: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= width {
        return line;
    }
    let mut short: String = line.chars().take(width.saturating_sub(1)).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_tell_modes_and_identities_apart() {
        let id = case_id(&CaseBy::Input, "grounded_qa", "What is RAG?");
        // sha256(b"input\0grounded_qa\0What is RAG?")[:12] in Python:
        // fixed, so that a change of the rule is noticed.
        assert_eq!(id, "120624782faf");
        assert_ne!(id, case_id(&CaseBy::Input, "direct", "What is RAG?"));
        assert_ne!(
            id,
            case_id(
                &CaseBy::Config("case".to_owned()),
                "grounded_qa",
                "What is RAG?"
            )
        );
    }

    #[test]
    fn short_texts_are_one_line_and_end_in_an_ellipsis() {
        assert_eq!(short_text("  a\n\tb  c ", 20), "a b c");
        assert_eq!(short_text("abcdefghij", 5), "abcd…");
        assert_eq!(short_text("abcd", 5), "abcd");
        // A text of exactly the width fits whole.
        assert_eq!(short_text("abcde", 5), "abcde");
        assert_eq!(short_text("ab cdef", 5), "ab c…");
        assert_eq!(short_text("", 5), "");
    }
}
