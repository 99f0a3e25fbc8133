//! A real PostgreSQL server for the tests, of their own.
//!
//! The first test of a process that asks for [`server`] starts a throwaway
//! cluster: `initdb` in a new temporary directory, a free port on
//! localhost, its Unix socket in that directory, TLS with a CA made here,
//! durability off (nothing in it is worth keeping). A role for the tests
//! (`traceflow_test`, not a superuser, with a password made up now) owns
//! what the tests create. When the process ends, however it ends, a
//! watchdog stops the server and removes the directory: nothing outside it
//! is written, and no cluster of the machine's is started or configured.
//!
//! `TRACEFLOW_TEST_PG` (a `postgres://` URL of a role that may create
//! databases and roles), with `TRACEFLOW_TEST_PG_CA` and
//! `TRACEFLOW_TEST_PG_OTHER_CA` (PEM files), points the tests at a server
//! of yours instead. PostgreSQL's programs are found through
//! `TRACEFLOW_TEST_PG_BIN`, `pg_config --bindir`, `PATH` or Debian's
//! `/usr/lib/postgresql/<version>/bin`; without them a test that needs the
//! server fails with one line saying so.
//!
//! As root (PostgreSQL refuses to run as root) the cluster runs as the
//! `postgres` user that PostgreSQL's packages create.

use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// The role the tests connect as.
const ROLE: &str = "traceflow_test";
/// The cluster's superuser, used only to make [`ROLE`].
const ADMIN: &str = "traceflow_admin";

/// A server the tests may use.
#[derive(Debug, Clone)]
pub struct Server {
    /// A `postgres://` URL of the test role, database `postgres` (the
    /// password in it: never printed).
    pub url: String,
    /// The host name to connect to (`localhost`).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// The test role.
    pub user: String,
    /// The test role's password.
    pub password: String,
    /// The CA that signed the server's certificate (PEM file).
    pub ca: PathBuf,
    /// A CA that signed nothing here (PEM file).
    pub other_ca: PathBuf,
    /// A superuser's URL, for a throwaway cluster (`None` for a server of
    /// yours).
    pub admin_url: Option<String>,
}

/// What keeps a throwaway cluster alive: the watchdog's stdin. The process
/// holds it until it exits; then the watchdog reads end of file, stops the
/// server and removes the directory.
struct Watchdog {
    _stdin: Mutex<ChildStdin>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();

/// The tests' server, started on first use; a failure, in one line, when
/// none can be had.
pub fn server() -> &'static Server {
    match SERVER.get_or_init(|| match external() {
        Some(server) => Ok(server),
        None => start(Durability::Off),
    }) {
        Ok(server) => server,
        Err(why) => panic!("this test needs PostgreSQL: {why}"),
    }
}

/// The server `TRACEFLOW_TEST_PG` names, when it is set.
fn external() -> Option<Server> {
    let url = std::env::var("TRACEFLOW_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())?;
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .expect("TRACEFLOW_TEST_PG is a postgres:// URL");
    let (userinfo, rest) = rest
        .rsplit_once('@')
        .expect("TRACEFLOW_TEST_PG has user:password@");
    let (user, password) = userinfo
        .split_once(':')
        .expect("TRACEFLOW_TEST_PG has a password");
    let hostport = rest.split(['/', '?']).next().unwrap_or(rest);
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "5432"));
    let file = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("TRACEFLOW_TEST_PG is set: set {var} to a PEM file too"))
    };
    Some(Server {
        url: url.clone(),
        host: host.to_owned(),
        port: port.parse().expect("TRACEFLOW_TEST_PG's port is a number"),
        user: user.to_owned(),
        password: password.to_owned(),
        ca: file("TRACEFLOW_TEST_PG_CA"),
        other_ca: file("TRACEFLOW_TEST_PG_OTHER_CA"),
        admin_url: None,
    })
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
fn bindir() -> Result<PathBuf, String> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|p| dir.join(p).is_file())
    };
    if let Some(dir) = std::env::var_os("TRACEFLOW_TEST_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if has_all(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "TRACEFLOW_TEST_PG_BIN ({}) has no initdb, pg_ctl and postgres",
                dir.display()
            ))
        };
    }
    let mut candidates = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    // Debian and Ubuntu keep the server's programs off PATH, one folder per
    // major version: the newest first.
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse().ok()?;
                Some((v, e.path().join("bin")))
            })
            .collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev().map(|(_, p)| p));
    }
    candidates.into_iter().find(|d| has_all(d)).ok_or_else(|| {
        "no initdb, pg_ctl and postgres found (install PostgreSQL, e.g. `apt-get install \
         postgresql-15`, or set TRACEFLOW_TEST_PG_BIN or TRACEFLOW_TEST_PG)"
            .to_owned()
    })
}

