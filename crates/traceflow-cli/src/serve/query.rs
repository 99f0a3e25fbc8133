//! A request's query string as a command line: each parameter is the
//! command's long flag of the same name, parsed by the command's own
//! parser, so a view is a link and every option means what it means on
//! the command line.

use axum::http::StatusCode;
use axum::response::Response;
use clap::CommandFactory;

use crate::args::Cli;

/// Parameters the server sets itself: it serves one store, and the
/// route decides the format.
const THE_SERVERS: [&str; 3] = ["db", "format", "output"];

/// The command line of `command` for a query string: `key=value` becomes
/// `--key=value`, a switch (`all-metrics`, `all-metrics=true`) becomes
/// `--all-metrics` (`=false` leaves it out), repeated keys repeat the flag
/// in order, an empty value is as if the key were absent (a form's empty
/// field); `positional` comes last, after `--`. Errors are one line.
pub(super) fn argv(
    command: &str,
    query: &str,
    positional: &[String],
    format: &str,
) -> Result<Vec<String>, String> {
    let cli = Cli::command();
    let sub = cli
        .find_subcommand(command)
        .ok_or_else(|| format!("no command {command:?}"))?;
    let mut argv = vec!["traceflow".to_owned(), command.to_owned()];
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        // A flag's name only: `output%3D/path` must not become
        // `--output=/path`.
        let name_like = key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_like {
            return Err(format!(
                "{key:?} is not a parameter: parameters are the command's long flags, such as group-by"
            ));
        }
        if THE_SERVERS.contains(&key.as_ref()) {
            return Err(format!(
                "{key:?} is the server's to choose (it serves one store, and the page or /api/ route decides the format)"
            ));
        }
        let takes_value = sub
            .get_arguments()
            .find(|arg| arg.get_long() == Some(key.as_ref()))
            .map(|arg| arg.get_action().takes_values());
        match takes_value {
            // A form's field left empty.
            Some(true) if value.is_empty() => {}
            // Unknown: the parser below says so, with its suggestions.
            None | Some(true) => argv.push(format!("--{key}={value}")),
            Some(false) => match value.as_ref() {
                "" | "true" | "1" => argv.push(format!("--{key}")),
                "false" | "0" => {}
                other => {
                    return Err(format!(
                        "{key:?} is a switch: give it no value, true or false, not {other:?}"
                    ))
                }
            },
        }
    }
    argv.push(format!("--format={format}"));
    if !positional.is_empty() {
        argv.push("--".to_owned());
        argv.extend(positional.iter().cloned());
    }
    Ok(argv)
}

/// Parses a command line built by [`argv`]; a bad parameter is a 400 with
/// the parser's first line, its flags spelled as query parameters.
pub(super) fn parse(argv: &[String]) -> Result<Cli, Response> {
    let matches = Cli::command()
        .try_get_matches_from(argv)
        .map_err(|err| bad_request(&err.to_string()))?;
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
        .map_err(|err| bad_request(&err.to_string()))
}

fn bad_request(message: &str) -> Response {
    let line = super::first_line(message);
    super::status::error_response(StatusCode::BAD_REQUEST, "invalid_input", line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_the_commands_long_flags_in_order() {
        let line = argv(
            "trend",
            "group-by=day&metric=cost&metric=score.a%20b&all-metrics&window=all",
            &[],
            "json",
        )
        .unwrap();
        assert_eq!(
            line,
            [
                "traceflow",
                "trend",
                "--group-by=day",
                "--metric=cost",
                "--metric=score.a b",
                "--all-metrics",
                "--window=all",
                "--format=json"
            ]
        );
        // A value that looks like a flag stays a value.
        let line = argv("show", "", &["--help".to_owned()], "json").unwrap();
        assert_eq!(line[3..], ["--", "--help"]);
    }

    #[test]
    fn a_parameter_is_a_flags_name_and_nothing_else() {
        for key in [
            "output%3D%2Ftmp%2Fx",
            "output=",
            "--output",
            "Output",
            "db x",
            "",
            "-x",
        ] {
            let query = format!("{key}=1");
            assert!(
                argv("trend", &query, &[], "json").is_err(),
                "{query} was taken"
            );
        }
    }

    #[test]
    fn the_servers_own_parameters_and_bad_switches_are_refused() {
        assert!(argv("trend", "db=/etc/passwd", &[], "json")
            .unwrap_err()
            .contains("is the server's"));
        assert!(argv("trend", "all-metrics=maybe", &[], "json")
            .unwrap_err()
            .contains("is a switch"));
        assert_eq!(
            argv("trend", "all-metrics=false", &[], "json").unwrap(),
            ["traceflow", "trend", "--format=json"]
        );
    }
}
