//! W3C trace context: a request continues its caller's trace, and a statement can carry the
//! context to the database.
//!
//! The `traceparent` header is parsed here, strictly, rather than by an OpenTelemetry
//! propagator, so that a caller's trace id is honoured (and answered in `trace_id`) whether
//! or not spans are exported. A malformed header is ignored: the request starts a new trace,
//! as the W3C specification asks.

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId as OtelTraceId, TraceState,
};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::TraceId;

/// A parsed `traceparent` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The caller's trace.
    pub trace_id: [u8; 16],
    /// The caller's span, parent of this request's.
    pub parent_id: [u8; 8],
    /// Trace flags; bit 0 is "sampled".
    pub flags: u8,
}

impl TraceParent {
    /// Parses a version-00 header (`00-<32 hex>-<16 hex>-<2 hex>`), or a later version's
    /// header by its first four fields, as the specification asks. `None` for anything else,
    /// all-zero ids included.
    pub fn parse(header: &str) -> Option<Self> {
        let mut fields = header.trim().split('-');
        let version = hex::<1>(fields.next()?)?;
        let trace_id = hex::<16>(fields.next()?)?;
        let parent_id = hex::<8>(fields.next()?)?;
        let flags = hex::<1>(fields.next()?)?;
        let [version] = version;
        let [flags] = flags;
        // Version 00 has exactly four fields; ff is invalid; later versions may add fields.
        let rest_ok = match version {
            0 => fields.next().is_none(),
            0xff => false,
            _ => true,
        };
        let valid = rest_ok && trace_id != [0; 16] && parent_id != [0; 8];
        valid.then_some(TraceParent { trace_id, parent_id, flags })
    }
}

/// Lower-case hex of exactly `N` bytes.
fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes `span` (the request span, not yet entered) continue the caller's trace when
/// `traceparent` is valid, and returns the request's trace id: the exported span's when
/// spans are exported, else the caller's, else a new one.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>, tracestate: Option<&str>) -> TraceId {
    let parent = traceparent.and_then(TraceParent::parse);
    if let Some(parent) = parent {
        let state = tracestate.and_then(|s| s.parse::<TraceState>().ok()).unwrap_or_default();
        let remote = SpanContext::new(
            OtelTraceId::from_bytes(parent.trace_id),
            SpanId::from_bytes(parent.parent_id),
            TraceFlags::new(parent.flags),
            true,
            state,
        );
        // Fails only when no OpenTelemetry layer is installed: nothing to continue then.
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    let exported = span.context().span().span_context().trace_id();
    if exported != OtelTraceId::INVALID {
        return TraceId(to_hex(&exported.to_bytes()));
    }
    match parent {
        Some(parent) => TraceId(to_hex(&parent.trace_id)),
        None => TraceId::new(),
    }
}

/// The sqlcommenter comment carrying `span`'s trace context to the database:
/// `/*traceparent='00-<trace id>-<span id>-<flags>'*/`. Built from ids only (hex digits), so
/// it can neither end the comment nor change the statement. When spans are not exported the
/// span id is a fresh random one, so database logs still join on the trace id.
pub fn sql_comment(trace_id: &TraceId, span: &tracing::Span) -> String {
    let context = span.context();
    let exported = context.span().span_context().clone();
    let (span_id, flags) = if exported.is_valid() {
        (to_hex(&exported.span_id().to_bytes()), if exported.is_sampled() { "01" } else { "00" })
    } else {
        let random = uuid::Uuid::new_v4();
        (to_hex(random.as_bytes().get(..8).unwrap_or(&[1; 8])), "00")
    };
    format!("/*traceparent='00-{}-{span_id}-{flags}'*/", trace_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_the_specification_example() {
        let parsed = TraceParent::parse(VALID).unwrap();
        assert_eq!(to_hex(&parsed.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(to_hex(&parsed.parent_id), "00f067aa0ba902b7");
        assert_eq!(parsed.flags, 1);
    }

    #[test]
    fn refuses_malformed_headers() {
        for header in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e47'6-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(header), None, "{header:?}");
        }
        assert!(
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later").is_some()
        );
    }

    #[test]
    fn without_export_the_callers_trace_id_is_kept() {
        let span = tracing::info_span!("request");
        let id = continue_trace(&span, Some(VALID), None);
        assert_eq!(id.as_str(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(continue_trace(&span, Some("garbage"), None).as_str().len(), 32);
        let comment = sql_comment(&id, &span);
        assert!(comment.starts_with("/*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{comment}");
        assert!(
            comment.ends_with("-00'*/")
                && comment.len() == "/*traceparent='00-".len() + 32 + 1 + 16 + 1 + 2 + 3
        );
    }
}
