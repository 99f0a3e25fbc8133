//! The html report (being written).

use std::io;

use super::SuiteExporter;
use crate::trend::SuiteReport;

pub(super) struct HtmlExporter;

impl SuiteExporter for HtmlExporter {
    fn write_suite(&self, _suite: &SuiteReport, _out: &mut dyn io::Write) -> io::Result<()> {
        Err(io::Error::other("html output is not written yet"))
    }
}
