//! Reading a request body without ever holding more than a limit in memory.

use futures::StreamExt;
use worker::Request;

use crate::forwarding::{BodyRefusal, append_capped};

/// Why a body could not be read.
pub enum ReadError {
    Refused(BodyRefusal),
    Runtime(worker::Error),
}

/// Reads the whole body, refusing as soon as it passes `limit` bytes.
pub async fn read_capped(req: &mut Request, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut buffer = Vec::new();
    if req.inner().body().is_none() {
        return Ok(buffer);
    }
    let mut stream = req.stream().map_err(ReadError::Runtime)?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(ReadError::Runtime)?;
        append_capped(&mut buffer, &chunk, limit).map_err(ReadError::Refused)?;
    }
    Ok(buffer)
}
