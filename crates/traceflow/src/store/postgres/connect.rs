//! From a `--db` value to a connected [`postgres::Client`], by libpq's
//! rules: the two spellings of a connection string, the `PG*` environment
//! variables, the password file, and `sslmode` with its root certificates.
//!
//! [`PgTarget::parse`] reads a URL (`postgres://user@host:5432/db?...`) or a
//! key=value string (`host=db.example dbname=traces sslmode=verify-full`),
//! fills what it leaves out from the environment and then from defaults,
//! and looks the password up in the password file when none was given.
//! [`PgTarget::connect`] connects, trying each host in turn, with TLS as
//! `sslmode` says (rustls with the ring provider; see the `tls` module).
//!
//! Every error is one line that names the target as [`PgTarget`]'s
//! `Display` shows it, which never includes the password; no `Debug` or
//! `Display` here does either.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use postgres::config::{ChannelBinding, SslMode as WireSslMode, TargetSessionAttrs};
use postgres::error::DbError;
use rustls::RootCertStore;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls::{self, Check};

/// The connect timeout when none is given. libpq waits forever by default;
/// a trend report run from CI must fail rather than hang on a host that
/// drops packets, and ten seconds is long enough for any reachable server.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `application_name` sent when none is given, so the server's
/// `pg_stat_activity` shows who is connected.
pub const DEFAULT_APPLICATION_NAME: &str = "traceflow";

/// The port when none is given.
pub const DEFAULT_PORT: u16 = 5432;

/// The Unix socket directory used as the default host when it exists
/// (Debian's and Ubuntu's libpq default); `localhost` otherwise.
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// How a connection uses TLS, libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// libpq tries plain text first, then TLS; here TLS is tried first
    /// (never less private), without a certificate check, and plain text
    /// if the server refuses TLS: the same as [`SslMode::Prefer`].
    Allow,
    /// TLS without a certificate check if the server supports it, plain
    /// text otherwise (the default, as in libpq).
    Prefer,
    /// TLS or no connection; the certificate is not checked, unless a root
    /// certificate is given or `~/.postgresql/root.crt` exists: then as
    /// [`SslMode::VerifyCa`], as libpq does.
    Require,
    /// TLS with the server's certificate checked against the root
    /// certificates; the host name is not compared.
    VerifyCa,
    /// TLS with the certificate checked against the roots and valid for
    /// the host name (or IP address) connected to.
    VerifyFull,
}

impl SslMode {
    /// The value as `sslmode=` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    fn wire(self) -> WireSslMode {
        match self {
            SslMode::Disable => WireSslMode::Disable,
            SslMode::Allow | SslMode::Prefer => WireSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireSslMode::Require,
        }
    }

    fn falls_back_to_plain_text(self) -> bool {
        matches!(self, SslMode::Allow | SslMode::Prefer)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the password sent to a host comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// The connection string (`password=` or the URL's `user:password@`).
    Spec,
    /// `PGPASSWORD`.
    Environment,
    /// A line of this password file.
    File(PathBuf),
    /// No password: the server may not ask for one (peer, trust or
    /// certificate authentication).
    None,
}

/// Why a connection could not be made, in one line that names the target
/// (as [`PgTarget`]'s `Display` shows it, without a password).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The connection string does not parse, or a value in it or in a
    /// `PG*` variable is not valid.
    #[error("invalid PostgreSQL connection string: {reason}")]
    InvalidSpec {
        /// What is wrong, and where.
        reason: String,
    },
    /// No server answered at any host: refused, no route, the name does
    /// not resolve, or the connect timeout passed.
    #[error("{target}: cannot connect to {host}: {cause}")]
    Unreachable {
        /// The target.
        target: String,
        /// The host(s) and port(s) tried, e.g. `db.example:5432`.
        host: String,
        /// The operating system's cause, e.g. `connection refused`.
        cause: String,
    },
    /// The TLS handshake failed: the certificate is not trusted or not
    /// valid for the host, or the server does not support TLS when
    /// `sslmode` requires it.
    #[error("{target}: TLS with {host} failed: {cause}")]
    Tls {
        /// The target.
        target: String,
        /// The host and port, e.g. `db.example:5432`.
        host: String,
        /// What failed.
        cause: String,
    },
    /// TLS could not be set up before connecting, e.g. a verify mode
    /// without any root certificate.
    #[error("{target}: {reason}")]
    TlsSetup {
        /// The target.
        target: String,
        /// What is missing, and what to pass.
        reason: String,
    },
    /// The server refused the login (SQLSTATE 28P01 or 28000), or asked for
    /// a password when none was given.
    #[error("{target}: {reason}")]
    AuthFailed {
        /// The target.
        target: String,
        /// The user name logged in as.
        user: String,
        /// The server's message and where the password came from, or that
        /// none was found.
        reason: String,
    },
    /// The database does not exist (SQLSTATE 3D000).
    #[error("{target}: database \"{dbname}\" does not exist")]
    NoDatabase {
        /// The target.
        target: String,
        /// The database asked for.
        dbname: String,
    },
    /// The server has no connection slot left (SQLSTATE 53300).
    #[error("{target}: the server has too many connections ({message})")]
    TooManyConnections {
        /// The target.
        target: String,
        /// The server's message.
        message: String,
    },
    /// The server refused the connection for another reason (it is
    /// starting up or shutting down, ...), as [`describe`] words it.
    #[error("{target}: the server refused the connection: {cause}")]
    Refused {
        /// The target.
        target: String,
        /// The server's error, with its SQLSTATE.
        cause: String,
    },
    /// Anything else (the server closed the connection during start-up,
    /// it does not speak PostgreSQL's protocol, ...).
    #[error("{target}: {cause}")]
    Other {
        /// The target.
        target: String,
        /// What happened.
        cause: String,
    },
}

/// A password, kept out of every `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A host of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostName {
    /// A TCP host name or IP address.
    Tcp(String),
    /// A directory holding the server's Unix socket.
    Socket(PathBuf),
    /// None given: `hostaddr` alone says where.
    Unnamed,
}

/// One host of the list, with its port and its password file line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    name: HostName,
    hostaddr: Option<IpAddr>,
    port: u16,
    /// The password file's password for this host, when no password was
    /// given otherwise.
    file_password: Option<Secret>,
}

impl Endpoint {
    /// Whether the connection is made over TCP (TLS is never used over a
    /// Unix socket, as in libpq).
    fn is_tcp(&self) -> bool {
        self.hostaddr.is_some() || !matches!(self.name, HostName::Socket(_))
    }

    /// The name the server's certificate is checked against: the host
    /// name, or the address when only `hostaddr` is given.
    fn tls_name(&self) -> Option<String> {
        match (&self.name, self.hostaddr) {
            (HostName::Tcp(name), _) => Some(name.clone()),
            (_, Some(addr)) => Some(addr.to_string()),
            _ => None,
        }
    }

    /// The host as the password file names it: a socket directory is
    /// `localhost`, as in libpq.
    fn passfile_host(&self) -> String {
        match (&self.name, self.hostaddr) {
            (HostName::Tcp(name), _) => name.clone(),
            (HostName::Unnamed, Some(addr)) => addr.to_string(),
            _ => "localhost".to_owned(),
        }
    }

    /// `host:port` for messages (`[::1]:5432`, `/var/run/postgresql:5432`).
    fn label(&self) -> String {
        let host = match (&self.name, self.hostaddr) {
            (HostName::Tcp(name), _) => name.clone(),
            (HostName::Unnamed, Some(addr)) => addr.to_string(),
            (HostName::Socket(dir), None) => dir.display().to_string(),
            (_, Some(addr)) => addr.to_string(),
            (HostName::Unnamed, None) => String::new(),
        };
        if host.contains(':') && !host.starts_with('/') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Where the root certificates for a certificate check come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RootCert {
    /// `sslrootcert=FILE`.
    File(PathBuf),
    /// `sslrootcert=system`.
    System,
    /// libpq's default, `~/.postgresql/root.crt`, used when it exists.
    Default(Option<PathBuf>),
}

impl RootCert {
    fn label(&self) -> String {
        match self {
            RootCert::File(path) => format!("sslrootcert {}", path.display()),
            RootCert::System => "the system's root certificates".to_owned(),
            RootCert::Default(Some(path)) => path.display().to_string(),
            RootCert::Default(None) => "no root certificate".to_owned(),
        }
    }
}

/// What became of the password file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Passfile {
    /// Not looked at: a password was given.
    NotNeeded,
    /// No such file (or no home directory to find it in).
    Absent(Option<PathBuf>),
    /// Present but not used, and why (its permissions, ...).
    Ignored { path: PathBuf, reason: String },
    /// Read; each host took its first matching line, if any.
    Read(PathBuf),
}

/// Where and how to connect, parsed from a URL or a key=value connection
/// string and completed from the environment, defaults and the password
/// file. Its `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct PgTarget {
    endpoints: Vec<Endpoint>,
    user: String,
    dbname: String,
    password: Option<Secret>,
    password_source: PasswordSource,
    passfile: Passfile,
    ssl_mode: SslMode,
    root_cert: RootCert,
    sni: bool,
    connect_timeout: Option<Duration>,
    application_name: String,
    options: Option<String>,
    target_session_attrs: TargetSessionAttrs,
    channel_binding: ChannelBinding,
    keepalives: Option<bool>,
    keepalives_idle: Option<Duration>,
    keepalives_interval: Option<Duration>,
    keepalives_count: Option<u32>,
    tcp_user_timeout: Option<Duration>,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTarget")
            .field("endpoints", &self.endpoints)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("password", &self.password)
            .field("password_source", &self.password_source)
            .field("passfile", &self.passfile)
            .field("ssl_mode", &self.ssl_mode)
            .field("root_cert", &self.root_cert)
            .field("sni", &self.sni)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("channel_binding", &self.channel_binding)
            .finish_non_exhaustive()
    }
}

