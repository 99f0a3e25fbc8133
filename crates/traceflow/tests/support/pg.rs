//! A real PostgreSQL server for the tests: each test makes its own database
//! (dropped when the test ends) on the server `TRACEFLOW_TEST_PG` names
//! (`.ci/postgres.sh` starts the machine's PostgreSQL 15 and sets it).

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

/// A database of the test's own.
pub struct TestDb {
    /// Its URL (the test role's password in it: never printed).
    pub url: String,
    admin: String,
    pub name: String,
}

/// The server's admin URL, or `None` (after a note) when none is set; under
/// CI (`CI` set) a missing server fails instead of being skipped.
pub fn server() -> Option<String> {
    match std::env::var("TRACEFLOW_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let why = "needs a PostgreSQL server: set TRACEFLOW_TEST_PG \
                       (eval \"$(.ci/postgres.sh)\" starts one and sets it)";
            assert!(std::env::var_os("CI").is_none(), "{why}");
            eprintln!("skipped: {why}");
            None
        }
    }
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
    pub fn create(tag: &str) -> Option<TestDb> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin = server()?;
        let name = format!(
            "tf_{tag}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        Some(TestDb {
            url: with_database(&admin, &name),
            admin,
            name,
        })
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
