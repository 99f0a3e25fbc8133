//! The markdown report (being written).

use std::io;

use super::SuiteExporter;
use crate::trend::SuiteReport;

pub(super) struct MarkdownExporter;

impl SuiteExporter for MarkdownExporter {
    fn write_suite(&self, _suite: &SuiteReport, _out: &mut dyn io::Write) -> io::Result<()> {
        Err(io::Error::other("markdown output is not written yet"))
    }
}
