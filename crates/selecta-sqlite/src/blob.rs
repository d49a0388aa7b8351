//! Little-endian BLOB encodings of vectors (f32 and u32), as the schema prescribes.

use selecta_core::StoreError;

pub fn f32_to_blob(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn u32_to_blob(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Split a BLOB into 4-byte little-endian words, refusing a length that is not a multiple of 4.
fn words(bytes: &[u8], what: &str) -> Result<impl Iterator<Item = [u8; 4]>, StoreError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(StoreError::Corrupt(format!("{what} vector BLOB of {} bytes", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]))
}

pub fn blob_to_f32(bytes: &[u8]) -> Result<Vec<f32>, StoreError> {
    Ok(words(bytes, "f32")?.map(f32::from_le_bytes).collect())
}

pub fn blob_to_u32(bytes: &[u8]) -> Result<Vec<u32>, StoreError> {
    Ok(words(bytes, "u32")?.map(u32::from_le_bytes).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let v = [1.5f32, -0.25, 3.0e-7];
        assert_eq!(blob_to_f32(&f32_to_blob(&v)).expect("f32"), v);
        let u = [0u32, 7, u32::MAX];
        assert_eq!(blob_to_u32(&u32_to_blob(&u)).expect("u32"), u);
        assert!(blob_to_f32(&[1, 2, 3]).is_err());
    }
}
