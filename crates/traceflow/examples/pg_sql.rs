//! Prints the SQL the team database answers an analysis with, for
//! `bench/postgres.py` to run through `psql` as the floor (and for a DBA's
//! `EXPLAIN`): `pg_sql heads [--labels]` or `pg_sql facts`, as
//! for a window larger than the facts query names traces for.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let sql = match args.first().map(String::as_str) {
        Some("heads") => traceflow::store::postgres::heads_sql(&traceflow::store::HeadsQuery {
            labels: has("--labels"),
            ..traceflow::store::HeadsQuery::default()
        }),
        Some("facts") => traceflow::store::postgres::facts_sql(false),
        _ => {
            eprintln!("usage: pg_sql heads [--labels] | facts");
            std::process::exit(2);
        }
    };
    println!("{sql};");
}
