//! Cursor pagination (CONTRACT §4): `limit` 1–100 (default 20), `order`
//! `desc` (default) or `asc`, and an opaque `cursor` from
//! `meta.next_cursor`.
//!
//! Pages are keyset pages on each table's insertion position, so a page
//! costs the same anywhere in a list and a walk sees every row once. A
//! cursor is the position of the last row shown plus an HMAC-SHA256 tag
//! (truncated to 96 bits) over the position, the list it belongs to and the
//! order, keyed by the server secret: a tampered cursor, or one from another
//! list, is `400 invalid_request` with `param: cursor`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use utoipa::IntoParams;

use crate::api::envelope::Page;
use crate::error::{Error, Result};
use crate::store::{Keyed, Order, PageRequest};

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;
/// Bytes of HMAC tag kept in a cursor.
const TAG_BYTES: usize = 12;

/// The pagination query parameters of every list endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1–100. Default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `meta.next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `desc` (newest first, the default) or `asc`.
    #[param(inline)]
    pub order: Option<SortOrder>,
}

/// Sort order of a list.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Desc,
    Asc,
}

/// Signs and checks cursors with the server secret.
pub struct CursorCodec {
    key: Vec<u8>,
}

impl CursorCodec {
    /// A codec keyed by `secret` (the store's server secret).
    pub fn new(secret: &[u8]) -> Self {
        CursorCodec {
            key: secret.to_vec(),
        }
    }

    fn tag(&self, list: &str, order: Order, position: i64) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(list.as_bytes());
        mac.update(if order == Order::Asc {
            b"\nasc\n"
        } else {
            b"\ndesc\n"
        });
        mac.update(&position.to_be_bytes());
        mac
    }

    fn encode(&self, list: &str, order: Order, position: i64) -> String {
        let tag = self.tag(list, order, position).finalize().into_bytes();
        let mut raw = position.to_be_bytes().to_vec();
        raw.extend_from_slice(&tag[..TAG_BYTES]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    fn decode(&self, list: &str, order: Order, cursor: &str) -> Result<i64> {
        let invalid = || {
            Error::invalid(
                "cursor",
                "The cursor is not valid for this list; use meta.next_cursor from the previous page",
            )
        };
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        if raw.len() != 8 + TAG_BYTES {
            return Err(invalid());
        }
        let position = i64::from_be_bytes(raw[..8].try_into().expect("8 bytes"));
        self.tag(list, order, position)
            .verify_truncated_left(&raw[8..])
            .map_err(|_| invalid())?;
        Ok(position)
    }

    /// Checks the parameters and resolves them into a store page request for
    /// the list named `list` (which must identify the tenant and filters).
    /// The request asks for one extra row, to learn whether more follow.
    ///
    /// Errors: `400` with `param: limit` or `param: cursor`.
    pub fn request(&self, list: &str, params: &PageParams) -> Result<(PageRequest, u32)> {
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let order = match params.order {
            Some(SortOrder::Asc) => Order::Asc,
            _ => Order::Desc,
        };
        let after = params
            .cursor
            .as_deref()
            .map(|cursor| self.decode(list, order, cursor))
            .transpose()?;
        let request = PageRequest {
            limit: limit as u32 + 1,
            order,
            after,
        };
        Ok((request, limit as u32))
    }

    /// Turns the rows of a [`CursorCodec::request`] into a page.
    pub fn page<T>(
        &self,
        list: &str,
        request: PageRequest,
        limit: u32,
        mut rows: Vec<Keyed<T>>,
    ) -> Page<T> {
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if has_more {
            rows.last()
                .map(|row| self.encode(list, request.order, row.position))
        } else {
            None
        };
        Page {
            data: rows.into_iter().map(|row| row.item).collect(),
            has_more,
            next_cursor,
        }
    }
}

impl CursorCodec {
    /// A page of a short list kept in memory (templates, models), with the
    /// same parameters and cursors as stored lists. Positions count down
    /// from the list's length, so the default order (`desc`) shows the list
    /// as defined and `asc` reverses it.
    ///
    /// Errors: as [`CursorCodec::request`].
    pub fn page_of<T>(&self, list: &str, params: &PageParams, items: Vec<T>) -> Result<Page<T>> {
        let (request, limit) = self.request(list, params)?;
        let count = items.len() as i64;
        let mut rows: Vec<Keyed<T>> = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| Keyed {
                position: count - index as i64,
                item,
            })
            .collect();
        if request.order == Order::Asc {
            rows.reverse();
        }
        let rows = rows
            .into_iter()
            .filter(|row| match (request.order, request.after) {
                (_, None) => true,
                (Order::Asc, Some(after)) => row.position > after,
                (Order::Desc, Some(after)) => row.position < after,
            })
            .take(request.limit as usize)
            .collect();
        Ok(self.page(list, request, limit, rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(cursor: Option<String>) -> PageParams {
        PageParams {
            limit: Some(2),
            cursor,
            order: None,
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let codec = CursorCodec::new(b"secret");
        let cursor = codec.encode("agents:o:live", Order::Desc, 42);
        let (request, _) = codec
            .request("agents:o:live", &params(Some(cursor.clone())))
            .unwrap();
        assert_eq!(request.after, Some(42));

        let mut raw = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        raw[7] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(raw);
        for bad in [tampered, "garbage".into(), String::new()] {
            let err = codec
                .request("agents:o:live", &params(Some(bad)))
                .unwrap_err();
            assert_eq!(err.param(), Some("cursor"));
        }
        let other_list = codec
            .request("agents:o:test", &params(Some(cursor)))
            .unwrap_err();
        assert_eq!(other_list.param(), Some("cursor"));
    }
}