/// The output of `id` with `args`, trimmed.
fn id(args: &[&str]) -> Result<String, String> {
    let out = Command::new("id")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "id {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Who runs the cluster: this user, or `postgres` when this is root.
struct RunAs {
    /// `Some((uid, gid))` of the `postgres` user when running as root.
    other: Option<(u32, u32)>,
}

impl RunAs {
    fn find() -> Result<RunAs, String> {
        if id(&["-u"])? != "0" {
            return Ok(RunAs { other: None });
        }
        let uid = id(&["-u", "postgres"]).map_err(|_| {
            "running as root, and there is no `postgres` user to run the cluster as".to_owned()
        })?;
        let gid = id(&["-g", "postgres"])?;
        Ok(RunAs {
            other: Some((
                uid.parse().map_err(|_| format!("odd uid {uid}"))?,
                gid.parse().map_err(|_| format!("odd gid {gid}"))?,
            )),
        })
    }

    /// `program` run as the cluster's user.
    fn command(&self, program: &Path) -> Command {
        match self.other {
            None => Command::new(program),
            Some(_) => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            }
        }
    }

    /// The shell words that run a program as the cluster's user.
    fn prefix(&self) -> &'static str {
        match self.other {
            None => "",
            Some(_) => "runuser -u postgres -- ",
        }
    }

    /// Gives `path` to the cluster's user.
    fn own(&self, path: &Path) -> Result<(), String> {
        if let Some((uid, gid)) = self.other {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| format!("cannot give {} to postgres: {e}", path.display()))?;
        }
        Ok(())
    }
}

/// `n` random bytes as hex, from the system's generator.
fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A port no one listens on now.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// Writes `text` to `path` with `mode`.
fn write(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set {}'s mode: {e}", path.display()))
}

/// A CA, a certificate for localhost, 127.0.0.1 and ::1 that it signed
/// (PEM: certificate, key), and a second CA that signed nothing.
fn certificates() -> Result<(String, String, String, String), String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let err = |e: rcgen::Error| format!("cannot make the test certificates: {e}");
    let ca = |name: &str| -> Result<(String, Issuer<'static, KeyPair>), String> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().map_err(err)?;
        let cert = params.self_signed(&key).map_err(err)?;
        Ok((cert.pem(), Issuer::new(params, key)))
    };
    let (ca_pem, issuer) = ca("traceflow test CA")?;
    let (other_pem, _) = ca("some other CA")?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .map_err(err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().map_err(err)?;
    let cert = params.signed_by(&key, &issuer).map_err(err)?;
    Ok((ca_pem, cert.pem(), key.serialize_pem(), other_pem))
}

/// Whether the cluster writes durably.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync`, full-page writes and synchronous commit off: the tests'
    /// cluster, whose data is thrown away.
    Off,
    /// PostgreSQL's defaults: for benchmarks, which measure what a real
    /// server does.
    On,
}

