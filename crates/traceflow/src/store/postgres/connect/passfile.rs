//! The password file (`~/.pgpass`, `PGPASSFILE`, `passfile=`), read and
//! matched as libpq does.

use std::io;
use std::path::{Path, PathBuf};

use super::describe::io_cause;

/// What became of the password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Passfile {
    /// Not looked at: a password was given.
    NotNeeded,
    /// No such file (or no home directory to find it in).
    Absent(Option<PathBuf>),
    /// Present but not used, and why (its permissions, ...).
    Ignored { path: PathBuf, reason: String },
    /// Read; each host took its first matching line, if any.
    Read(PathBuf),
}

pub(super) enum PassfileRead {
    Absent,
    Ignored(String),
    Text(String),
}

/// Reads a password file as libpq does: on Unix, a file that is not a
/// plain file, or that group or others may read or write, is ignored.
pub(super) fn read_passfile(path: &Path) -> PassfileRead {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return PassfileRead::Absent,
        Err(e) => return PassfileRead::Ignored(format!("it cannot be read ({})", io_cause(&e))),
    };
    if !meta.is_file() {
        return PassfileRead::Ignored("it is not a plain file".to_owned());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return PassfileRead::Ignored(format!(
                "its permissions ({mode:04o}) let group or others access it; \
                 chmod 0600 it, as libpq requires"
            ));
        }
    }
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => PassfileRead::Text(text),
            Err(_) => PassfileRead::Ignored("it is not UTF-8 text".to_owned()),
        },
        Err(e) => PassfileRead::Ignored(format!("it cannot be read ({})", io_cause(&e))),
    }
}

/// Whether a password file field (up to its unescaped `:`) matches
/// `wanted`: `*` alone matches anything; `\` escapes the next character.
/// Returns the rest of the line after the field's `:`.
fn passfile_field<'a>(line: &'a str, wanted: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let mut field = String::new();
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => field.push(chars.next()?.1),
            ':' => return (field == wanted).then(|| &line[i + 1..]),
            _ => field.push(c),
        }
    }
    None
}

/// The password of the first line of a password file that matches
/// `host:port:database:user`; lines starting with `#` are comments.
pub(super) fn passfile_lookup(
    text: &str,
    host: &str,
    port: &str,
    database: &str,
    user: &str,
) -> Option<String> {
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(rest) = passfile_field(line, host)
            .and_then(|rest| passfile_field(rest, port))
            .and_then(|rest| passfile_field(rest, database))
            .and_then(|rest| passfile_field(rest, user))
        else {
            continue;
        };
        let mut password = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                // A backslash at the end stays, as in libpq.
                '\\' => password.push(chars.next().unwrap_or('\\')),
                // An unescaped `:` ends the password (libpq ignores what
                // follows).
                ':' => break,
                _ => password.push(c),
            }
        }
        return Some(password);
    }
    None
}
