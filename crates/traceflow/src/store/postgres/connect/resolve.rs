//! From a spec's settings to a [`PgTarget`]: each value from the spec,
//! else its `PG*` environment variable, else libpq's default; the host
//! list; and the password file's password for each host.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use postgres::config::{ChannelBinding, TargetSessionAttrs};

use super::passfile::{passfile_lookup, read_passfile, Passfile, PassfileRead};
use super::spec::{
    key_env, key_name, parse_keywords, parse_url, url_scheme_len, Key, Settings, SpecError,
};
use super::{
    Endpoint, HostName, PasswordSource, PgTarget, RootCert, Secret, SslMode,
    DEFAULT_APPLICATION_NAME, DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT,
};

pub(super) fn parse_in(spec: &str, context: &Context<'_>) -> Result<PgTarget, SpecError> {
    let settings = match url_scheme_len(spec) {
        Some(len) => parse_url(spec, len)?,
        None => parse_keywords(spec)?,
    };
    Resolver { settings, context }.resolve()
}

/// What parsing reads besides the spec: the environment, the home
/// directory, the OS user and the default socket directory.
pub(super) struct Context<'a> {
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) home: Option<&'a Path>,
    pub(super) os_user: Option<String>,
    pub(super) socket_dir: Option<PathBuf>,
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

/// The password given and the password file's, for a [`PgTarget`].
struct Passwords {
    password: Option<Secret>,
    password_source: PasswordSource,
    passfile: Passfile,
}

/// TLS settings, for a [`PgTarget`].
struct Tls {
    ssl_mode: SslMode,
    root_cert: RootCert,
    sni: bool,
}

/// Session settings, for a [`PgTarget`].
struct Session {
    application_name: String,
    options: Option<String>,
    target_session_attrs: TargetSessionAttrs,
    channel_binding: ChannelBinding,
}

/// TCP settings, for a [`PgTarget`].
struct Tcp {
    keepalives: Option<bool>,
    keepalives_idle: Option<Duration>,
    keepalives_interval: Option<Duration>,
    keepalives_count: Option<u32>,
    tcp_user_timeout: Option<Duration>,
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

    /// Every setting, in libpq's order: who and where, the password, TLS,
    /// then the connection's options. The first value that does not parse
    /// is the error.
    fn resolve(&self) -> Result<PgTarget, SpecError> {
        let user = self.user()?;
        let dbname = self
            .get_nonempty(Key::DbName)
            .map_or_else(|| user.clone(), |v| v.text);
        let mut endpoints = self.endpoints()?;
        let Passwords {
            password,
            password_source,
            passfile,
        } = self.passwords(&mut endpoints, &dbname, &user);
        let Tls {
            ssl_mode,
            root_cert,
            sni,
        } = self.tls()?;
        let connect_timeout = self.connect_timeout()?;
        let Session {
            application_name,
            options,
            target_session_attrs,
            channel_binding,
        } = self.session()?;
        self.refuse_unsupported()?;
        let Tcp {
            keepalives,
            keepalives_idle,
            keepalives_interval,
            keepalives_count,
            tcp_user_timeout,
        } = self.tcp()?;
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
            keepalives,
            keepalives_idle,
            keepalives_interval,
            keepalives_count,
            tcp_user_timeout,
        })
    }

    /// `user`, else the OS user, as libpq takes it.
    fn user(&self) -> Result<String, SpecError> {
        if let Some(v) = self.get_nonempty(Key::User) {
            return Ok(v.text);
        }
        let env = self.context.env;
        self.context
            .os_user
            .clone()
            .or_else(|| env("USER"))
            .or_else(|| env("LOGNAME"))
            .or_else(|| env("USERNAME"))
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                SpecError::new("cannot tell which user to connect as: give user= or set PGUSER")
            })
    }

    /// The password given, else each endpoint's from the password file
    /// (set on `endpoints`), and which of them the first host uses.
    fn passwords(&self, endpoints: &mut [Endpoint], dbname: &str, user: &str) -> Passwords {
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
            self.passfile(endpoints, dbname, user)
        };
        let password_source = match (&password_source, &passfile) {
            (PasswordSource::None, Passfile::Read(path))
                if endpoints.first().is_some_and(|e| e.file_password.is_some()) =>
            {
                PasswordSource::File(path.clone())
            }
            _ => password_source,
        };
        Passwords {
            password,
            password_source,
            passfile,
        }
    }

    /// Reads the password file (`passfile`, else the user's default) and
    /// sets each endpoint's password from it.
    fn passfile(&self, endpoints: &mut [Endpoint], dbname: &str, user: &str) -> Passfile {
        let path = match self.get_nonempty(Key::PassFile) {
            Some(v) => Some(PathBuf::from(v.text)),
            None => default_user_file(self.context, "pgpass.conf", ".pgpass"),
        };
        let Some(path) = path else {
            return Passfile::Absent(None);
        };
        match read_passfile(&path) {
            PassfileRead::Absent => Passfile::Absent(Some(path)),
            PassfileRead::Ignored(reason) => Passfile::Ignored { path, reason },
            PassfileRead::Text(text) => {
                for endpoint in endpoints {
                    endpoint.file_password = passfile_lookup(
                        &text,
                        &endpoint.passfile_host(),
                        &endpoint.port.to_string(),
                        dbname,
                        user,
                    )
                    .filter(|p| !p.is_empty())
                    .map(Secret);
                }
                Passfile::Read(path)
            }
        }
    }

    /// `sslrootcert`, `sslmode` (which the system's roots constrain) and
    /// `sslsni`.
    fn tls(&self) -> Result<Tls, SpecError> {
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
        Ok(Tls {
            ssl_mode,
            root_cert,
            sni,
        })
    }

    /// `connect_timeout`, as libpq reads it: zero or less waits forever; 1
    /// is taken as 2.
    fn connect_timeout(&self) -> Result<Option<Duration>, SpecError> {
        let Some(v) = self.get_nonempty(Key::ConnectTimeout) else {
            return Ok(Some(DEFAULT_CONNECT_TIMEOUT));
        };
        match v.text.trim().parse::<i64>() {
            Ok(secs) if secs <= 0 => Ok(None),
            Ok(secs) => Ok(Some(Duration::from_secs(secs.max(2).unsigned_abs()))),
            Err(_) => Err(v.invalid("connect_timeout", "a whole number of seconds")),
        }
    }

    /// What the session is told or asked for: its name, server options,
    /// the kind of server wanted, channel binding.
    fn session(&self) -> Result<Session, SpecError> {
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
        Ok(Session {
            application_name,
            options,
            target_session_attrs,
            channel_binding,
        })
    }

    /// Settings traceflow cannot honour except at the value it uses.
    fn refuse_unsupported(&self) -> Result<(), SpecError> {
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
        Ok(())
    }

    /// The TCP settings: keepalives and the user timeout.
    fn tcp(&self) -> Result<Tcp, SpecError> {
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
        Ok(Tcp {
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

/// The effective user's name from `/etc/passwd`, as libpq finds it; the
/// owner of `/proc/self` is the process's effective user on Linux.
pub(super) fn os_user() -> Option<String> {
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
