//! Masks over character strings: redact, partial (and last-four), email, keyed hash.
//!
//! All of them return text of the dialect's string type and pass NULL through.

use sha2::{Digest as _, Sha256};

use super::sql::{hex, unless_null};
use super::{ColumnType, Mask, MaskError};

fn require_text(m: &Mask<'_>) -> Result<(), MaskError> {
    if m.column_type == ColumnType::Text { Ok(()) } else { Err(m.mismatch()) }
}

/// Every character replaced by `*`; the length stays visible (that is the mask's contract).
pub(super) fn redact(m: &Mask<'_>) -> Result<String, MaskError> {
    require_text(m)?;
    let d = m.dialect.rules();
    Ok(unless_null(m.column, &d.stars(&d.char_len(m.column))))
}

/// Keeps `first` characters at the start and `last` at the end, the middle replaced by as many
/// `*` as it had characters. A value too short to hide anything between the two ends is
/// redacted entirely: otherwise `partial(0, 4)` would print a 4-digit PIN in clear.
pub(super) fn partial(m: &Mask<'_>, first: u16, last: u16) -> Result<String, MaskError> {
    require_text(m)?;
    let (d, c) = (m.dialect.rules(), m.column);
    let (first, last) = (u32::from(first), u32::from(last));
    let len = d.char_len(c);
    let keep = first + last;
    let middle = d.stars(&format!("{len} - {keep}"));
    let kept = d.concat(&[&d.left(c, first), &middle, &d.right(c, last)]);
    let body = format!("CASE WHEN {len} > {keep} THEN {kept} ELSE {} END", d.stars(&len));
    Ok(unless_null(c, &body))
}

/// `jane.doe@acme.example` → `j***@acme.example`. Anything that is not one non-empty local part,
/// one `@` and a non-empty domain is redacted entirely (length kept): guessing at the shape of
/// malformed values could reveal them.
pub(super) fn email(m: &Mask<'_>) -> Result<String, MaskError> {
    require_text(m)?;
    let (d, c) = (m.dialect.rules(), m.column);
    let marker = m.literal("***@")?;
    let masked = d.concat(&[&d.left(c, 1), &marker, &d.after_at(c)]);
    let body = format!(
        "CASE WHEN {c} LIKE '_%@_%' AND {c} NOT LIKE '%@%@%' THEN {masked} ELSE {} END",
        d.stars(&d.char_len(c))
    );
    Ok(unless_null(c, &body))
}

/// HMAC-SHA256 of the value's bytes under the datasource secret, as 64 lower-case hex digits:
/// equal values stay equal (joins and GROUP BY still work), nothing else is revealed, and
/// without the secret a dictionary of likely values cannot be hashed to match.
///
/// HMAC is assembled from the plain SHA-256 every dialect but SQLite has built in
/// (`H((K ^ opad) || H((K ^ ipad) || m))`, RFC 2104): the padded keys are computed here and
/// rendered as hex byte literals, so PostgreSQL needs no `pgcrypto` and MySQL needs no HMAC
/// function. The rendered SQL therefore carries key material and must not be logged; errors never
/// carry it. SQL Server hashes the column's own bytes, UTF-16 for `nvarchar`, so its digests
/// differ from other dialects' for the same text (they stay consistent within the datasource).
/// SQLite has no hash function: refused rather than faked with something reversible.
pub(super) fn keyed_hash(m: &Mask<'_>, secret: &str) -> Result<String, MaskError> {
    require_text(m)?;
    let (ipad, opad) = hmac_pads(secret.as_bytes());
    let (ipad, opad) = (hex(&ipad), hex(&opad));
    m.dialect.rules().keyed_hash(m.column, &ipad, &opad).map_err(|reason| m.unsupported(reason))
}

/// The inner and outer HMAC-SHA256 keys: the secret (hashed first when longer than the 64-byte
/// block), zero-padded to the block, XORed with 0x36 and 0x5c.
fn hmac_pads(secret: &[u8]) -> ([u8; 64], [u8; 64]) {
    let mut block = [0u8; 64];
    let hashed;
    let key: &[u8] = if secret.len() > 64 {
        hashed = Sha256::digest(secret);
        &hashed
    } else {
        secret
    };
    block.iter_mut().zip(key).for_each(|(b, k)| *b = *k);
    (block.map(|b| b ^ 0x36), block.map(|b| b ^ 0x5c))
}

#[cfg(test)]
pub(super) fn hmac_hex_for_tests(secret: &[u8], message: &str) -> String {
    let (ipad, opad) = hmac_pads(secret);
    let inner = Sha256::new().chain_update(ipad).chain_update(message).finalize();
    hex(&Sha256::new().chain_update(opad).chain_update(inner).finalize())
}
