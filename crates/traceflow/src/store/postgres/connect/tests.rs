//! The unit tests: parsing, the environment and defaults, the password
//! file, messages, and timeouts.

use std::collections::HashMap;

use super::describe::sqlstate_meaning;
use super::passfile::passfile_lookup;
use super::*;

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
    let t = parse("postgresql://bob:pw@db.example:6543/traces?sslmode=require&application_name=ci");
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
    assert!(parse_err("postgres://h/db%zz").contains("invalid percent-encoding (at character 16)"));
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
    assert!(parse_err("host=h sslmode=requir").contains("invalid sslmode \"requir\" in sslmode="));
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
    assert!(parse_err("sslrootcert=system sslmode=require").contains("needs sslmode=verify-full"));
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
             no answer within 2 s (connect_timeout); a server that is not PostgreSQL, or a \
             firewall that drops the packets, is silent too"
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