/// `postgres://user@host:port[,host:port...]/dbname`: no password, ever;
/// a Unix socket directory is shown as the host.
impl fmt::Display for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres://{}@", self.user)?;
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&endpoint.label())?;
        }
        write!(f, "/{}", self.dbname)
    }
}

/// A connection string's keys that traceflow uses, each with the
/// environment variable libpq reads for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
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
const UNSUPPORTED_KEYS: &[&str] = &[
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

fn key_named(name: &str) -> Option<Key> {
    KEYS.iter().find(|(n, _, _)| *n == name).map(|(_, k, _)| *k)
}

fn key_name(key: Key) -> &'static str {
    KEYS.iter()
        .find(|(_, k, _)| *k == key)
        .map_or("?", |(n, _, _)| *n)
}

fn key_env(key: Key) -> Option<&'static str> {
    KEYS.iter()
        .find(|(_, k, _)| *k == key)
        .and_then(|(_, _, e)| *e)
}

/// A parse error, with the byte offset it is at when there is one.
struct SpecError {
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

    fn new(message: impl Into<String>) -> SpecError {
        SpecError {
            at: None,
            message: message.into(),
        }
    }

    fn into_error(self, spec: &str) -> ConnectError {
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
type Settings = Vec<(Key, String)>;

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
fn parse_keywords(spec: &str) -> Result<Settings, SpecError> {
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
fn parse_url(spec: &str, scheme_len: usize) -> Result<Settings, SpecError> {
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
    let mut hosts_at = scheme_len;
    let mut hosts = authority;
    if let Some(at) = authority.rfind('@') {
        let userinfo = &authority[..at];
        hosts = &authority[at + 1..];
        hosts_at = scheme_len + at + 1;
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
    }
    if !hosts.is_empty() {
        let mut names = Vec::new();
        let mut ports = Vec::new();
        let mut offset = hosts_at;
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
    }
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
        let mut offset = path_at + path.len() + 1;
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
    }
    Ok(out)
}

fn url_scheme_len(spec: &str) -> Option<usize> {
    ["postgresql://", "postgres://"]
        .iter()
        .find(|scheme| spec.starts_with(*scheme))
        .map(|scheme| scheme.len())
}

/// What parsing reads besides the spec: the environment, the home
/// directory, the OS user and the default socket directory.
struct Context<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    home: Option<&'a Path>,
    os_user: Option<String>,
    socket_dir: Option<PathBuf>,
}

/// A value and where it came from, for messages.
struct Value {
    text: String,
    origin: String,
}

impl Value {
    fn invalid(&self, what: &str, expected: &str) -> SpecError {
        SpecError::new(format!(
            "invalid {what} \"{}\" in {} (expected {expected})",
            self.text, self.origin
        ))
    }
}

struct Resolver<'a> {
    settings: Settings,
    context: &'a Context<'a>,
}

