//! A connection string's two spellings, read into settings: libpq's
//! key=value form and the `postgres://` URL, with the keys traceflow knows
//! (and those it refuses by name) and parse errors that say where.

use super::ConnectError;

/// A connection string's keys that traceflow uses, each with the
/// environment variable libpq reads for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Host,
    HostAddr,
    Port,
    DbName,
    User,
    Password,
    PassFile,
    SslMode,
    SslRootCert,
    SslSni,
    ConnectTimeout,
    ApplicationName,
    FallbackApplicationName,
    Options,
    TargetSessionAttrs,
    ChannelBinding,
    Keepalives,
    KeepalivesIdle,
    KeepalivesInterval,
    KeepalivesCount,
    TcpUserTimeout,
    ClientEncoding,
    GssEncMode,
}

const KEYS: &[(&str, Key, Option<&str>)] = &[
    ("host", Key::Host, Some("PGHOST")),
    ("hostaddr", Key::HostAddr, Some("PGHOSTADDR")),
    ("port", Key::Port, Some("PGPORT")),
    ("dbname", Key::DbName, Some("PGDATABASE")),
    ("user", Key::User, Some("PGUSER")),
    ("password", Key::Password, Some("PGPASSWORD")),
    ("passfile", Key::PassFile, Some("PGPASSFILE")),
    ("sslmode", Key::SslMode, Some("PGSSLMODE")),
    ("sslrootcert", Key::SslRootCert, Some("PGSSLROOTCERT")),
    ("sslsni", Key::SslSni, Some("PGSSLSNI")),
    (
        "connect_timeout",
        Key::ConnectTimeout,
        Some("PGCONNECT_TIMEOUT"),
    ),
    ("application_name", Key::ApplicationName, Some("PGAPPNAME")),
    (
        "fallback_application_name",
        Key::FallbackApplicationName,
        None,
    ),
    ("options", Key::Options, Some("PGOPTIONS")),
    (
        "target_session_attrs",
        Key::TargetSessionAttrs,
        Some("PGTARGETSESSIONATTRS"),
    ),
    (
        "channel_binding",
        Key::ChannelBinding,
        Some("PGCHANNELBINDING"),
    ),
    ("keepalives", Key::Keepalives, None),
    ("keepalives_idle", Key::KeepalivesIdle, None),
    ("keepalives_interval", Key::KeepalivesInterval, None),
    ("keepalives_count", Key::KeepalivesCount, None),
    ("tcp_user_timeout", Key::TcpUserTimeout, None),
    (
        "client_encoding",
        Key::ClientEncoding,
        Some("PGCLIENTENCODING"),
    ),
    ("gssencmode", Key::GssEncMode, Some("PGGSSENCMODE")),
];

/// Keys libpq knows that traceflow does not support: refused by name
/// rather than ignored, since ignoring `sslcert` or `service` would connect
/// differently from what was asked.
pub(super) const UNSUPPORTED_KEYS: &[&str] = &[
    "service",
    "requiressl",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslcrl",
    "sslcrldir",
    "sslcompression",
    "sslnegotiation",
    "sslkeylogfile",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "min_protocol_version",
    "max_protocol_version",
    "requirepeer",
    "require_auth",
    "gsslib",
    "gssdelegation",
    "krbsrvname",
    "replication",
    "load_balance_hosts",
    "scram_client_key",
    "scram_server_key",
    "oauth_issuer",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_scope",
];

pub(super) fn key_named(name: &str) -> Option<Key> {
    KEYS.iter().find(|(n, _, _)| *n == name).map(|(_, k, _)| *k)
}

pub(super) fn key_name(key: Key) -> &'static str {
    KEYS.iter()
        .find(|(_, k, _)| *k == key)
        .map_or("?", |(n, _, _)| *n)
}

pub(super) fn key_env(key: Key) -> Option<&'static str> {
    KEYS.iter()
        .find(|(_, k, _)| *k == key)
        .and_then(|(_, _, e)| *e)
}

