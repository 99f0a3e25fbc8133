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

mod describe;
mod passfile;
mod resolve;
mod spec;

pub use self::describe::describe;
use self::describe::{describe_db, io_cause};
use self::passfile::Passfile;
use self::resolve::{os_user, parse_in, Context};
use self::spec::{key_named, url_scheme_len, UNSUPPORTED_KEYS};

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
    /// starting up or shutting down, ...), as [`describe`](fn@describe) words it.
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

impl ConnectError {
    /// What kind of failure this is: an address that does not parse is
    /// the caller's to fix; the rest is the connection's.
    pub fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            ConnectError::InvalidSpec { .. } => ErrorKind::InvalidInput,
            ConnectError::Unreachable { .. }
            | ConnectError::Tls { .. }
            | ConnectError::TlsSetup { .. }
            | ConnectError::AuthFailed { .. }
            | ConnectError::NoDatabase { .. }
            | ConnectError::TooManyConnections { .. }
            | ConnectError::Refused { .. }
            | ConnectError::Other { .. } => ErrorKind::Connection,
        }
    }
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
                "no answer within {}; a server that is not PostgreSQL, or a firewall \
                 that drops the packets, is silent too",
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
            // Something answered, but not in PostgreSQL's protocol: a web
            // server, SSH, another database on the port.
            text if (text.starts_with("error communicating with the server")
                || text.starts_with("unexpected message from server"))
                && not_postgres(cause) =>
            {
                Failure::Other(format!(
                    "the answer is not PostgreSQL's protocol ({}): is a PostgreSQL server \
                     listening on that port?",
                    if cause_text.is_empty() {
                        describe(err)
                    } else {
                        cause_text
                    }
                ))
            }
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

/// Whether a connection error's cause says the peer does not speak
/// PostgreSQL's protocol: bytes it could not frame as messages, or a
/// message out of place.
fn not_postgres(cause: Option<&(dyn std::error::Error + 'static)>) -> bool {
    match cause {
        None => true,
        // tokio-util's codec says "bytes remaining on stream" when the
        // peer's bytes end mid-message (an io::Error of kind Other).
        Some(cause) => cause.downcast_ref::<io::Error>().is_none_or(|io| {
            matches!(
                io.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ) || io.to_string() == "bytes remaining on stream"
        }),
    }
}

/// The host of a `host:port` label (without an IPv6 address's brackets).
fn host_of(label: &str) -> String {
    let host = label.rsplit_once(':').map_or(label, |(host, _)| host);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