impl Resolver<'_> {
    /// The spec's value for `key` (the last one given), else its
    /// environment variable's.
    fn get(&self, key: Key) -> Option<Value> {
        if let Some((_, text)) = self.settings.iter().rev().find(|(k, _)| *k == key) {
            return Some(Value {
                text: text.clone(),
                origin: format!("{}=", key_name(key)),
            });
        }
        let var = key_env(key)?;
        (self.context.env)(var).map(|text| Value {
            text,
            origin: var.to_owned(),
        })
    }

    /// The same, an empty value counting as none.
    fn get_nonempty(&self, key: Key) -> Option<Value> {
        self.get(key).filter(|v| !v.text.is_empty())
    }

    fn seconds(&self, key: Key) -> Result<Option<Duration>, SpecError> {
        let Some(value) = self.get_nonempty(key) else {
            return Ok(None);
        };
        match value.text.trim().parse::<u64>() {
            Ok(secs) => Ok(Some(Duration::from_secs(secs))),
            Err(_) => Err(value.invalid(key_name(key), "a whole number of seconds")),
        }
    }

    fn flag(&self, key: Key) -> Result<Option<bool>, SpecError> {
        let Some(value) = self.get_nonempty(key) else {
            return Ok(None);
        };
        match value.text.as_str() {
            "1" => Ok(Some(true)),
            "0" => Ok(Some(false)),
            _ => Err(value.invalid(key_name(key), "0 or 1")),
        }
    }

    fn resolve(&self) -> Result<PgTarget, SpecError> {
        let env = self.context.env;
        let user = match self.get_nonempty(Key::User) {
            Some(v) => v.text,
            None => self
                .context
                .os_user
                .clone()
                .or_else(|| env("USER"))
                .or_else(|| env("LOGNAME"))
                .or_else(|| env("USERNAME"))
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    SpecError::new("cannot tell which user to connect as: give user= or set PGUSER")
                })?,
        };
        let dbname = self
            .get_nonempty(Key::DbName)
            .map_or_else(|| user.clone(), |v| v.text);

        let mut endpoints = self.endpoints()?;

        let (password, password_source) = match self.get_nonempty(Key::Password) {
            Some(v) if v.origin == "PGPASSWORD" => {
                (Some(Secret(v.text)), PasswordSource::Environment)
            }
            Some(v) => (Some(Secret(v.text)), PasswordSource::Spec),
            None => (None, PasswordSource::None),
        };
        let passfile = if password.is_some() {
            Passfile::NotNeeded
        } else {
            let path = match self.get_nonempty(Key::PassFile) {
                Some(v) => Some(PathBuf::from(v.text)),
                None => default_user_file(self.context, "pgpass.conf", ".pgpass"),
            };
            match path {
                None => Passfile::Absent(None),
                Some(path) => match read_passfile(&path) {
                    PassfileRead::Absent => Passfile::Absent(Some(path)),
                    PassfileRead::Ignored(reason) => Passfile::Ignored { path, reason },
                    PassfileRead::Text(text) => {
                        for endpoint in &mut endpoints {
                            endpoint.file_password = passfile_lookup(
                                &text,
                                &endpoint.passfile_host(),
                                &endpoint.port.to_string(),
                                &dbname,
                                &user,
                            )
                            .filter(|p| !p.is_empty())
                            .map(Secret);
                        }
                        Passfile::Read(path)
                    }
                },
            }
        };
        let password_source = match (&password_source, &passfile) {
            (PasswordSource::None, Passfile::Read(path))
                if endpoints.first().is_some_and(|e| e.file_password.is_some()) =>
            {
                PasswordSource::File(path.clone())
            }
            _ => password_source,
        };

        let root_cert = match self.get_nonempty(Key::SslRootCert) {
            Some(v) if v.text == "system" => RootCert::System,
            Some(v) => RootCert::File(PathBuf::from(v.text)),
            None => RootCert::Default(default_user_file(
                self.context,
                "root.crt",
                ".postgresql/root.crt",
            )),
        };
        let ssl_mode = match self.get_nonempty(Key::SslMode) {
            Some(v) => {
                let mode = SslMode::parse(&v.text).ok_or_else(|| {
                    v.invalid(
                        "sslmode",
                        "disable, allow, prefer, require, verify-ca or verify-full",
                    )
                })?;
                if root_cert == RootCert::System && mode != SslMode::VerifyFull {
                    // As libpq: the system's roots vouch for names, so a
                    // weaker mode would trust any of their certificates.
                    return Err(SpecError::new(format!(
                        "sslrootcert=system needs sslmode=verify-full, not {mode}"
                    )));
                }
                mode
            }
            None if root_cert == RootCert::System => SslMode::VerifyFull,
            None => SslMode::Prefer,
        };
        let sni = self.flag(Key::SslSni)?.unwrap_or(true);

        let connect_timeout = match self.get_nonempty(Key::ConnectTimeout) {
            None => Some(DEFAULT_CONNECT_TIMEOUT),
            Some(v) => match v.text.trim().parse::<i64>() {
                // As libpq: zero or less waits forever; 1 is taken as 2.
                Ok(secs) if secs <= 0 => None,
                Ok(secs) => Some(Duration::from_secs(secs.max(2).unsigned_abs())),
                Err(_) => return Err(v.invalid("connect_timeout", "a whole number of seconds")),
            },
        };
        let application_name = self
            .get_nonempty(Key::ApplicationName)
            .or_else(|| self.get_nonempty(Key::FallbackApplicationName))
            .map_or_else(|| DEFAULT_APPLICATION_NAME.to_owned(), |v| v.text);
        let options = self.get_nonempty(Key::Options).map(|v| v.text);
        let target_session_attrs = match self.get_nonempty(Key::TargetSessionAttrs) {
            None => TargetSessionAttrs::Any,
            Some(v) => match v.text.as_str() {
                "any" => TargetSessionAttrs::Any,
                "read-write" => TargetSessionAttrs::ReadWrite,
                "read-only" => TargetSessionAttrs::ReadOnly,
                _ => return Err(v.invalid("target_session_attrs", "any, read-write or read-only")),
            },
        };
        let channel_binding = match self.get_nonempty(Key::ChannelBinding) {
            None => ChannelBinding::Prefer,
            Some(v) => match v.text.as_str() {
                "disable" => ChannelBinding::Disable,
                "prefer" => ChannelBinding::Prefer,
                "require" => ChannelBinding::Require,
                _ => return Err(v.invalid("channel_binding", "disable, prefer or require")),
            },
        };
        if let Some(v) = self.get_nonempty(Key::ClientEncoding) {
            let spelled = v.text.to_ascii_uppercase().replace('-', "");
            if spelled != "UTF8" {
                return Err(v.invalid(
                    "client_encoding",
                    "UTF8, the only encoding traceflow speaks",
                ));
            }
        }
        if let Some(v) = self.get_nonempty(Key::GssEncMode) {
            if v.text != "disable" && v.text != "prefer" {
                return Err(v.invalid(
                    "gssencmode",
                    "disable or prefer: traceflow does not use GSSAPI encryption",
                ));
            }
        }
        let keepalives_count = match self.get_nonempty(Key::KeepalivesCount) {
            None => None,
            Some(v) => Some(
                v.text
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| v.invalid("keepalives_count", "a whole number"))?,
            ),
        };
        let tcp_user_timeout = match self.get_nonempty(Key::TcpUserTimeout) {
            None => None,
            Some(v) => Some(Duration::from_millis(
                v.text
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| v.invalid("tcp_user_timeout", "a whole number of milliseconds"))?,
            )),
        };

        Ok(PgTarget {
            endpoints,
            user,
            dbname,
            password,
            password_source,
            passfile,
            ssl_mode,
            root_cert,
            sni,
            connect_timeout,
            application_name,
            options,
            target_session_attrs,
            channel_binding,
            keepalives: self.flag(Key::Keepalives)?,
            keepalives_idle: self.seconds(Key::KeepalivesIdle)?,
            keepalives_interval: self.seconds(Key::KeepalivesInterval)?,
            keepalives_count,
            tcp_user_timeout,
        })
    }

    /// The host list: `host`, `hostaddr` and `port`, each comma-separated,
    /// matched by position as libpq does.
    fn endpoints(&self) -> Result<Vec<Endpoint>, SpecError> {
        let split = |v: &Option<Value>| -> Vec<String> {
            v.as_ref()
                .filter(|v| !v.text.is_empty())
                .map(|v| v.text.split(',').map(|s| s.trim().to_owned()).collect())
                .unwrap_or_default()
        };
        let host = self.get(Key::Host);
        let hostaddr = self.get(Key::HostAddr);
        let port = self.get(Key::Port);
        let names = split(&host);
        let addrs = split(&hostaddr);
        let ports = split(&port);
        if !names.is_empty() && !addrs.is_empty() && names.len() != addrs.len() {
            return Err(SpecError::new(format!(
                "{} hosts but {} hostaddr values",
                names.len(),
                addrs.len()
            )));
        }
        let count = names.len().max(addrs.len()).max(1);
        if ports.len() > 1 && ports.len() != count {
            return Err(SpecError::new(format!(
                "{} ports for {count} hosts (give one port, or one per host)",
                ports.len()
            )));
        }
        let mut endpoints = Vec::with_capacity(count);
        for i in 0..count {
            let name = names.get(i).map_or("", String::as_str);
            let addr = match addrs.get(i).map(String::as_str) {
                None | Some("") => None,
                Some(text) => Some(text.parse::<IpAddr>().map_err(|_| {
                    Value {
                        text: text.to_owned(),
                        origin: hostaddr
                            .as_ref()
                            .map_or_else(String::new, |v| v.origin.clone()),
                    }
                    .invalid("hostaddr", "an IP address")
                })?),
            };
            let name = if name.starts_with('/') {
                HostName::Socket(PathBuf::from(name))
            } else if !name.is_empty() {
                HostName::Tcp(name.to_owned())
            } else if addr.is_some() {
                HostName::Unnamed
            } else {
                match &self.context.socket_dir {
                    Some(dir) => HostName::Socket(dir.clone()),
                    None => HostName::Tcp("localhost".to_owned()),
                }
            };
            let port_text = ports.get(i).or(ports.first()).map_or("", String::as_str);
            let port = if port_text.is_empty() {
                DEFAULT_PORT
            } else {
                match port_text.parse::<u16>() {
                    Ok(p) if p > 0 => p,
                    _ => {
                        return Err(Value {
                            text: port_text.to_owned(),
                            origin: port.as_ref().map_or_else(String::new, |v| v.origin.clone()),
                        }
                        .invalid("port", "a number from 1 to 65535"))
                    }
                }
            };
            endpoints.push(Endpoint {
                name,
                hostaddr: addr,
                port,
                file_password: None,
            });
        }
        Ok(endpoints)
    }
}

/// A file of the user's PostgreSQL configuration: `%APPDATA%\postgresql\`
/// on Windows, the home directory elsewhere.
fn default_user_file(
    context: &Context<'_>,
    windows_name: &str,
    unix_path: &str,
) -> Option<PathBuf> {
    if cfg!(windows) {
        (context.env)("APPDATA").map(|dir| PathBuf::from(dir).join("postgresql").join(windows_name))
    } else {
        context.home.map(|home| home.join(unix_path))
    }
}

enum PassfileRead {
    Absent,
    Ignored(String),
    Text(String),
}

/// Reads a password file as libpq does: on Unix, a file that is not a
/// plain file, or that group or others may read or write, is ignored.
fn read_passfile(path: &Path) -> PassfileRead {
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
fn passfile_lookup(
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

/// The effective user's name from `/etc/passwd`, as libpq finds it; the
/// owner of `/proc/self` is the process's effective user on Linux.
fn os_user() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").ok()?.uid();
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id = fields.nth(1)?.parse::<u32>().ok()?;
            (id == uid && !name.is_empty()).then(|| name.to_owned())
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// An OS error in a few lowercase words.
fn io_cause(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::HostUnreachable => "no route to host".to_owned(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset by the server".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        io::ErrorKind::AddrNotAvailable => "address not available".to_owned(),
        _ => {
            let text = err.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_owned(),
                None => text,
            }
        }
    }
}

/// An error and its causes, joined by `: `.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let more = cause.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        next = cause.source();
    }
    text
}

/// What became of one connection attempt that failed.
enum Failure {
    /// The server answered with an error: stop, as libpq does.
    Server(Box<DbError>),
    /// The server asks for a password and there is none.
    NoPassword,
    /// The handshake failed.
    Tls(String),
    /// No connection.
    Unreachable(String),
    /// Anything else.
    Other(String),
}

/// A failed attempt at one address.
struct Attempt {
    label: String,
    addr: Option<IpAddr>,
    failure: Failure,
}

/// Runs `work` on a thread of its own and waits for it at most `limit`
/// (or for ever); `None` if the time passed. A thread that overstays is
/// left to finish on its own (its result is dropped).
fn within<T: Send + 'static>(
    limit: Option<Duration>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<Option<T>, io::Error> {
    let Some(limit) = limit else {
        return Ok(Some(work()));
    };
    let (sender, receiver) = mpsc::channel();
    thread::Builder::new()
        .name("traceflow-pg-connect".to_owned())
        .spawn(move || {
            let _ignored = sender.send(work());
        })?;
    match receiver.recv_timeout(limit) {
        Ok(value) => Ok(Some(value)),
        Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(io::Error::other(
            "the connecting thread stopped unexpectedly",
        )),
    }
}