/// A parse error, with the byte offset it is at when there is one.
pub(super) struct SpecError {
    at: Option<usize>,
    message: String,
}

impl SpecError {
    fn at(at: usize, message: impl Into<String>) -> SpecError {
        SpecError {
            at: Some(at),
            message: message.into(),
        }
    }

    pub(super) fn new(message: impl Into<String>) -> SpecError {
        SpecError {
            at: None,
            message: message.into(),
        }
    }

    pub(super) fn into_error(self, spec: &str) -> ConnectError {
        let reason = match self.at {
            Some(at) => {
                let character = spec.get(..at).map_or(at, |s| s.chars().count()) + 1;
                format!("{} (at character {character})", self.message)
            }
            None => self.message,
        };
        ConnectError::InvalidSpec { reason }
    }
}

/// A spec's setting for a key, found at this byte offset.
pub(super) type Settings = Vec<(Key, String)>;

fn lookup_key(name: &str, at: usize) -> Result<Key, SpecError> {
    if let Some(key) = key_named(name) {
        return Ok(key);
    }
    if UNSUPPORTED_KEYS.contains(&name) {
        return Err(SpecError::at(
            at,
            format!("option \"{name}\" is not supported by traceflow"),
        ));
    }
    Err(SpecError::at(at, format!("unknown option \"{name}\"")))
}

/// libpq's key=value form: `key = value` pairs separated by white space;
/// a value in single quotes may hold spaces; `\'` and `\\` are escapes,
/// in and out of quotes.
pub(super) fn parse_keywords(spec: &str) -> Result<Settings, SpecError> {
    let mut out = Vec::new();
    let mut chars = spec.char_indices().peekable();
    let skip_space = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_space(&mut chars);
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut name = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            name.push(c);
        }
        skip_space(&mut chars);
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            // The word is not echoed: it could be a password typed without
            // its `password=`.
            return Err(SpecError::at(start, "a word without \"=\""));
        }
        if name.is_empty() {
            return Err(SpecError::at(start, "\"=\" without an option name"));
        }
        let key = lookup_key(&name, start)?;
        skip_space(&mut chars);
        let mut value = String::new();
        if let Some((quote, _)) = chars.next_if(|(_, c)| *c == '\'') {
            loop {
                match chars.next() {
                    None => {
                        return Err(SpecError::at(
                            quote,
                            format!("the quoted value of \"{name}\" is not closed"),
                        ))
                    }
                    Some((_, '\'')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c)) => value.push(c),
                        None => {
                            return Err(SpecError::at(
                                quote,
                                format!("the quoted value of \"{name}\" is not closed"),
                            ))
                        }
                    },
                    Some((_, c)) => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Percent-decodes `text`, found at byte `at` of the spec.
fn percent_decode(text: &str, at: usize) -> Result<String, SpecError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(0) => return Err(SpecError::at(at + i, "%00 is not allowed")),
                Some(byte) => out.push(byte),
                None => return Err(SpecError::at(at + i, "invalid percent-encoding")),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| SpecError::at(at, "percent-encoded bytes that are not UTF-8"))
}

