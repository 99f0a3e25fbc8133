//! Reports of a trend: a terminal table and JSON.
//!
//! Each format is an [`Exporter`]; [`render`] picks one by [`Format`].

use std::fmt;
use std::io;
use std::str::FromStr;

use crate::trend::TraceTrendReport;

mod json;
mod table;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The proposal's terminal table.
    Table,
    /// A JSON document (see the `json` exporter for its layout).
    Json,
}

impl Format {
    /// Every format, for help texts.
    pub const ALL: &'static [Format] = &[Format::Table, Format::Json];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown format {s:?} (expected table or json)"))
    }
}

/// Writes a report as text.
trait Exporter {
    fn write(&self, report: &TraceTrendReport, out: &mut dyn io::Write) -> io::Result<()>;
}

fn exporter(format: Format) -> Box<dyn Exporter> {
    match format {
        Format::Table => Box::new(table::TableExporter),
        Format::Json => Box::new(json::JsonExporter),
    }
}

/// Writes a report in a format, streaming (a full-history report of a
/// million runs is not built in memory first); the text ends with a newline.
pub fn write(report: &TraceTrendReport, format: Format, out: &mut dyn io::Write) -> io::Result<()> {
    exporter(format).write(report, out)
}

/// Appends the text of `items[range]` to a buffer.
type RenderChunk<'r, T> = dyn Fn(&[T], std::ops::Range<usize>, &mut Vec<u8>) + Sync + 'r;

/// Items per chunk rendered by one thread.
const CHUNK_ITEMS: usize = 8192;

/// Renders `items` in chunks on every core and writes the chunks in order.
///
/// `render(items, range, buffer)` appends the text of `items[range]`; it
/// sees all items, so a row can refer to the one before it. A full-history
/// report holds a million runs, and rendering them costs more than reading
/// them. At most one chunk per core is in memory at a time.
fn write_chunked<T: Sync>(
    out: &mut dyn io::Write,
    items: &[T],
    render: &RenderChunk<'_, T>,
) -> io::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads == 1 || items.len() <= CHUNK_ITEMS {
        let mut buffer = Vec::new();
        render(items, 0..items.len(), &mut buffer);
        return out.write_all(&buffer);
    }
    let mut start = 0;
    while start < items.len() {
        let buffers: Vec<Option<Vec<u8>>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|k| start + k * CHUNK_ITEMS)
                .take_while(|&from| from < items.len())
                .map(|from| {
                    let to = (from + CHUNK_ITEMS).min(items.len());
                    scope.spawn(move || {
                        let mut buffer = Vec::with_capacity((to - from) * 128);
                        render(items, from..to, &mut buffer);
                        buffer
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().ok()).collect()
        });
        for buffer in &buffers {
            let buffer = buffer
                .as_ref()
                .ok_or_else(|| io::Error::other("a report renderer thread panicked"))?;
            out.write_all(buffer)?;
        }
        start += buffers.len() * CHUNK_ITEMS;
    }
    Ok(())
}

/// Renders a report in a format as a string.
pub fn render(report: &TraceTrendReport, format: Format) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and every exporter writes UTF-8.
    let _ = write(report, format, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The table's header alone: the verdict, the statistics behind it and
/// where the decisions came from, without a line per run.
pub fn render_verdict(report: &TraceTrendReport) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and the table is UTF-8.
    let _ = table::write_header(&mut out, report);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