/// The TLS connector and what messages say about its roots.
struct TlsSetup {
    connector: MakeRustlsConnect,
    roots: String,
}

impl PgTarget {
    /// Whether a `--db` value names a PostgreSQL database rather than a
    /// file: it starts with `postgres://` or `postgresql://`, or it is a
    /// key=value connection string whose first key is one libpq knows
    /// (`host=`, `dbname=`, `sslmode=`, ...). A file whose name starts so
    /// can still be given as `./host=...`.
    pub fn is_postgres_spec(spec: &str) -> bool {
        if url_scheme_len(spec).is_some() {
            return true;
        }
        let text = spec.trim_start();
        let end = text
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(text.len());
        let (name, rest) = text.split_at(end);
        rest.trim_start().starts_with('=')
            && (key_named(name).is_some() || UNSUPPORTED_KEYS.contains(&name))
    }

    /// Parses `spec`, filling what it leaves out from the environment
    /// (`PGHOST`, `PGHOSTADDR`, `PGPORT`, `PGDATABASE`, `PGUSER`,
    /// `PGPASSWORD`, `PGPASSFILE`, `PGSSLMODE`, `PGSSLROOTCERT`,
    /// `PGCONNECT_TIMEOUT`, `PGAPPNAME`, `PGOPTIONS`, ...), then from
    /// defaults, and looking the password up in the password file when
    /// none was given, as libpq does.
    pub fn parse(spec: &str) -> Result<PgTarget, ConnectError> {
        let home = std::env::home_dir();
        PgTarget::parse_with(spec, &|name| std::env::var(name).ok(), home.as_deref())
    }

    /// [`PgTarget::parse`] with the environment given: `env` looks a
    /// variable up, `home` is the home directory (for `~/.pgpass` and
    /// `~/.postgresql/root.crt`). The OS user and whether
    /// [`DEFAULT_SOCKET_DIR`] exists are still read from the system.
    pub fn parse_with(
        spec: &str,
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<PgTarget, ConnectError> {
        let socket_dir = Path::new(DEFAULT_SOCKET_DIR);
        let context = Context {
            env,
            home,
            os_user: os_user(),
            socket_dir: (cfg!(unix) && socket_dir.is_dir()).then(|| socket_dir.to_path_buf()),
        };
        parse_in(spec, &context).map_err(|e| e.into_error(spec))
    }

    /// The user name logged in as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The database connected to.
    pub fn dbname(&self) -> &str {
        &self.dbname
    }

    /// The `sslmode`.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// Where the password for the first host comes from.
    pub fn password_source(&self) -> PasswordSource {
        self.password_source.clone()
    }

    /// The connect timeout per address tried (`None`: wait for ever, as
    /// `connect_timeout=0` asks).
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The `application_name` sent to the server.
    pub fn application_name(&self) -> &str {
        &self.application_name
    }

    /// Connects, with TLS as `sslmode` says: each host in turn, each of a
    /// host name's addresses in turn, until one answers. A server's refusal
    /// (wrong password, no such database) ends the search, as in libpq; an
    /// unreachable host or a failed handshake moves on to the next. Each
    /// address gets the connect timeout for the whole of its attempt
    /// (socket, TLS and login), and the name lookup gets it too. TLS is
    /// never used over a Unix socket, whatever `sslmode` says, as in libpq.
    pub fn connect(&self) -> Result<postgres::Client, ConnectError> {
        let tls = self.tls_setup()?;
        let mut failed = Vec::new();
        for endpoint in &self.endpoints {
            if let Some(client) = self.connect_endpoint(endpoint, &tls, &mut failed)? {
                return Ok(client);
            }
        }
        Err(self.summarize(failed))
    }

    fn target(&self) -> String {
        self.to_string()
    }

    /// The connector for this mode, with its roots loaded; for plain text
    /// only, a connector that is never used.
    fn tls_setup(&self) -> Result<TlsSetup, ConnectError> {
        let uses_tls =
            self.ssl_mode != SslMode::Disable && self.endpoints.iter().any(Endpoint::is_tcp);
        let (check, roots) = if !uses_tls {
            (Check::Nothing, None)
        } else {
            match self.ssl_mode {
                SslMode::Disable | SslMode::Allow | SslMode::Prefer => (Check::Nothing, None),
                SslMode::Require => match self.load_roots(false)? {
                    Some(roots) => (Check::Chain, Some(roots)),
                    None => (Check::Nothing, None),
                },
                SslMode::VerifyCa => (Check::Chain, self.load_roots(true)?),
                SslMode::VerifyFull => (Check::ChainAndName, self.load_roots(true)?),
            }
        };
        let config = tls::client_config(check, roots, self.sni).map_err(|reason| {
            ConnectError::TlsSetup {
                target: self.target(),
                reason,
            }
        })?;
        Ok(TlsSetup {
            connector: MakeRustlsConnect::new(config),
            roots: self.root_cert.label(),
        })
    }

    /// The root certificates; `None` when there are none and `required` is
    /// false (`require` without `root.crt`).
    fn load_roots(&self, required: bool) -> Result<Option<Arc<RootCertStore>>, ConnectError> {
        let setup_error = |reason: String| ConnectError::TlsSetup {
            target: self.target(),
            reason,
        };
        let loaded = match &self.root_cert {
            RootCert::System => tls::system_roots(),
            RootCert::File(path) => tls::roots_from_file(path),
            RootCert::Default(Some(path)) if path.exists() => tls::roots_from_file(path),
            RootCert::Default(place) => {
                if !required {
                    return Ok(None);
                }
                let none_at = match place {
                    Some(path) => format!("there is none at {}", path.display()),
                    None => "there is no home directory to find root.crt in".to_owned(),
                };
                return Err(setup_error(format!(
                    "sslmode={} needs a root certificate and {none_at}: pass \
                     sslrootcert=FILE (the CA's certificate, PEM) or sslrootcert=system",
                    self.ssl_mode
                )));
            }
        };
        loaded
            .map(|store| Some(Arc::new(store)))
            .map_err(|reason| setup_error(format!("sslmode={}: {reason}", self.ssl_mode)))
    }

    /// The configuration for one attempt; `addr` is the address to
    /// connect to, when the endpoint's name was looked up.
    fn config_for(&self, endpoint: &Endpoint, addr: Option<IpAddr>) -> postgres::Config {
        let mut config = postgres::Config::new();
        config
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name)
            .target_session_attrs(self.target_session_attrs)
            .channel_binding(self.channel_binding)
            .port(endpoint.port);
        let password = self.password.as_ref().or(endpoint.file_password.as_ref());
        if let Some(password) = password {
            config.password(password.0.as_bytes());
        }
        if let Some(options) = &self.options {
            config.options(options);
        }
        if let Some(timeout) = self.connect_timeout {
            config.connect_timeout(timeout);
        }
        if let Some(on) = self.keepalives {
            config.keepalives(on);
        }
        if let Some(idle) = self.keepalives_idle {
            config.keepalives_idle(idle);
        }
        if let Some(interval) = self.keepalives_interval {
            config.keepalives_interval(interval);
        }
        if let Some(count) = self.keepalives_count {
            config.keepalives_retries(count);
        }
        if let Some(timeout) = self.tcp_user_timeout {
            config.tcp_user_timeout(timeout);
        }
        match (&endpoint.name, addr.or(endpoint.hostaddr)) {
            (HostName::Socket(dir), None) => {
                #[cfg(unix)]
                config.host_path(dir);
                #[cfg(not(unix))]
                config.host(&dir.display().to_string());
                config.ssl_mode(WireSslMode::Disable);
            }
            (_, Some(ip)) => {
                let name = endpoint.tls_name().unwrap_or_else(|| ip.to_string());
                config
                    .host(&name)
                    .hostaddr(ip)
                    .ssl_mode(self.ssl_mode.wire());
            }
            (HostName::Tcp(name), None) => {
                config.host(name).ssl_mode(self.ssl_mode.wire());
            }
            (HostName::Unnamed, None) => {}
        }
        config
    }