/// The URL form: `postgres[ql]://[user[:password]@][host[:port][,...]][/dbname][?key=value&...]`.
pub(super) fn parse_url(spec: &str, scheme_len: usize) -> Result<Settings, SpecError> {
    let mut out = Vec::new();
    let rest = &spec[scheme_len..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if let Some(stray) = rest[authority_end..].find('@') {
        // Most likely a password with a raw `/` or `?`, which ended the
        // host part early: refuse it rather than show part of the password
        // as a host or database name.
        return Err(SpecError::at(
            scheme_len + authority_end + stray,
            "an \"@\" after the host: percent-encode \"/\", \"?\" and \"@\" in a user \
             name, password or database name (%2F, %3F, %40)",
        ));
    }
    let (hosts, hosts_at) = url_userinfo(authority, scheme_len, &mut out)?;
    url_hosts(hosts, hosts_at, &mut out)?;
    let after = &rest[authority_end..];
    let (path, query) = match after.find('?') {
        Some(q) => (&after[..q], Some(&after[q + 1..])),
        None => (after, None),
    };
    let path_at = scheme_len + authority_end;
    if let Some(dbname) = path.strip_prefix('/') {
        if !dbname.is_empty() {
            out.push((Key::DbName, percent_decode(dbname, path_at + 1)?));
        }
    }
    if let Some(query) = query {
        url_params(query, path_at + path.len() + 1, &mut out)?;
    }
    Ok(out)
}

/// A URL's `user:password@` (percent-decoded) into `out`; the host part
/// after it, and where that starts in the spec.
fn url_userinfo<'a>(
    authority: &'a str,
    scheme_len: usize,
    out: &mut Settings,
) -> Result<(&'a str, usize), SpecError> {
    let Some(at) = authority.rfind('@') else {
        return Ok((authority, scheme_len));
    };
    let userinfo = &authority[..at];
    let (user, password) = match userinfo.find(':') {
        Some(colon) => (
            &userinfo[..colon],
            Some((&userinfo[colon + 1..], colon + 1)),
        ),
        None => (userinfo, None),
    };
    if !user.is_empty() {
        out.push((Key::User, percent_decode(user, scheme_len)?));
    }
    if let Some((password, offset)) = password {
        if !password.is_empty() {
            out.push((
                Key::Password,
                percent_decode(password, scheme_len + offset)?,
            ));
        }
    }
    Ok((&authority[at + 1..], scheme_len + at + 1))
}

/// A URL's `host[:port][,...]` (IPv6 addresses in brackets) into `out`;
/// `offset` is where the hosts start in the spec.
fn url_hosts(hosts: &str, mut offset: usize, out: &mut Settings) -> Result<(), SpecError> {
    if hosts.is_empty() {
        return Ok(());
    }
    let mut names = Vec::new();
    let mut ports = Vec::new();
    for entry in hosts.split(',') {
        let (name, port) = if let Some(inner) = entry.strip_prefix('[') {
            let Some(close) = inner.find(']') else {
                return Err(SpecError::at(offset, "an IPv6 address without \"]\""));
            };
            let after = &inner[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(port) => port,
                None if after.is_empty() => "",
                None => {
                    return Err(SpecError::at(
                        offset + close + 2,
                        "unexpected text after an IPv6 address",
                    ))
                }
            };
            (inner[..close].to_owned(), port)
        } else {
            let (name, port) = entry.split_once(':').unwrap_or((entry, ""));
            (percent_decode(name, offset)?, port)
        };
        names.push(name);
        ports.push(percent_decode(port, offset)?);
        offset += entry.len() + 1;
    }
    if names.iter().any(|n| !n.is_empty()) {
        out.push((Key::Host, names.join(",")));
    }
    if ports.iter().any(|p| !p.is_empty()) {
        out.push((Key::Port, ports.join(",")));
    }
    Ok(())
}

/// A URL's `key=value&...` parameters into `out`; `offset` is where they
/// start in the spec.
fn url_params(query: &str, mut offset: usize, out: &mut Settings) -> Result<(), SpecError> {
    for pair in query.split('&') {
        if !pair.is_empty() {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(SpecError::at(offset, "a URL parameter without \"=\""));
            };
            let name = percent_decode(name, offset)?;
            let value = percent_decode(value, offset + name.len() + 1)?;
            if name == "ssl" && value == "true" {
                // JDBC's spelling, which libpq accepts in URLs.
                out.push((Key::SslMode, "require".to_owned()));
            } else {
                out.push((lookup_key(&name, offset)?, value));
            }
        }
        offset += pair.len() + 1;
    }
    Ok(())
}

pub(super) fn url_scheme_len(spec: &str) -> Option<usize> {
    ["postgresql://", "postgres://"]
        .iter()
        .find(|scheme| spec.starts_with(*scheme))
        .map(|scheme| scheme.len())
}
