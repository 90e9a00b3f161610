//! Reading PostgreSQL's binary wire forms: big-endian integers and floats, length-prefixed and
//! NUL-terminated strings. Every read is checked; running short is `None`, never a panic.

/// A cursor over one value's bytes.
pub(crate) struct Reader<'a>(&'a [u8]);

macro_rules! read_be {
    ($($name:ident: $ty:ty),* $(,)?) => {$(
        pub(crate) fn $name(&mut self) -> Option<$ty> {
            Some(<$ty>::from_be_bytes(self.array()?))
        }
    )*};
}

impl<'a> Reader<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        Reader(raw)
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    read_be!(u8: u8, u16: u16, i16: i16, u32: u32, i32: i32, u64: u64, i64: i64, f64: f64);

    /// A count from an `int32` field; negative counts are malformed.
    pub(crate) fn count(&mut self) -> Option<usize> {
        usize::try_from(self.i32()?).ok()
    }

    /// An `int32` length and that many bytes; `None` inside for length -1 (SQL NULL).
    pub(crate) fn field(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len < 0 {
            return Some(None);
        }
        Some(Some(self.take(usize::try_from(len).ok()?)?))
    }

    /// A NUL-terminated UTF-8 string.
    pub(crate) fn cstr(&mut self) -> Option<&'a str> {
        let end = self.0.iter().position(|&b| b == 0)?;
        let s = std::str::from_utf8(self.take(end)?).ok()?;
        self.take(1)?;
        Some(s)
    }

    /// Whatever is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }

    /// Whether every byte was read; trailing bytes mean the layout was not what was expected.
    pub(crate) fn done(&self) -> bool {
        self.0.is_empty()
    }
}