    /// Tries one host; `Ok(None)` when it could not be reached (recorded in
    /// `failed`), an error when the server refused.
    fn connect_endpoint(
        &self,
        endpoint: &Endpoint,
        tls: &TlsSetup,
        failed: &mut Vec<Attempt>,
    ) -> Result<Option<postgres::Client>, ConnectError> {
        let label = endpoint.label();
        let tls_name = endpoint.tls_name().unwrap_or_default();
        let addrs: Vec<Option<IpAddr>> = match (&endpoint.name, endpoint.hostaddr) {
            (HostName::Tcp(name), None) => match self.resolve(name, endpoint.port) {
                Ok(addrs) => addrs.into_iter().map(Some).collect(),
                Err(cause) => {
                    failed.push(Attempt {
                        label,
                        addr: None,
                        failure: Failure::Unreachable(cause),
                    });
                    return Ok(None);
                }
            },
            _ => vec![None],
        };
        for addr in addrs {
            let config = self.config_for(endpoint, addr);
            let mut failure = self.attempt(config.clone(), tls, &tls_name);
            if let (Err(Failure::Tls(_)), true) =
                (&failure, self.ssl_mode.falls_back_to_plain_text())
            {
                let mut plain = config;
                plain.ssl_mode(WireSslMode::Disable);
                failure = self.attempt(plain, tls, &tls_name);
            }
            match failure {
                Ok(client) => return Ok(Some(client)),
                Err(Failure::Server(db)) => return Err(self.server_error(endpoint, &db)),
                Err(Failure::NoPassword) => return Err(self.no_password(endpoint)),
                Err(failure) => failed.push(Attempt {
                    label: label.clone(),
                    addr,
                    failure,
                }),
            }
        }
        Ok(None)
    }

    /// A host name's addresses, in the resolver's order, looked up within
    /// the connect timeout.
    fn resolve(&self, name: &str, port: u16) -> Result<Vec<IpAddr>, String> {
        let query = (name.to_owned(), port);
        let found = within(self.connect_timeout, move || {
            query.to_socket_addrs().map(|a| a.collect::<Vec<_>>())
        });
        let addrs = match found {
            Ok(Some(Ok(addrs))) => addrs,
            Ok(Some(Err(e))) => {
                return Err(format!("cannot resolve the host name ({})", io_cause(&e)))
            }
            Ok(None) => {
                return Err(format!(
                    "the host name did not resolve within {}",
                    self.timeout_words()
                ))
            }
            Err(e) => return Err(format!("cannot look the host name up ({e})")),
        };
        let mut ips = Vec::new();
        for addr in addrs {
            if !ips.contains(&addr.ip()) {
                ips.push(addr.ip());
            }
        }
        if ips.is_empty() {
            return Err("the host name has no address".to_owned());
        }
        Ok(ips)
    }

    fn timeout_words(&self) -> String {
        match self.connect_timeout {
            Some(t) => format!("{} s (connect_timeout)", t.as_secs()),
            None => "the time allowed".to_owned(),
        }
    }

    /// One connection attempt, within the connect timeout; `tls_name` is
    /// the name the certificate is checked against.
    fn attempt(
        &self,
        config: postgres::Config,
        tls: &TlsSetup,
        tls_name: &str,
    ) -> Result<postgres::Client, Failure> {
        let connector = tls.connector.clone();
        match within(self.connect_timeout, move || config.connect(connector)) {
            Ok(Some(Ok(client))) => Ok(client),
            Ok(Some(Err(err))) => Err(self.classify(&err, tls_name, &tls.roots)),
            Ok(None) => Err(Failure::Unreachable(format!(
                "no answer within {}",
                self.timeout_words()
            ))),
            Err(e) => Err(Failure::Other(format!("cannot start connecting: {e}"))),
        }
    }

    /// What a connection error from tokio-postgres means. Its kinds are
    /// not public; its `Display` names them (`error connecting to server`,
    /// `error performing TLS handshake`, ...).
    fn classify(&self, err: &postgres::Error, tls_name: &str, roots: &str) -> Failure {
        if let Some(db) = err.as_db_error() {
            return Failure::Server(Box::new(db.clone()));
        }
        let cause = err.source();
        let cause_text = cause.map(ToString::to_string).unwrap_or_default();
        match err.to_string().as_str() {
            "error connecting to server" => {
                let text = match cause.and_then(|c| c.downcast_ref::<io::Error>()) {
                    Some(io) if io.kind() == io::ErrorKind::TimedOut => {
                        format!("no answer within {}", self.timeout_words())
                    }
                    Some(io) => io_cause(io),
                    None => cause_text,
                };
                Failure::Unreachable(text)
            }
            "error performing TLS handshake" => {
                if let Some(rustls) = cause.and_then(tls::rustls_error) {
                    Failure::Tls(tls::describe_tls_error(rustls, tls_name, roots))
                } else if cause_text == "server does not support TLS" {
                    Failure::Tls(format!(
                        "the server does not support TLS, which sslmode={} requires",
                        self.ssl_mode
                    ))
                } else {
                    let text = match cause.and_then(|c| c.downcast_ref::<io::Error>()) {
                        Some(io) => io_cause(io),
                        None => cause_text,
                    };
                    Failure::Tls(format!("the handshake broke off ({text})"))
                }
            }
            "invalid configuration" if cause_text == "password missing" => Failure::NoPassword,
            _ => Failure::Other(describe(err)),
        }
    }

    fn server_error(&self, endpoint: &Endpoint, db: &DbError) -> ConnectError {
        let target = self.target();
        match db.code().code() {
            "28P01" => ConnectError::AuthFailed {
                target,
                user: self.user.clone(),
                reason: format!("{} ({})", db.message(), self.password_words(endpoint)),
            },
            "28000" => ConnectError::AuthFailed {
                target,
                user: self.user.clone(),
                reason: db.message().to_owned(),
            },
            "3D000" => ConnectError::NoDatabase {
                target,
                dbname: self.dbname.clone(),
            },
            "53300" => ConnectError::TooManyConnections {
                target,
                message: db.message().to_owned(),
            },
            _ => ConnectError::Refused {
                target,
                cause: describe_db(db),
            },
        }
    }

    /// Where the password sent came from, and the password file's fate.
    fn password_words(&self, endpoint: &Endpoint) -> String {
        match (&self.password, &endpoint.file_password, &self.passfile) {
            (Some(_), _, _) if self.password_source == PasswordSource::Environment => {
                "the password came from PGPASSWORD".to_owned()
            }
            (Some(_), _, _) => "the password came from the connection string".to_owned(),
            (None, Some(_), Passfile::Read(path)) => {
                format!("the password came from {}", path.display())
            }
            _ => "no password was sent".to_owned(),
        }
    }

    fn no_password(&self, endpoint: &Endpoint) -> ConnectError {
        let why = match &self.passfile {
            Passfile::Ignored { path, reason } => {
                format!("the password file {} was ignored: {reason}", path.display())
            }
            Passfile::Read(path) => format!(
                "no line of {} matches {}:{}:{}:{}",
                path.display(),
                endpoint.passfile_host(),
                endpoint.port,
                self.dbname,
                self.user
            ),
            Passfile::Absent(Some(path)) => format!(
                "set PGPASSWORD, put it in the connection string, or add a line to {}",
                path.display()
            ),
            Passfile::Absent(None) | Passfile::NotNeeded => {
                "set PGPASSWORD or put it in the connection string".to_owned()
            }
        };
        ConnectError::AuthFailed {
            target: self.target(),
            user: self.user.clone(),
            reason: format!(
                "the server asks for a password for user \"{}\" and none was given: {why}",
                self.user
            ),
        }
    }

