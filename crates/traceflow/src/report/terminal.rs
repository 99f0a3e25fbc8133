//! Store text made safe for a terminal: the one sanitizer every terminal
//! output goes through (the table report, `list`, `show`, the gate's line
//! and error messages on stderr).
//!
//! A store's text is untrusted: an escape sequence in a model name could
//! clear the screen or retitle the window (`\x1b[2J`, `\x1b]0;…\x07`), a
//! carriage return could overwrite the verdict, and a bidirectional override
//! (U+202E) could make `gpt-4o` read as something else. Each such character
//! becomes U+FFFD, visibly, rather than vanishing.

use std::borrow::Cow;
use std::io::{self, Write};

/// Whether a character must not reach a terminal or a rendered report:
/// the C0 and C1 controls and DEL (`char::is_control`), and the Unicode
/// bidirectional formatting characters (embeddings, overrides, isolates and
/// marks: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which
/// reorder the text around them.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Text for one line of a terminal (a table cell, a label): every unsafe
/// character, line breaks and tabs included, becomes U+FFFD.
pub fn printable(text: &str) -> Cow<'_, str> {
    replace_unsafe(text, |_| false)
}

/// Text of several lines for a terminal: as [`printable`], but line feeds
/// are kept.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    replace_unsafe(text, |c| c == '\n')
}

fn replace_unsafe(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_unsafe(c) && !keep(c) {
                    '\u{fffd}'
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// A writer that passes text to `inner` through [`printable_lines`], a
/// whole line at a time (so a character split across two writes is never
/// judged in halves). Bytes that are not UTF-8 become U+FFFD.
pub struct Sanitized<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Sanitized<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Sanitized {
            inner,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, upto: usize) -> io::Result<()> {
        let line: Vec<u8> = self.pending.drain(..upto).collect();
        let text = String::from_utf8_lossy(&line);
        self.inner.write_all(printable_lines(&text).as_bytes())
    }
}

impl<W: Write> Write for Sanitized<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last) = self.pending.iter().rposition(|&b| b == b'\n') {
            self.emit(last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let all = self.pending.len();
        self.emit(all)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for Sanitized<W> {
    fn drop(&mut self) {
        // A last line without a line feed; an error here has nowhere to go,
        // as for `BufWriter`.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_carriage_returns_and_overrides_become_visible() {
        assert_eq!(
            printable("a\x1b[2Jb\rc\u{202e}d\u{2066}e\x07\u{9b}f\ng"),
            "a\u{fffd}[2Jb\u{fffd}c\u{fffd}d\u{fffd}e\u{fffd}\u{fffd}f\u{fffd}g"
        );
        assert_eq!(
            printable_lines("one\ntwo\x1b]0;T\x07"),
            "one\ntwo\u{fffd}]0;T\u{fffd}"
        );
        assert!(matches!(printable("gpt-4o ✓ ▁▂"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_writer_sanitizes_across_writes_and_keeps_split_characters() {
        let mut out = Vec::new();
        {
            let mut w = Sanitized::new(&mut out);
            let text = "x\u{202e}y\n▁\x1b";
            let bytes = text.as_bytes();
            // Split inside the three bytes of U+202E and of ▁.
            for chunk in [&bytes[..2], &bytes[2..6], &bytes[6..8], &bytes[8..]] {
                w.write_all(chunk).unwrap();
            }
        }
        assert_eq!(String::from_utf8(out).unwrap(), "x\u{fffd}y\n▁\u{fffd}");
    }
}
