//! Connecting to a real PostgreSQL server: each sslmode, the certificate
//! checks, the password's sources and the errors a failed connection gives.
//!
//! The server is named by `TRACEFLOW_TEST_PG` (a `postgres://` URL of a
//! role with a password), its CA by `TRACEFLOW_TEST_PG_CA` and a CA that
//! signed nothing by `TRACEFLOW_TEST_PG_OTHER_CA` (each a PEM file, or PEM
//! text); `.ci/postgres.sh` sets them up. Without `TRACEFLOW_TEST_PG` each
//! test says it is skipped and passes, unless `CI` is set: then it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use traceflow::store::postgres::connect::{describe, ConnectError, PasswordSource, PgTarget};

/// The test server, as `TRACEFLOW_TEST_PG` and its CA variables give it.
struct Server {
    url: String,
    host: String,
    port: u16,
    user: String,
    password: String,
    dbname: String,
    /// Holds the CA files written from PEM text, and serves as an empty
    /// home directory (no `.pgpass`, no `.postgresql/root.crt`).
    dir: tempfile::TempDir,
    ca: Option<PathBuf>,
    other_ca: Option<PathBuf>,
}

/// The server, or `None` (after a note) when `TRACEFLOW_TEST_PG` is unset;
/// with `CI` set, an unset server is a failure.
fn server(test: &str) -> Option<Server> {
    let url = match std::env::var("TRACEFLOW_TEST_PG") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: TRACEFLOW_TEST_PG is not set, and CI is: the PostgreSQL tests must run"
            );
            eprintln!("skipping {test}: TRACEFLOW_TEST_PG is not set");
            return None;
        }
    };
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .expect("TRACEFLOW_TEST_PG is a postgres:// URL");
    let (userinfo, rest) = rest.rsplit_once('@').expect("the URL has user:password@");
    let (user, password) = userinfo.split_once(':').expect("the URL has a password");
    let (hostport, dbname) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "5432"));
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_file(dir.path(), "TRACEFLOW_TEST_PG_CA", "ca.crt");
    let other_ca = ca_file(dir.path(), "TRACEFLOW_TEST_PG_OTHER_CA", "other-ca.crt");
    Some(Server {
        url: url.clone(),
        host: host.to_owned(),
        port: port.parse().expect("a port number"),
        user: user.to_owned(),
        password: password.to_owned(),
        dbname: dbname.split('?').next().unwrap_or("postgres").to_owned(),
        dir,
        ca,
        other_ca,
    })
}

/// A CA variable's file: the path it holds, or its PEM text written out.
fn ca_file(dir: &Path, var: &str, name: &str) -> Option<PathBuf> {
    let value = std::env::var(var).ok().filter(|v| !v.is_empty())?;
    if value.trim_start().starts_with("-----BEGIN") {
        let path = dir.join(name);
        std::fs::write(&path, value).unwrap();
        Some(path)
    } else {
        Some(PathBuf::from(value))
    }
}

impl Server {
    fn home(&self) -> &Path {
        self.dir.path()
    }

    fn ca(&self) -> &Path {
        self.ca
            .as_deref()
            .expect("TRACEFLOW_TEST_PG_CA names the server's CA")
    }

    fn other_ca(&self) -> &Path {
        self.other_ca
            .as_deref()
            .expect("TRACEFLOW_TEST_PG_OTHER_CA names another CA")
    }

    /// A key=value spec for the server with its password, plus `extra`.
    fn spec(&self, extra: &str) -> String {
        format!(
            "host={} port={} user={} password='{}' dbname={} {extra}",
            self.host, self.port, self.user, self.password, self.dbname
        )
    }

    /// The same without the password.
    fn spec_without_password(&self, extra: &str) -> String {
        format!(
            "host={} port={} user={} dbname={} {extra}",
            self.host, self.port, self.user, self.dbname
        )
    }

    /// Parses with only the variables given, and the empty home.
    fn parse(&self, spec: &str, env: &[(&str, &str)]) -> Result<PgTarget, ConnectError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        PgTarget::parse_with(spec, &move |name| env.get(name).cloned(), Some(self.home()))
    }

    fn connect(&self, spec: &str) -> Result<postgres::Client, ConnectError> {
        self.parse(spec, &[]).unwrap().connect()
    }

    /// The error connecting with `spec` gives, checked for the password.
    fn connect_err(&self, spec: &str, env: &[(&str, &str)]) -> ConnectError {
        let target = self.parse(spec, env).unwrap();
        let err = match target.connect() {
            Ok(_) => panic!("connecting to {target} worked"),
            Err(err) => err,
        };
        self.assert_no_password(&err.to_string());
        self.assert_no_password(&format!("{err:?}"));
        err
    }

    fn assert_no_password(&self, text: &str) {
        assert!(
            !text.contains(&self.password),
            "the password shows in: {text}"
        );
    }
}

