//! The protobuf wire format: a message is a run of fields, each a key (field number and wire
//! type, as a varint) and a value — a varint, 8 or 4 bytes, or a length and that many bytes.

/// One field's value as it was on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wire<'a> {
    Varint(u64),
    /// A string, bytes, an embedded message, a map entry or a packed run of numbers.
    Bytes(&'a [u8]),
    Fixed64(u64),
    Fixed32(u32),
}

/// Reads the fields of one message in order.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The next field's number and value; `None` at the end of the message.
    pub(super) fn field(&mut self) -> Option<Result<(u64, Wire<'a>), String>> {
        if self.bytes.is_empty() {
            return None;
        }
        Some(self.read_field())
    }

    fn read_field(&mut self) -> Result<(u64, Wire<'a>), String> {
        let key = self.varint()?;
        let number = key >> 3;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().unwrap_or_default(),
            )),
            2 => {
                let length = usize::try_from(self.varint()?)
                    .map_err(|_| "a length beyond this machine's memory".to_owned())?;
                Wire::Bytes(self.take(length)?)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().unwrap_or_default(),
            )),
            other => return Err(format!("wire type {other} of field {number} is not known")),
        };
        Ok((number, wire))
    }

    /// A base-128 varint, least significant group first.
    pub(super) fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .bytes
                .split_first()
                .ok_or_else(|| "the body ends inside a number".to_owned())?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a number longer than 10 bytes".to_owned())
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < length {
            return Err(format!(
                "the body ends {} bytes short of a field",
                length - self.bytes.len()
            ));
        }
        let (taken, rest) = self.bytes.split_at(length);
        self.bytes = rest;
        Ok(taken)
    }

    /// Whether every byte was read.
    pub(super) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_each_wire_type_are_read() {
        // 1: varint 300; 2: "hi"; 3: fixed32 7.
        let bytes = [0x08, 0xac, 0x02, 0x12, 0x02, b'h', b'i', 0x1d, 7, 0, 0, 0];
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.field(), Some(Ok((1, Wire::Varint(300)))));
        assert_eq!(reader.field(), Some(Ok((2, Wire::Bytes(b"hi")))));
        assert_eq!(reader.field(), Some(Ok((3, Wire::Fixed32(7)))));
        assert_eq!(reader.field(), None);
    }

    #[test]
    fn a_cut_body_is_an_error() {
        let mut reader = Reader::new(&[0x12, 0x05, b'h']);
        assert!(reader.field().unwrap().is_err());
    }
}
