//! Reading a log from its end: where the chain stands (for the writer, which continues it),
//! the last records (`sluice audit tail`) and the lines that follow (`--follow`).

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::chain::GENESIS;
use super::error::AuditError;
use super::verify::{self, ChainEnd};

/// Bytes read from the end at first; grown until the window holds enough records, or the
/// whole file.
const FIRST_WINDOW: u64 = 256 << 10;

fn file_error(path: &Path, message: impl Into<String>) -> AuditError {
    AuditError::File { path: path.to_path_buf(), message: message.into() }
}

/// The last `size` bytes of `file` (of length `len`) from the first line that starts in
/// them, and that line's offset.
fn window(file: &mut File, len: u64, size: u64) -> io::Result<(u64, Vec<u8>)> {
    let start = len.saturating_sub(size);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    (&mut *file).take(len - start).read_to_end(&mut bytes)?;
    if start == 0 {
        return Ok((0, bytes));
    }
    // The window may start mid-line: drop everything through the first newline.
    match bytes.iter().position(|b| *b == b'\n') {
        Some(i) => {
            bytes.drain(..=i);
            Ok((start + i as u64 + 1, bytes))
        }
        None => Ok((len, Vec::new())),
    }
}

/// Newlines in the first `upto` bytes of `file`: line numbers are counted only when a
/// problem is reported, so opening a large log stays cheap.
fn count_newlines(file: &mut File, upto: u64) -> io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = (&mut *file).take(upto);
    let mut buf = vec![0u8; 1 << 16];
    let mut count = 0u64;
    loop {
        let read = reader.read(&mut buf)?;
        if read == 0 {
            return Ok(count);
        }
        count += buf.iter().take(read).filter(|b| **b == b'\n').count() as u64;
    }
}

/// Where the chain in `file` ends, after checking the end of the file: its last line must be
/// complete, and its last records must chain (the whole file, when it is small). A log that
/// fails is not continued: a new chain written after a broken one would hide the break.
pub(super) fn read_end(file: &mut File, path: &Path) -> Result<ChainEnd, AuditError> {
    let io = |e: io::Error| file_error(path, format!("cannot read: {e}"));
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok(ChainEnd { seq: 0, hash: GENESIS, checkpoint_seq: 0, records: 0 });
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1)).and_then(|_| file.read_exact(&mut last)).map_err(io)?;
    if last != [b'\n'] {
        let line = count_newlines(file, len).map_err(io)? + 1;
        return Err(file_error(
            path,
            format!(
                "line {line} is incomplete (no newline at its end): the writer stopped mid-write or the disk \
                 filled up. The chain is not continued over it: check the file with `sluice audit verify \
                 --log {}`, then remove the partial line or move the file aside",
                path.display()
            ),
        ));
    }
    let mut size = FIRST_WINDOW;
    loop {
        let (start, bytes) = window(file, len, size).map_err(io)?;
        match verify::check_window(&bytes, start == 0) {
            // Two records at least, so that one link was checked.
            Ok(end) if end.records >= 2 || start == 0 => return Ok(end),
            Ok(_) => size = size.saturating_mul(4),
            Err(mut finding) => {
                finding.line += count_newlines(file, start).map_err(io)?;
                return Err(file_error(
                    path,
                    format!(
                        "the end of the log does not verify, so the chain is not continued: {finding}. Check \
                         the file with `sluice audit verify --log {}`, and move it aside to start a new chain",
                        path.display()
                    ),
                ));
            }
        }
    }
}

/// The last `n` records of the log at `path` (checkpoint lines left out) as written, and
/// the offset just past the last complete line, where `--follow` goes on.
///
/// # Errors
/// The file cannot be read.
pub fn last_records(path: &Path, n: usize) -> Result<(Vec<String>, u64), AuditError> {
    let io = |e: io::Error| file_error(path, format!("cannot read: {e}"));
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut size = FIRST_WINDOW.min(len);
    loop {
        let (start, bytes) = window(&mut file, len, size).map_err(io)?;
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let records: Vec<&[u8]> = bytes
            .get(..complete)
            .unwrap_or_default()
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty() && !verify::is_checkpoint_line(line))
            .collect();
        if records.len() >= n || start == 0 {
            let skip = records.len().saturating_sub(n);
            let lines =
                records.into_iter().skip(skip).map(|l| String::from_utf8_lossy(l).into_owned()).collect();
            return Ok((lines, start + complete as u64));
        }
        size = size.saturating_mul(4);
    }
}

/// Calls `emit` with each record line added to the log at `path` after byte `from`, polling
/// every `poll`. Returns when `emit` fails (its reader went away).
///
/// # Errors
/// The file cannot be read, or it shrank (truncated or replaced).
pub fn follow(
    path: &Path,
    from: u64,
    poll: Duration,
    mut emit: impl FnMut(&str) -> io::Result<()>,
) -> Result<(), AuditError> {
    let io = |e: io::Error| file_error(path, format!("cannot read: {e}"));
    let mut file = File::open(path).map_err(io)?;
    let mut offset = from;
    let mut pending = Vec::new();
    loop {
        let len = file.metadata().map_err(io)?.len();
        if len < offset {
            return Err(file_error(
                path,
                format!("shrank from {offset} to {len} bytes: truncated or replaced"),
            ));
        }
        if len > offset {
            file.seek(SeekFrom::Start(offset)).map_err(io)?;
            (&mut file).take(len - offset).read_to_end(&mut pending).map_err(io)?;
            offset = len;
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let line = line.strip_suffix(b"\n").unwrap_or(&line);
                if !line.is_empty()
                    && !verify::is_checkpoint_line(line)
                    && emit(&String::from_utf8_lossy(line)).is_err()
                {
                    return Ok(());
                }
            }
        }
        std::thread::sleep(poll);
    }
}

/// One record line for people: time, seq, event, principal, datasource, kind, summary,
/// verdict, outcome, rows and trace id (`-` where the record has none).
pub fn format_record(line: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(line) else { return line.to_owned() };
    let text = |key: &str| match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".to_owned(),
        Some(other) => other.to_string(),
    };
    let summary =
        value.get("summary").and_then(Value::as_str).map_or_else(|| "-".to_owned(), |s| format!("{s:?}"));
    format!(
        "{} seq={} {:<9} principal={} datasource={} kind={} summary={} verdict={} outcome={} rows={} trace={}",
        text("at"),
        text("seq"),
        text("event"),
        text("principal"),
        text("datasource"),
        text("kind"),
        summary,
        text("verdict"),
        text("outcome"),
        text("rows"),
        text("trace_id"),
    )
}
