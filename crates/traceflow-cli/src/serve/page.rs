//! The pages: the HTML reports, each with a bar of the server's own on
//! top — links between the views, and a form whose fields are the
//! command's flags, so choosing a grouping or a window is a GET of the
//! same page with those parameters (a link someone can share).

use maud::{html, Markup};

/// A view: its path, its name, and the flags its form offers (each a text
/// field, or a switch).
struct View {
    path: &'static str,
    name: &'static str,
    command: &'static str,
    fields: &'static [(&'static str, Field)],
}

#[derive(Clone, Copy)]
enum Field {
    Text(&'static str),
    Switch,
}

const VIEWS: [View; 3] = [
    View {
        path: "/",
        name: "Trend",
        command: "trend",
        fields: &[
            (
                "group-by",
                Field::Text("trace, hour, day, week, run, config.KEY"),
            ),
            ("window", Field::Text("runs, or all")),
            ("since", Field::Text("14d, 2026-11-01")),
            ("metric", Field::Text("pass-rate, cost, score.NAME")),
            ("segment-by", Field::Text("model, mode, config.KEY")),
            ("case-by", Field::Text("input, case, config.KEY")),
            ("all-metrics", Field::Switch),
        ],
    },
    View {
        path: "/cases",
        name: "Cases",
        command: "cases",
        fields: &[
            (
                "group-by",
                Field::Text("trace, hour, day, week, run, config.KEY"),
            ),
            ("window", Field::Text("runs, or all")),
            ("case-by", Field::Text("input, case, config.KEY")),
            ("evaluation", Field::Text("an imported evaluation")),
            ("all", Field::Switch),
        ],
    },
    View {
        path: "/compare",
        name: "Compare",
        command: "compare",
        fields: &[
            ("baseline", Field::Text("config.branch=main")),
            ("candidate", Field::Text("config.branch=pr-42")),
            (
                "group-by",
                Field::Text("trace, hour, day, week, run, config.KEY"),
            ),
            ("case-by", Field::Text("input, case, config.KEY")),
        ],
    },
];

/// The report `html` of `command` with the bar inserted after `<body>`;
/// `query` the request's, to fill the form in.
pub(super) fn decorate(html: &[u8], command: &str, query: &str) -> Vec<u8> {
    let Some(view) = VIEWS.iter().find(|v| v.command == command) else {
        return html.to_vec();
    };
    let Some(at) = find(html, b"<body>").map(|k| k + b"<body>".len()) else {
        return html.to_vec();
    };
    // Shown as the reports show store text: printable, no bidirectional
    // override (maud escapes the rest).
    let given: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            (
                k.into_owned(),
                traceflow::report::terminal::printable(&v).into_owned(),
            )
        })
        .collect();
    let bar = bar(view, &given).into_string();
    let mut page = Vec::with_capacity(html.len() + bar.len());
    page.extend_from_slice(&html[..at]);
    page.extend_from_slice(bar.as_bytes());
    page.extend_from_slice(&html[at..]);
    page
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The links and the form. Every value shown came from the request and is
/// escaped by maud's splices.
fn bar(view: &View, given: &[(String, String)]) -> Markup {
    let value = |name: &str| {
        given
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    html! {
        nav style="font: 14px system-ui, sans-serif; padding: 8px 16px; background: #f6f8fa; border-bottom: 1px solid #d0d7de" {
            strong { "traceflow" }
            @for other in &VIEWS {
                " · "
                @if other.path == view.path {
                    b { (other.name) }
                } @else {
                    a href=(other.path) { (other.name) }
                }
            }
            " · "
            a href={ "/api/" (if view.command == "list" { "traces" } else { view.command }) } { "JSON" }
            form method="get" action=(view.path) style="margin-top: 6px" {
                @for (name, field) in view.fields {
                    @match field {
                        Field::Text(hint) => {
                            @let values = value(name);
                            @let shown = values.first().copied().unwrap_or("");
                            label style="margin-right: 10px" {
                                (name) " "
                                input type="text" name=(name) value=(shown) placeholder=(hint) size="14";
                            }
                            // A repeated flag's later values ride along.
                            @for extra in values.iter().skip(1) {
                                input type="hidden" name=(name) value=(extra);
                            }
                        }
                        Field::Switch => {
                            @let on = value(name).iter().any(|v| matches!(*v, "" | "true" | "1"));
                            label style="margin-right: 10px" {
                                input type="checkbox" name=(name) value="true" checked[on];
                                " " (name)
                            }
                        }
                    }
                }
                button type="submit" { "Show" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_goes_after_body_and_escapes_what_the_request_said() {
        let page = b"<html><head></head><body><h1>r</h1></body></html>".to_vec();
        let out = decorate(
            &page,
            "trend",
            "window=%22%3E%3Cscript%3Ex&metric=a&metric=b",
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("<html><head></head><body><nav"), "{text}");
        assert!(text.ends_with("</nav><h1>r</h1></body></html>"), "{text}");
        assert!(!text.contains("<script"), "{text}");
        assert!(
            text.contains("value=\"&quot;&gt;&lt;script&gt;x\""),
            "{text}"
        );
        assert!(
            text.contains("type=\"hidden\" name=\"metric\" value=\"b\""),
            "{text}"
        );
    }
}