/// Whether the connection uses TLS, as the server sees it.
fn uses_tls(client: &mut postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
}

#[cfg(unix)]
fn write_mode(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn sslmode_disable_connects_without_tls() {
    let Some(server) = server("sslmode_disable_connects_without_tls") else {
        return;
    };
    let mut client = server.connect(&server.spec("sslmode=disable")).unwrap();
    assert!(!uses_tls(&mut client));
    let name: String = client
        .query_one("SELECT current_setting('application_name')", &[])
        .unwrap()
        .get(0);
    assert_eq!(name, "traceflow");
}

#[test]
fn sslmode_require_and_prefer_connect_with_tls() {
    let Some(server) = server("sslmode_require_and_prefer_connect_with_tls") else {
        return;
    };
    for mode in ["require", "prefer", "allow"] {
        let mut client = server
            .connect(&server.spec(&format!("sslmode={mode}")))
            .unwrap();
        assert!(uses_tls(&mut client), "sslmode={mode}");
    }
}

#[test]
fn the_url_form_connects() {
    let Some(server) = server("the_url_form_connects") else {
        return;
    };
    let url = format!("{}?sslmode=require&application_name=url-test", server.url);
    let target = server.parse(&url, &[]).unwrap();
    server.assert_no_password(&target.to_string());
    server.assert_no_password(&format!("{target:?}"));
    let mut client = target.connect().unwrap();
    let name: String = client
        .query_one("SELECT current_setting('application_name')", &[])
        .unwrap()
        .get(0);
    assert_eq!(name, "url-test");
}

#[test]
fn verify_ca_and_verify_full_accept_the_servers_ca() {
    let Some(server) = server("verify_ca_and_verify_full_accept_the_servers_ca") else {
        return;
    };
    for mode in ["verify-ca", "verify-full"] {
        let spec = server.spec(&format!(
            "sslmode={mode} sslrootcert='{}'",
            server.ca().display()
        ));
        let mut client = server.connect(&spec).unwrap();
        assert!(uses_tls(&mut client), "sslmode={mode}");
    }
    // require with a root certificate checks the chain, as libpq does.
    let spec = server.spec(&format!(
        "sslmode=require sslrootcert='{}'",
        server.other_ca().display()
    ));
    assert!(matches!(
        server.connect_err(&spec, &[]),
        ConnectError::Tls { .. }
    ));
}

#[test]
fn verify_full_with_another_ca_is_a_tls_error() {
    let Some(server) = server("verify_full_with_another_ca_is_a_tls_error") else {
        return;
    };
    let spec = server.spec(&format!(
        "sslmode=verify-full sslrootcert='{}'",
        server.other_ca().display()
    ));
    let err = server.connect_err(&spec, &[]);
    assert!(matches!(err, ConnectError::Tls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("the server's certificate is not signed by a trusted CA"),
        "{text}"
    );
    assert!(text.contains("other-ca.crt"), "{text}");
}

#[test]
fn verify_full_checks_an_ip_address() {
    let Some(server) = server("verify_full_checks_an_ip_address") else {
        return;
    };
    let spec = format!(
        "host=127.0.0.1 port={} user={} password='{}' dbname={} sslmode=verify-full sslrootcert='{}'",
        server.port,
        server.user,
        server.password,
        server.dbname,
        server.ca().display()
    );
    let mut client = server.connect(&spec).unwrap();
    assert!(uses_tls(&mut client));
}

#[test]
fn verify_ca_ignores_the_host_name_and_verify_full_does_not() {
    let Some(server) = server("verify_ca_ignores_the_host_name_and_verify_full_does_not") else {
        return;
    };
    let spec = |mode: &str| {
        format!(
            "host=db.invalid hostaddr=127.0.0.1 port={} user={} password='{}' dbname={} \
             sslmode={mode} sslrootcert='{}'",
            server.port,
            server.user,
            server.password,
            server.dbname,
            server.ca().display()
        )
    };
    let mut client = server.connect(&spec("verify-ca")).unwrap();
    assert!(uses_tls(&mut client));
    let err = server.connect_err(&spec("verify-full"), &[]);
    assert!(matches!(err, ConnectError::Tls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("is not valid for the name db.invalid"),
        "{text}"
    );
}

#[test]
fn a_wrong_password_is_an_authentication_error() {
    let Some(server) = server("a_wrong_password_is_an_authentication_error") else {
        return;
    };
    let spec = format!(
        "postgres://{}:wr%40ng%3Apw:x@{}:{}/{}?sslmode=disable",
        server.user, server.host, server.port, server.dbname
    );
    let target = server.parse(&spec, &[]).unwrap();
    let Err(err) = target.connect() else {
        panic!("a wrong password was accepted");
    };
    assert!(matches!(err, ConnectError::AuthFailed { .. }), "{err:?}");
    for shown in [
        err.to_string(),
        format!("{err:?}"),
        target.to_string(),
        format!("{target:?}"),
    ] {
        for secret in ["wr@ng", "wr%40ng", "pw:x", "%3Apw"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "password authentication failed for user \"{}\"",
            server.user
        )),
        "{text}"
    );
    assert!(text.contains("from the connection string"), "{text}");
}

#[test]
fn no_password_at_all_says_where_one_could_come_from() {
    let Some(server) = server("no_password_at_all_says_where_one_could_come_from") else {
        return;
    };
    let err = server.connect_err(&server.spec_without_password("sslmode=disable"), &[]);
    assert!(matches!(err, ConnectError::AuthFailed { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("none was given"), "{text}");
    assert!(text.contains("PGPASSWORD"), "{text}");
    assert!(text.contains(".pgpass"), "{text}");
}

#[test]
fn a_missing_database_is_named() {
    let Some(server) = server("a_missing_database_is_named") else {
        return;
    };
    let spec = format!(
        "{} dbname=traceflow_no_such_database",
        server.spec("sslmode=disable")
    );
    let err = server.connect_err(&spec, &[]);
    assert!(matches!(err, ConnectError::NoDatabase { .. }), "{err:?}");
    assert!(
        err.to_string()
            .ends_with("database \"traceflow_no_such_database\" does not exist"),
        "{err}"
    );
}

#[test]
fn a_server_that_is_down_fails_quickly() {
    let Some(server) = server("a_server_that_is_down_fails_quickly") else {
        return;
    };
    let started = Instant::now();
    let err = server.connect_err("host=127.0.0.1 port=1 user=u password=pw dbname=d", &[]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(err, ConnectError::Unreachable { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "postgres://u@127.0.0.1:1/d: cannot connect to 127.0.0.1:1: connection refused"
    );
}

#[test]
fn pgpassword_comes_from_the_environment() {
    let Some(server) = server("pgpassword_comes_from_the_environment") else {
        return;
    };
    let target = server
        .parse(
            &server.spec_without_password("sslmode=require"),
            &[("PGPASSWORD", &server.password)],
        )
        .unwrap();
    assert_eq!(target.password_source(), PasswordSource::Environment);
    server.assert_no_password(&format!("{target:?}"));
    target.connect().unwrap();

    let err = server.connect_err(
        &server.spec_without_password("sslmode=disable"),
        &[("PGPASSWORD", "not-the-password")],
    );
    assert!(
        err.to_string()
            .contains("the password came from PGPASSWORD"),
        "{err}"
    );
    assert!(!err.to_string().contains("not-the-password"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_password_file_is_used_only_when_private() {
    let Some(server) = server("a_password_file_is_used_only_when_private") else {
        return;
    };
    let line = format!(
        "# the test server\n{}:{}:*:{}:{}\n",
        server.host, server.port, server.user, server.password
    );
    let private = server.home().join("private.pgpass");
    write_mode(&private, &line, 0o600);
    let spec =
        server.spec_without_password(&format!("sslmode=disable passfile='{}'", private.display()));
    let target = server.parse(&spec, &[]).unwrap();
    assert_eq!(target.password_source(), PasswordSource::File(private));
    server.assert_no_password(&format!("{target:?}"));
    target.connect().unwrap();

    let open = server.home().join("open.pgpass");
    write_mode(&open, &line, 0o644);
    let spec =
        server.spec_without_password(&format!("sslmode=disable passfile='{}'", open.display()));
    let err = server.connect_err(&spec, &[]);
    assert!(matches!(err, ConnectError::AuthFailed { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("was ignored"), "{text}");
    assert!(text.contains("0644"), "{text}");
    assert!(text.contains("chmod 0600"), "{text}");
}

#[test]
fn describe_words_query_errors() {
    let Some(server) = server("describe_words_query_errors") else {
        return;
    };
    let mut client = server.connect(&server.spec("sslmode=require")).unwrap();
    let err = client
        .simple_query("SELECT * FROM traceflow_no_such_table")
        .unwrap_err();
    assert_eq!(
        describe(&err),
        "relation \"traceflow_no_such_table\" does not exist (undefined table, SQLSTATE 42P01)"
    );
    client.batch_execute("SET statement_timeout = 50").unwrap();
    let err = client.simple_query("SELECT pg_sleep(2)").unwrap_err();
    assert_eq!(
        describe(&err),
        "canceling statement due to statement timeout (query canceled, SQLSTATE 57014)"
    );
    // The server ends the session; the next query finds it closed.
    let _ended = client.simple_query("SELECT pg_terminate_backend(pg_backend_pid())");
    let err = client.simple_query("SELECT 1").unwrap_err();
    let text = describe(&err);
    assert!(
        text == "the connection to the server is closed" || text.contains("SQLSTATE 57P01"),
        "{text}"
    );
    server.assert_no_password(&text);
}