/// Starts a throwaway cluster for this process (tried on three ports, in
/// case another program takes the free one first); it is stopped and
/// removed when the process ends. Tests use [`server`]; this is for a
/// program that runs something else against a cluster.
pub fn start(durability: Durability) -> Result<Server, String> {
    let bin = bindir()?;
    let run_as = RunAs::find()?;
    let dir = tempfile::Builder::new()
        .prefix("traceflow-pg-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary directory: {e}"))?
        // The watchdog removes it, after the server has stopped.
        .keep();
    let data = dir.join("data");
    let log = dir.join("server.log");
    // The watchdog first: from here on, the directory goes when we do.
    watch(&run_as, &bin, &data, &dir)?;
    run_as.own(&dir)?;

    let (ca, server_crt, server_key, other_ca) = certificates()?;
    write(&dir.join("ca.crt"), &ca, 0o644)?;
    write(&dir.join("other-ca.crt"), &other_ca, 0o644)?;
    write(&dir.join("server.crt"), &server_crt, 0o644)?;
    write(&dir.join("server.key"), &server_key, 0o600)?;
    run_as.own(&dir.join("server.crt"))?;
    run_as.own(&dir.join("server.key"))?;
    let admin_password = random_hex(16);
    write(&dir.join("admin.pw"), &admin_password, 0o600)?;
    run_as.own(&dir.join("admin.pw"))?;

    let out = run_as
        .command(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            ADMIN,
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .arg(format!("--pwfile={}", dir.join("admin.pw").display()))
        .output()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }

    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let conf = format!(
            "# A throwaway cluster for traceflow's tests.\n\
             port = {port}\n\
             listen_addresses = 'localhost'\n\
             unix_socket_directories = '{dir}'\n\
             ssl = on\n\
             ssl_cert_file = '{dir}/server.crt'\n\
             ssl_key_file = '{dir}/server.key'\n\
             max_connections = 200\n\
             {durability}",
            dir = dir.display(),
            durability = match durability {
                Durability::Off =>
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
                Durability::On => "",
            }
        );
        let conf_path = data.join("postgresql.auto.conf");
        write(&conf_path, &conf, 0o600)?;
        run_as.own(&conf_path)?;
        let out = run_as
            .command(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if out.status.success() {
            return with_role(port, &admin_password, &dir);
        }
        last = std::fs::read_to_string(&log).unwrap_or_default();
    }
    Err(format!(
        "the throwaway cluster did not start: {}",
        last.lines().last().unwrap_or("no log")
    ))
}

/// Makes the tests' role on the new cluster.
fn with_role(port: u16, admin_password: &str, dir: &Path) -> Result<Server, String> {
    let password = random_hex(16);
    let admin = format!(
        "host=localhost port={port} user={ADMIN} password={admin_password} dbname=postgres"
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .map_err(|e| format!("cannot reach the throwaway cluster: {e}"))?;
    client
        .batch_execute(&format!(
            "CREATE ROLE {ROLE} LOGIN CREATEDB CREATEROLE PASSWORD '{password}'"
        ))
        .map_err(|e| format!("cannot make the test role: {e}"))?;
    Ok(Server {
        admin_url: Some(format!(
            "postgres://{ADMIN}:{admin_password}@localhost:{port}/postgres"
        )),
        url: format!("postgres://{ROLE}:{password}@localhost:{port}/postgres"),
        host: "localhost".to_owned(),
        port,
        user: ROLE.to_owned(),
        password,
        ca: dir.join("ca.crt"),
        other_ca: dir.join("other-ca.crt"),
    })
}

/// Starts the process that stops the cluster at `data` and removes `dir`
/// once this process has ended (its stdin, held by this process, closes).
/// It ignores Ctrl-C, which reaches the whole foreground group, so an
/// interrupted test run still cleans up.
fn watch(run_as: &RunAs, bin: &Path, data: &Path, dir: &Path) -> Result<(), String> {
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let script = format!(
        "trap '' INT TERM HUP; read _; \
         if [ -f {data}/postmaster.pid ]; then {prefix}{pg_ctl} -D {data} -m immediate stop; fi; \
         rm -rf {dir}",
        data = quote(data),
        prefix = run_as.prefix(),
        pg_ctl = quote(&bin.join("pg_ctl")),
        dir = quote(dir),
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster's watchdog: {e}"))?;
    let stdin = child.stdin.take().ok_or("the watchdog has no stdin")?;
    WATCHDOG
        .set(Watchdog {
            _stdin: Mutex::new(stdin),
        })
        .map_err(|_| "a second cluster in one process".to_owned())
}

/// A database of the test's own on [`server`], dropped when it is.
pub struct TestDb {
    /// Its URL (the test role's password in it: never printed).
    pub url: String,
    admin: String,
    /// Its name.
    pub name: String,
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rsplit_once('/') {
        Some((head, _)) if head.contains("//") && head.len() > "postgres://".len() => head,
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDb {
    /// A new empty database, named after `tag` and the process.
    pub fn create(tag: &str) -> TestDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin = server().url.clone();
        let name = format!(
            "tf_{tag}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        TestDb {
            url: with_database(&admin, &name),
            admin,
            name,
        }
    }

    /// A plain client on the database (the test role).
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    /// A count from `sql`.
    pub fn count(&self, sql: &str) -> i64 {
        self.client().query_one(sql, &[]).unwrap().get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) else {
            return;
        };
        // An autovacuum worker on the database can be ended by a superuser
        // only, and finishes soon on a test's few rows: try again.
        for _ in 0..50 {
            let dropped = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
            if dropped.is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        eprintln!("note: could not drop the test database {}", self.name);
    }
}
