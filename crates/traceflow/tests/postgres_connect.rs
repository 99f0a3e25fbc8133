//! Connecting to a real PostgreSQL server: each sslmode, the certificate
//! checks, the password's sources and the errors a failed connection gives.
//!
//! The server is the throwaway cluster `traceflow_testkit::pg` starts (a
//! role with a password, a CA that signed the server's certificate and one
//! that signed nothing); without PostgreSQL installed each test fails
//! saying so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use traceflow::store::postgres::connect::{describe, ConnectError, PasswordSource, PgTarget};

/// The tests' server (traceflow_testkit starts a throwaway cluster), with
/// an empty home directory of the test's own.
struct Server {
    url: String,
    host: String,
    port: u16,
    user: String,
    password: String,
    dbname: String,
    /// An empty home directory (no `.pgpass`, no `.postgresql/root.crt`).
    dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
}

fn server() -> Server {
    let pg = traceflow_testkit::pg::server();
    Server {
        url: pg.url.clone(),
        host: pg.host.clone(),
        port: pg.port,
        user: pg.user.clone(),
        password: pg.password.clone(),
        dbname: "postgres".to_owned(),
        dir: tempfile::tempdir().unwrap(),
        ca: pg.ca.clone(),
        other_ca: pg.other_ca.clone(),
    }
}

impl Server {
    fn home(&self) -> &Path {
        self.dir.path()
    }

    fn ca(&self) -> &Path {
        &self.ca
    }

    fn other_ca(&self) -> &Path {
        &self.other_ca
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
    let server = server();
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
    let server = server();
    for mode in ["require", "prefer", "allow"] {
        let mut client = server
            .connect(&server.spec(&format!("sslmode={mode}")))
            .unwrap();
        assert!(uses_tls(&mut client), "sslmode={mode}");
    }
}

#[test]
fn the_url_form_connects() {
    let server = server();
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
    let server = server();
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
    let server = server();
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
    let server = server();
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
    let server = server();
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
    let server = server();
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
    let server = server();
    let err = server.connect_err(&server.spec_without_password("sslmode=disable"), &[]);
    assert!(matches!(err, ConnectError::AuthFailed { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("none was given"), "{text}");
    assert!(text.contains("PGPASSWORD"), "{text}");
    assert!(text.contains(".pgpass"), "{text}");
}

#[test]
fn a_missing_database_is_named() {
    let server = server();
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
    let server = server();
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
    let server = server();
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
    let server = server();
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
    let server = server();
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

#[test]
fn an_idle_transaction_ended_by_the_server_says_why() {
    let server = server();
    for mode in ["sslmode=disable", "sslmode=require"] {
        let mut client = server.connect(&server.spec(mode)).unwrap();
        client
            .batch_execute("SET idle_in_transaction_session_timeout = 200; BEGIN")
            .unwrap();
        std::thread::sleep(Duration::from_millis(800));
        let err = client.simple_query("SELECT 1").unwrap_err();
        let text = describe(&err);
        assert!(
            text.contains("idle-in-transaction timeout"),
            "{mode}: {text}"
        );
        server.assert_no_password(&text);
    }
}

/// A loopback server that answers each of `connections` connections with
/// `answer` (after reading what the client sent first) and then holds it
/// open for `hold`; its port.
fn not_postgres(answer: &'static [u8], hold: Duration, connections: usize) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { return };
            let mut first = [0u8; 4096];
            let _ = stream.read(&mut first);
            let _ = stream.write_all(answer);
            std::thread::sleep(hold);
        }
    });
    port
}

#[test]
fn a_server_that_is_not_postgresql_is_named_as_such() {
    let server = server();
    // A web server answers the startup with HTTP.
    let port = not_postgres(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        Duration::from_secs(1),
        4,
    );
    let err = server.connect_err(
        &format!("host=127.0.0.1 port={port} user=u password=pw dbname=d sslmode=disable"),
        &[],
    );
    let text = err.to_string();
    assert!(text.contains("not PostgreSQL's protocol"), "{text}");
}