    /// One error for the attempts that all failed: a handshake or other
    /// failure if there was one (the last), else every unreachable host.
    fn summarize(&self, failed: Vec<Attempt>) -> ConnectError {
        let target = self.target();
        if let Some(last) = failed
            .iter()
            .rev()
            .find(|a| !matches!(a.failure, Failure::Unreachable(_)))
        {
            return match &last.failure {
                Failure::Tls(cause) => ConnectError::Tls {
                    target,
                    host: last.label.clone(),
                    cause: cause.clone(),
                },
                Failure::Other(cause) => ConnectError::Other {
                    target,
                    cause: format!("{}: {cause}", last.label),
                },
                _ => ConnectError::Other {
                    target,
                    cause: "connection failed".to_owned(),
                },
            };
        }
        let causes: Vec<(&str, Option<IpAddr>, &str)> = failed
            .iter()
            .filter_map(|a| match &a.failure {
                Failure::Unreachable(cause) => Some((a.label.as_str(), a.addr, cause.as_str())),
                _ => None,
            })
            .collect();
        let Some(&(_, _, first_cause)) = causes.first() else {
            return ConnectError::Other {
                target,
                cause: "no host to connect to".to_owned(),
            };
        };
        let mut labels: Vec<&str> = Vec::new();
        for (label, _, _) in &causes {
            if !labels.contains(label) {
                labels.push(label);
            }
        }
        let host = labels.join(", ");
        let cause = if causes.iter().all(|(_, _, c)| *c == first_cause) {
            let addrs: Vec<String> = causes
                .iter()
                .filter_map(|(label, addr, _)| {
                    addr.filter(|a| host_of(label) != a.to_string())
                        .map(|a| a.to_string())
                })
                .collect();
            if addrs.is_empty() {
                first_cause.to_owned()
            } else {
                format!("{first_cause} (at {})", addrs.join(", "))
            }
        } else {
            causes
                .iter()
                .map(|(label, addr, cause)| match addr {
                    Some(a) if host_of(label) != a.to_string() => {
                        format!("{label} at {a}: {cause}")
                    }
                    _ => format!("{label}: {cause}"),
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        ConnectError::Unreachable {
            target,
            host,
            cause,
        }
    }
}

/// The host of a `host:port` label (without an IPv6 address's brackets).
fn host_of(label: &str) -> String {
    let host = label.rsplit_once(':').map_or(label, |(host, _)| host);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

fn parse_in(spec: &str, context: &Context<'_>) -> Result<PgTarget, SpecError> {
    let settings = match url_scheme_len(spec) {
        Some(len) => parse_url(spec, len)?,
        None => parse_keywords(spec)?,
    };
    Resolver { settings, context }.resolve()
}

/// What a SQLSTATE means, in a few words: the code's own meaning, else its
/// class's.
fn sqlstate_meaning(code: &str) -> &'static str {
    match code {
        "08000" => "connection exception",
        "08003" => "connection does not exist",
        "08006" => "connection failure",
        "08001" => "client unable to establish connection",
        "08004" => "server rejected the connection",
        "0A000" => "feature not supported",
        "22001" => "value too long",
        "22003" => "numeric value out of range",
        "22012" => "division by zero",
        "22P02" => "invalid text representation",
        "23502" => "not-null violation",
        "23503" => "foreign key violation",
        "23505" => "unique violation",
        "25006" => "read-only transaction",
        "25P02" => "transaction aborted",
        "28000" => "invalid authorization",
        "28P01" => "invalid password",
        "3D000" => "database does not exist",
        "3F000" => "schema does not exist",
        "40001" => "serialization failure",
        "40P01" => "deadlock detected",
        "42501" => "insufficient privilege",
        "42601" => "syntax error",
        "42703" => "undefined column",
        "42883" => "undefined function",
        "42P01" => "undefined table",
        "42P07" => "table already exists",
        "53100" => "disk full",
        "53200" => "out of memory",
        "53300" => "too many connections",
        "55P03" => "lock not available",
        "57014" => "query canceled",
        "57P01" => "server shutting down",
        "57P02" => "server crashed",
        "57P03" => "server not accepting connections yet",
        "58030" => "server I/O error",
        "XX000" => "internal error",
        "XX001" => "data corrupted",
        _ => match code.get(..2).unwrap_or("") {
            "08" => "connection exception",
            "0A" => "feature not supported",
            "22" => "data exception",
            "23" => "integrity constraint violation",
            "25" => "invalid transaction state",
            "28" => "invalid authorization",
            "40" => "transaction rolled back",
            "42" => "syntax error or access rule violation",
            "53" => "insufficient resources",
            "54" => "program limit exceeded",
            "55" => "object not in prerequisite state",
            "57" => "operator intervention",
            "58" => "system error",
            "XX" => "internal error",
            _ => "server error",
        },
    }
}

fn describe_db(db: &DbError) -> String {
    let code = db.code().code();
    format!(
        "{} ({}, SQLSTATE {code})",
        db.message(),
        sqlstate_meaning(code)
    )
}

/// A one-line cause for an error from a query on a connected client: the
/// server's message with its SQLSTATE's meaning (`permission denied for
/// table traces (insufficient privilege, SQLSTATE 42501)`), that the
/// connection is closed, or the client's error with its causes. It never
/// includes a password: none is part of a query's error.
pub fn describe(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return describe_db(db);
    }
    if err.is_closed() {
        return "the connection to the server is closed".to_owned();
    }
    error_chain(err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const PASSWORD: &str = "s3cr@t:pa/ss";

    /// A context with these variables, a fixed OS user and no socket
    /// directory unless given.
    fn context<'a>(
        env: &'a dyn Fn(&str) -> Option<String>,
        home: Option<&'a Path>,
        socket_dir: Option<&str>,
    ) -> Context<'a> {
        Context {
            env,
            home,
            os_user: Some("alice".to_owned()),
            socket_dir: socket_dir.map(PathBuf::from),
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn parse_env(spec: &str, env: &[(&str, &str)]) -> Result<PgTarget, ConnectError> {
        let env = vars(env);
        let lookup = move |name: &str| env.get(name).cloned();
        let ctx = context(&lookup, None, None);
        parse_in(spec, &ctx).map_err(|e| e.into_error(spec))
    }

    fn parse(spec: &str) -> PgTarget {
        parse_env(spec, &[]).unwrap()
    }

    fn parse_err(spec: &str) -> String {
        parse_env(spec, &[]).unwrap_err().to_string()
    }

    fn password(target: &PgTarget) -> Option<&str> {
        target.password.as_ref().map(|s| s.0.as_str())
    }

    #[test]
    fn a_url_gives_every_part() {
        let t =
            parse("postgresql://bob:pw@db.example:6543/traces?sslmode=require&application_name=ci");
        assert_eq!(t.user, "bob");
        assert_eq!(password(&t), Some("pw"));
        assert_eq!(t.dbname, "traces");
        assert_eq!(t.ssl_mode, SslMode::Require);
        assert_eq!(t.application_name, "ci");
        assert_eq!(
            t.endpoints,
            vec![Endpoint {
                name: HostName::Tcp("db.example".to_owned()),
                hostaddr: None,
                port: 6543,
                file_password: None,
            }]
        );
        assert_eq!(t.password_source, PasswordSource::Spec);
        assert_eq!(t.to_string(), "postgres://bob@db.example:6543/traces");
    }

    #[test]
    fn a_url_is_percent_decoded() {
        let t = parse("postgres://b%40b:s3cr%40t%3Apa%2Fss@h/my%20db?options=-c%20search_path%3Dx");
        assert_eq!(t.user, "b@b");
        assert_eq!(password(&t), Some(PASSWORD));
        assert_eq!(t.dbname, "my db");
        assert_eq!(t.options.as_deref(), Some("-c search_path=x"));
        assert!(
            parse_err("postgres://h/db%zz").contains("invalid percent-encoding (at character 16)")
        );
        assert!(parse_err("postgres://h/db%00").contains("%00"));
        assert!(parse_err("postgres://h/db%ff").contains("not UTF-8"));
        // A raw `/` or `?` in a password ends the host part early; the rest
        // of the password must not become a host or database name.
        for spec in ["postgres://u:pa/zq9@h/db", "postgres://u:pa?x=zq9@h/db"] {
            let err = parse_err(spec);
            assert!(err.contains("percent-encode"), "{err}");
            assert!(!err.contains("zq9"), "{err}");
        }
    }

    #[test]
    fn a_url_names_a_socket_directory_and_several_hosts() {
        let t = parse("postgres://%2Fvar%2Frun%2Fpostgresql/db");
        assert_eq!(
            t.endpoints[0].name,
            HostName::Socket(PathBuf::from("/var/run/postgresql"))
        );
        assert_eq!(
            t.to_string(),
            "postgres://alice@/var/run/postgresql:5432/db"
        );

        let t = parse("postgres:///db?host=/tmp/sock&port=5433");
        assert_eq!(
            t.endpoints[0].name,
            HostName::Socket(PathBuf::from("/tmp/sock"))
        );
        assert_eq!(t.endpoints[0].port, 5433);

        let t = parse("postgres://u@h1:1234,h2,[::1]:5678/db");
        let labels: Vec<String> = t.endpoints.iter().map(Endpoint::label).collect();
        assert_eq!(labels, ["h1:1234", "h2:5432", "[::1]:5678"]);
        assert_eq!(t.to_string(), "postgres://u@h1:1234,h2:5432,[::1]:5678/db");
    }

    #[test]
    fn a_url_without_parts_takes_the_defaults() {
        let t = parse("postgres://");
        assert_eq!(t.user, "alice");
        assert_eq!(t.dbname, "alice");
        assert_eq!(t.endpoints[0].name, HostName::Tcp("localhost".to_owned()));
        assert_eq!(t.endpoints[0].port, DEFAULT_PORT);
        assert_eq!(t.ssl_mode, SslMode::Prefer);
        assert_eq!(t.connect_timeout, Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(t.application_name, DEFAULT_APPLICATION_NAME);
        assert_eq!(t.password, None);
        assert_eq!(t.password_source, PasswordSource::None);
    }

    #[test]
    fn the_default_host_is_the_socket_directory_when_it_exists() {
        let none = |_: &str| None;
        let ctx = context(&none, None, Some("/var/run/postgresql"));
        let t = parse_in("dbname=x", &ctx).ok().unwrap();
        assert_eq!(
            t.endpoints[0].name,
            HostName::Socket(PathBuf::from("/var/run/postgresql"))
        );
        assert!(!t.endpoints[0].is_tcp());
        // parse_with looks at the real directory.
        let t = PgTarget::parse_with("dbname=x", &none, None).unwrap();
        let expected = if Path::new(DEFAULT_SOCKET_DIR).is_dir() {
            HostName::Socket(PathBuf::from(DEFAULT_SOCKET_DIR))
        } else {
            HostName::Tcp("localhost".to_owned())
        };
        assert_eq!(t.endpoints[0].name, expected);
    }

    #[test]
    fn key_value_pairs_with_quotes_and_escapes() {
        let t = parse(r"host=h  port = 5433 dbname='my db' password='it\'s \\ x' user=o\'k");
        assert_eq!(t.endpoints[0].port, 5433);
        assert_eq!(t.dbname, "my db");
        assert_eq!(password(&t), Some(r"it's \ x"));
        assert_eq!(t.user, "o'k");
        let t = parse("host=a,b port=1,2 hostaddr=127.0.0.1,::1");
        assert_eq!(t.endpoints.len(), 2);
        assert_eq!(t.endpoints[1].hostaddr, Some("::1".parse().unwrap()));
        assert_eq!(t.endpoints[1].port, 2);
        assert_eq!(parse("dbname=''").dbname, "alice");
    }

    #[test]
    fn key_value_errors_say_where() {
        assert_eq!(
            parse_err("host=h sslmod=require"),
            "invalid PostgreSQL connection string: unknown option \"sslmod\" (at character 8)"
        );
        assert!(parse_err("host=h sslcert=x").contains("\"sslcert\" is not supported"));
        assert!(parse_err("host=h dbname='x").contains("not closed (at character 15)"));
        assert!(parse_err("host=h hunter2").contains("a word without \"=\" (at character 8)"));
        assert!(!parse_err("host=h hunter2").contains("hunter2"));
        assert!(parse_err("postgres://h/db?sslmod=x").contains("unknown option \"sslmod\""));
        assert!(
            parse_err("host=h sslmode=requir").contains("invalid sslmode \"requir\" in sslmode=")
        );
        assert!(parse_err("port=99999").contains("invalid port \"99999\""));
        assert!(parse_err("host=a,b,c port=1,2").contains("2 ports for 3 hosts"));
        assert!(parse_err("host=a,b hostaddr=127.0.0.1").contains("2 hosts but 1 hostaddr"));
        assert!(parse_err("hostaddr=db.example").contains("invalid hostaddr"));
        assert!(parse_err("connect_timeout=soon").contains("invalid connect_timeout"));
    }

    #[test]
    fn the_spec_wins_over_the_environment_and_the_environment_over_defaults() {
        let env = [
            ("PGHOST", "envhost"),
            ("PGPORT", "6000"),
            ("PGDATABASE", "envdb"),
            ("PGUSER", "envuser"),
            ("PGPASSWORD", "envpw"),
            ("PGSSLMODE", "require"),
            ("PGCONNECT_TIMEOUT", "3"),
            ("PGAPPNAME", "envapp"),
            ("PGOPTIONS", "-c x=1"),
        ];
        let t = parse_env("dbname=specdb", &env).unwrap();
        assert_eq!(t.dbname, "specdb");
        assert_eq!(t.user, "envuser");
        assert_eq!(t.endpoints[0].name, HostName::Tcp("envhost".to_owned()));
        assert_eq!(t.endpoints[0].port, 6000);
        assert_eq!(password(&t), Some("envpw"));
        assert_eq!(t.password_source, PasswordSource::Environment);
        assert_eq!(t.ssl_mode, SslMode::Require);
        assert_eq!(t.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(t.application_name, "envapp");
        assert_eq!(t.options.as_deref(), Some("-c x=1"));

        let t = parse_env(
            "postgres://u:pw@h:1/d?sslmode=disable&connect_timeout=0",
            &env,
        )
        .unwrap();
        assert_eq!((t.user.as_str(), t.dbname.as_str()), ("u", "d"));
        assert_eq!(password(&t), Some("pw"));
        assert_eq!(t.ssl_mode, SslMode::Disable);
        assert_eq!(t.connect_timeout, None);

        let err = parse_env("", &[("PGSSLMODE", "strict")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid sslmode \"strict\" in PGSSLMODE"),
            "{err}"
        );
    }

    #[test]
    fn sslrootcert_system_means_verify_full() {
        assert_eq!(parse("sslrootcert=system").ssl_mode, SslMode::VerifyFull);
        assert_eq!(parse("sslrootcert=system").root_cert, RootCert::System);
        assert!(
            parse_err("sslrootcert=system sslmode=require").contains("needs sslmode=verify-full")
        );
        assert_eq!(
            parse("sslrootcert=/x/ca.pem").root_cert,
            RootCert::File(PathBuf::from("/x/ca.pem"))
        );
        assert_eq!(parse("postgres://h?ssl=true").ssl_mode, SslMode::Require);
    }

    #[test]
    fn connect_timeout_follows_libpq() {
        assert_eq!(
            parse("connect_timeout=1").connect_timeout,
            Some(Duration::from_secs(2))
        );
        assert_eq!(parse("connect_timeout=-5").connect_timeout, None);
        assert_eq!(
            parse("connect_timeout=30").connect_timeout,
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn is_postgres_spec_tells_databases_from_files() {
        for spec in [
            "postgres://localhost/db",
            "postgresql://",
            "host=localhost",
            "dbname = traces",
            "  user=x",
            "sslmode=verify-full host=h",
            "service=x",
        ] {
            assert!(PgTarget::is_postgres_spec(spec), "{spec}");
        }
        for spec in [
            "traces.db",
            "./x=y.db",
            "C:\\x",
            "C:\\x=y",
            "postgres",
            "postgres:/x",
            "hostname=x",
            "",
            "data/host",
        ] {
            assert!(!PgTarget::is_postgres_spec(spec), "{spec}");
        }
    }

    #[test]
    fn passfile_lines_match_as_in_libpq() {
        let text = "\
# a comment:*:*:*:nope
db.example:5432:traces:bob:first
*:*:*:bob:second
localhost:*:*:carol:sock\\:et
h\\:x:5432:*:*:escaped
*:5433:*:*:trail\\\\ing
";
        let look = |h, p, d, u| passfile_lookup(text, h, p, d, u);
        assert_eq!(
            look("db.example", "5432", "traces", "bob").as_deref(),
            Some("first")
        );
        assert_eq!(look("other", "1", "x", "bob").as_deref(), Some("second"));
        assert_eq!(
            look("localhost", "5432", "x", "carol").as_deref(),
            Some("sock:et")
        );
        assert_eq!(look("h:x", "5432", "x", "dave").as_deref(), Some("escaped"));
        assert_eq!(
            look("any", "5433", "x", "erin").as_deref(),
            Some(r"trail\ing")
        );
        assert_eq!(look("# a comment", "x", "x", "x"), None);
        assert_eq!(look("any", "5432", "x", "erin"), None);
        // `\*` is a literal asterisk, not a wildcard.
        assert_eq!(passfile_lookup("\\*:*:*:*:pw\n", "h", "1", "d", "u"), None);
        assert_eq!(
            passfile_lookup("*:*:*:*:pw\r\n", "h", "1", "d", "u").as_deref(),
            Some("pw")
        );
        assert_eq!(passfile_lookup("*:*:*\n", "h", "1", "d", "u"), None);
        assert_eq!(
            passfile_lookup("*:*:*:*:a\\:b:c\n", "h", "1", "d", "u").as_deref(),
            Some("a:b")
        );
        assert_eq!(
            passfile_lookup("*:*:*:*:end\\\n", "h", "1", "d", "u").as_deref(),
            Some("end\\")
        );
    }

    #[cfg(unix)]
    fn write_passfile(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[cfg(unix)]
    #[test]
    fn the_password_file_fills_a_missing_password_per_host() {
        let dir = tempfile::tempdir().unwrap();
        write_passfile(
            dir.path(),
            ".pgpass",
            "localhost:5432:db:alice:sockpw\nother:5432:db:alice:otherpw\n",
            0o600,
        );
        let none = |_: &str| None;
        let ctx = context(&none, Some(dir.path()), Some("/run/pg"));
        // A socket directory matches `localhost`; each host takes its line.
        let t = parse_in("host=/run/pg,other,third dbname=db", &ctx)
            .ok()
            .unwrap();
        let found: Vec<Option<&str>> = t
            .endpoints
            .iter()
            .map(|e| e.file_password.as_ref().map(|s| s.0.as_str()))
            .collect();
        assert_eq!(found, [Some("sockpw"), Some("otherpw"), None]);
        assert_eq!(
            t.password_source,
            PasswordSource::File(dir.path().join(".pgpass"))
        );
        assert!(!format!("{t:?}").contains("sockpw"));
        // A password given wins and the file is not read.
        let t = parse_in("host=other dbname=db password=given", &ctx)
            .ok()
            .unwrap();
        assert_eq!(t.endpoints[0].file_password, None);
        assert_eq!(t.passfile, Passfile::NotNeeded);
        // passfile= names another file.
        let other = write_passfile(dir.path(), "other", "*:*:*:*:fromother\n", 0o400);
        let spec = format!("host=h passfile='{}'", other.display());
        let t = parse_in(&spec, &ctx).ok().unwrap();
        assert_eq!(
            t.endpoints[0].file_password,
            Some(Secret("fromother".to_owned()))
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_password_file_open_to_others_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_passfile(dir.path(), "pass", "*:*:*:*:pw\n", 0o644);
        let env = vars(&[("PGPASSFILE", path.to_str().unwrap())]);
        let lookup = move |name: &str| env.get(name).cloned();
        let ctx = context(&lookup, None, None);
        let t = parse_in("host=h", &ctx).ok().unwrap();
        assert_eq!(t.endpoints[0].file_password, None);
        let Passfile::Ignored {
            path: ignored,
            reason,
        } = &t.passfile
        else {
            panic!("{:?}", t.passfile);
        };
        assert_eq!(ignored, &path);
        assert!(reason.contains("0644"), "{reason}");
        let err = t.no_password(&t.endpoints[0]).to_string();
        assert!(err.contains("was ignored: its permissions (0644)"), "{err}");
        assert!(err.contains("chmod 0600"), "{err}");
    }

    #[test]
    fn no_password_names_where_one_could_come_from() {
        let dir = tempfile::tempdir().unwrap();
        let none = |_: &str| None;
        let ctx = context(&none, Some(dir.path()), None);
        let t = parse_in("host=h user=u", &ctx).ok().unwrap();
        let err = t.no_password(&t.endpoints[0]).to_string();
        assert!(
            err.starts_with("postgres://u@h:5432/u: the server asks for a password for user \"u\" and none was given: set PGPASSWORD"),
            "{err}"
        );
        assert!(err.contains(".pgpass"), "{err}");
    }

    #[test]
    fn display_and_debug_never_show_the_password() {
        let specs = [
            "postgres://u:s3cr%40t%3Apa%2Fss@h/db".to_owned(),
            format!("host=h password='{PASSWORD}'"),
            format!("postgres://u@h/db?password={}", "s3cr%40t%3Apa%2Fss"),
        ];
        for spec in &specs {
            let t = parse(spec);
            assert_eq!(password(&t), Some(PASSWORD));
            for shown in [t.to_string(), format!("{t:?}"), format!("{t:#?}")] {
                assert!(!shown.contains("s3cr"), "{shown}");
                assert!(!shown.contains("pa/ss"), "{shown}");
            }
            assert!(format!("{t:?}").contains("<redacted>"));
        }
        // Parse errors do not echo the password either.
        for spec in [
            "postgres://u:s3cr%zzt@h/db",
            "postgres://u:s3cr%40t@h/db?sslmod=x",
            "host=h password=s3cr@t:pa/ss port=x",
            "host=h password='s3cr@t:pa/ss",
        ] {
            let err = parse_env(spec, &[]).unwrap_err();
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains("s3cr"), "{shown}");
            }
        }
    }

    #[test]
    fn unreachable_hosts_are_summarized_in_one_line() {
        let t = parse("host=a,b");
        let attempt = |label: &str, addr: Option<&str>, cause: &str| Attempt {
            label: label.to_owned(),
            addr: addr.map(|a| a.parse().unwrap()),
            failure: Failure::Unreachable(cause.to_owned()),
        };
        let err = t.summarize(vec![
            attempt("a:5432", Some("::1"), "connection refused"),
            attempt("a:5432", Some("127.0.0.1"), "connection refused"),
        ]);
        assert_eq!(
            err.to_string(),
            "postgres://alice@a:5432,b:5432/alice: cannot connect to a:5432: \
             connection refused (at ::1, 127.0.0.1)"
        );
        let err = t.summarize(vec![
            attempt("a:5432", None, "cannot resolve the host name (x)"),
            attempt(
                "b:5432",
                Some("10.0.0.1"),
                "no answer within 10 s (connect_timeout)",
            ),
        ]);
        assert_eq!(
            err.to_string(),
            "postgres://alice@a:5432,b:5432/alice: cannot connect to a:5432, b:5432: \
             a:5432: cannot resolve the host name (x); \
             b:5432 at 10.0.0.1: no answer within 10 s (connect_timeout)"
        );
    }

    #[test]
    fn a_verify_mode_without_roots_says_what_to_pass() {
        let dir = tempfile::tempdir().unwrap();
        let none = |_: &str| None;
        let ctx = context(&none, Some(dir.path()), None);
        let t = parse_in("host=h sslmode=verify-full", &ctx).ok().unwrap();
        let err = t.tls_setup().err().unwrap().to_string();
        assert!(
            err.contains("sslmode=verify-full needs a root certificate"),
            "{err}"
        );
        assert!(err.contains("root.crt"), "{err}");
        assert!(err.contains("sslrootcert=FILE"), "{err}");
        // require without root.crt does not check, and needs no roots.
        let t = parse_in("host=h sslmode=require", &ctx).ok().unwrap();
        assert!(t.tls_setup().is_ok());
        // A root file given that does not exist is an error, not a quiet
        // downgrade.
        let t = parse_in(
            "host=h sslmode=require sslrootcert=/nonexistent/ca.crt",
            &ctx,
        )
        .ok()
        .unwrap();
        let err = t.tls_setup().err().unwrap().to_string();
        assert!(err.contains("/nonexistent/ca.crt: no such file"), "{err}");
        // Unix sockets never use TLS, so they need no roots.
        let t = parse_in("host=/run/pg sslmode=verify-full", &ctx)
            .ok()
            .unwrap();
        assert!(t.tls_setup().is_ok());
    }

    #[test]
    fn within_gives_up_at_its_limit() {
        let limit = Some(Duration::from_millis(50));
        let slow = within(limit, || thread::sleep(Duration::from_secs(2)));
        assert!(matches!(slow, Ok(None)));
        assert!(matches!(within(limit, || 7), Ok(Some(7))));
        assert!(matches!(within(None, || 7), Ok(Some(7))));
    }

    #[test]
    fn a_server_that_never_answers_times_out() {
        // The kernel completes the TCP handshake for a listener that never
        // accepts, so the client waits for an answer that does not come.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let spec = format!("host=127.0.0.1 port={port} user=u password=pw connect_timeout=2");
        let started = std::time::Instant::now();
        let err = parse(&spec).connect().err().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            err.to_string(),
            format!(
                "postgres://u@127.0.0.1:{port}/u: cannot connect to 127.0.0.1:{port}: \
                 no answer within 2 s (connect_timeout)"
            )
        );
        drop(listener);
    }

    #[test]
    fn sqlstates_have_meanings() {
        assert_eq!(sqlstate_meaning("42501"), "insufficient privilege");
        assert_eq!(sqlstate_meaning("57014"), "query canceled");
        assert_eq!(
            sqlstate_meaning("42999"),
            "syntax error or access rule violation"
        );
        assert_eq!(sqlstate_meaning("ZZ999"), "server error");
    }

    #[test]
    fn a_label_shows_the_host_as_connected() {
        let e = |name, addr: Option<&str>, port| Endpoint {
            name,
            hostaddr: addr.map(|a| a.parse().unwrap()),
            port,
            file_password: None,
        };
        assert_eq!(
            e(HostName::Unnamed, Some("10.1.2.3"), 5).label(),
            "10.1.2.3:5"
        );
        assert_eq!(e(HostName::Tcp("::1".into()), None, 5).label(), "[::1]:5");
        assert_eq!(host_of("[::1]:5"), "::1");
        assert_eq!(
            e(HostName::Socket("/tmp".into()), None, 5).passfile_host(),
            "localhost"
        );
    }
}
