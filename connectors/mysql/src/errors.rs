//! `mysql_async` errors -> [`ExecError`], sanitised.
//!
//! MySQL has no DETAIL field: some primary messages quote the offending value itself
//! (`Duplicate entry 'alice@example.com' for key 'PRIMARY'`). For the error numbers known to do
//! that, the quoted value is replaced by `?`.

use std::time::Duration;

use sluice_core::execute::ExecError;

/// Errors whose message quotes a row or input value.
const QUOTES_VALUE: &[u16] = &[
    1062, // ER_DUP_ENTRY
    1586, // ER_DUP_ENTRY_WITH_KEY_NAME
    1292, // ER_TRUNCATED_WRONG_VALUE
    1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    1367, // ER_ILLEGAL_VALUE_FOR_TYPE
    1411, // ER_WRONG_VALUE_FOR_TYPE
    1525, // ER_WRONG_VALUE
    1265, // WARN_DATA_TRUNCATED (an error in strict mode)
];

/// Errors that mean the statement was stopped for taking too long.
const TIMED_OUT: &[u16] = &[
    1317, // ER_QUERY_INTERRUPTED (KILL QUERY)
    1969, // MariaDB ER_STATEMENT_TIMEOUT (max_statement_time)
    3024, // MySQL ER_QUERY_TIMEOUT (max_execution_time)
];

/// Errors that mean the connection or server, not the statement, is the problem.
const CONNECTION: &[u16] = &[
    1040, // ER_CON_COUNT_ERROR
    1045, // ER_ACCESS_DENIED_ERROR (at connect)
    1049, // ER_BAD_DB_ERROR (configured database missing)
    1053, // ER_SERVER_SHUTDOWN
    1927, // MariaDB ER_CONNECTION_KILLED
    2006, // CR_SERVER_GONE_ERROR
    2013, // CR_SERVER_LOST
];

/// Replaces the value quoted in `message` (from the first `'` to the last `' for ` or, failing
/// that, the last `'`) with `?`.
fn redact(message: &str) -> String {
    let Some(first) = message.find('\'') else {
        return message.to_owned();
    };
    let end = message.rfind("' for ").or_else(|| message.rfind('\'')).filter(|&e| e > first);
    match (message.get(..=first), end.and_then(|e| message.get(e..))) {
        (Some(head), Some(tail)) => format!("{head}?{tail}"),
        _ => message.to_owned(),
    }
}

/// Maps a driver error for a statement that ran under `timeout`.
pub(crate) fn map(err: &mysql_async::Error, timeout: Duration) -> ExecError {
    match err {
        mysql_async::Error::Server(e) if TIMED_OUT.contains(&e.code) => ExecError::Timeout(timeout),
        mysql_async::Error::Server(e) if CONNECTION.contains(&e.code) => {
            ExecError::Unavailable(format!("{}: {}", e.code, e.message))
        }
        mysql_async::Error::Server(e) => ExecError::Upstream {
            code: Some(e.code.to_string()),
            message: if QUOTES_VALUE.contains(&e.code) { redact(&e.message) } else { e.message.clone() },
        },
        // I/O, protocol and driver errors: the connection is unusable. Their text quotes no data.
        other => ExecError::Unavailable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_quoted_values() {
        assert_eq!(
            redact("Duplicate entry 'a' for key' for key 'PRIMARY'"),
            "Duplicate entry '?' for key 'PRIMARY'"
        );
        assert_eq!(redact("Truncated incorrect DOUBLE value: 'x'"), "Truncated incorrect DOUBLE value: '?'");
        assert_eq!(redact("no quotes"), "no quotes");
    }
}
