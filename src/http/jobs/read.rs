//! The read path of jobs: a job's status and a user's list pages are rendered
//! once per version and served from memory as bytes (with a gzip variant),
//! carrying an `ETag` so pollers revalidate instead of downloading again.
//!
//! A request still asks the store for the current version (one small read),
//! so a write on any replica is seen at once; only the rendering (inflate,
//! parse, serialise, compress ~12 KB for a finished plan) is skipped.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;
use uuid::Uuid;

use super::{JobListResponse, JobStatusResponse, JobSummary};
use crate::http::error::ApiError;
use crate::jobs::{Job, JobStore};

/// Rendered bytes kept per process, whatever the number of jobs: a finished
/// plan is ~12 KB plus ~3 KB gzipped, so this holds ~2,000 of them.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Bodies below this size go out uncompressed, as the compression layer does.
const GZIP_ABOVE: usize = 1000;

/// One rendered response body and its validator.
pub struct Rendered {
    etag: HeaderValue,
    /// The version (status) or page digest it was rendered at.
    tag: u64,
    json: Bytes,
    gzip: Option<Bytes>,
}

impl Rendered {
    fn new(tag: u64, etag: HeaderValue, body: &impl Serialize) -> Result<Self, ApiError> {
        let json = serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?;
        let gzip = (json.len() >= GZIP_ABOVE).then(|| gzip(&json)).flatten();
        Ok(Self {
            etag,
            tag,
            json: json.into(),
            gzip,
        })
    }

    fn size(&self) -> usize {
        self.json.len() + self.gzip.as_ref().map_or(0, Bytes::len)
    }

    /// 200 with the body, gzipped when the client accepts it.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        validators(headers, &self.etag);
        match &self.gzip {
            Some(gzip) if accepts_gzip(request) => {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                *response.body_mut() = Body::from(gzip.clone());
            }
            _ => *response.body_mut() = Body::from(self.json.clone()),
        }
        response
    }
}

fn gzip(json: &[u8]) -> Option<Bytes> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 3), Compression::default());
    encoder.write_all(json).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

fn validators(headers: &mut HeaderMap, etag: &HeaderValue) {
    headers.insert(header::ETAG, etag.clone());
    // Caches may keep the body but must ask again before using it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

/// 304 with no body: the client's copy is current.
pub fn not_modified(etag: &HeaderValue) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    validators(response.headers_mut(), etag);
    response
}

/// A job's ETag: its version, weak because the gzip and plain bodies differ
/// byte for byte.
pub fn status_etag(version: u64) -> HeaderValue {
    weak_etag(version)
}

fn weak_etag(tag: u64) -> HeaderValue {
    // Digits and quotes only: always a valid header value.
    HeaderValue::try_from(format!("W/\"{tag}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""))
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak comparison.
pub fn etag_matches(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = opaque(etag.to_str().unwrap_or_default());
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|theirs| theirs == "*" || opaque(theirs) == ours)
}

fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// Whether `Accept-Encoding` allows gzip (explicitly, or through `*`).
fn accepts_gzip(request: &HeaderMap) -> bool {
    let (mut gzip, mut any) = (None, None);
    for item in request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(q > 0.0);
        } else if coding == "*" {
            any = Some(q > 0.0);
        }
    }
    gzip.or(any).unwrap_or(false)
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Status(Uuid),
    Page {
        user: String,
        limit: usize,
        cursor: Option<Uuid>,
    },
}

#[derive(Default)]
struct Entries {
    map: HashMap<Key, Arc<Rendered>>,
    bytes: usize,
}

/// Rendered statuses and list pages of this process, bounded by
/// `CACHE_BYTES`. Entries are checked against the store's version on every
/// read, so the cache is never a source of truth, only of bytes.
#[derive(Default)]
pub struct ReadCache {
    entries: Mutex<Entries>,
}

impl ReadCache {
    /// The job's status at `version` or later.
    pub async fn status(
        &self,
        store: &dyn JobStore,
        id: Uuid,
        version: u64,
    ) -> Result<Option<Arc<Rendered>>, ApiError> {
        let key = Key::Status(id);
        if let Some(hit) = self.get(&key).filter(|r| r.tag >= version) {
            return Ok(Some(hit));
        }
        let Some((job, version)) = store.get_versioned(id).await? else {
            return Ok(None);
        };
        let rendered = Rendered::new(
            version,
            status_etag(version),
            &JobStatusResponse::from(&job),
        )?;
        Ok(Some(self.put(key, rendered)))
    }

    /// One page of a user's jobs; its ETag digests each job's id and
    /// version and the cursor, so any write to a listed job, a new job or
    /// an expired one changes it.
    pub async fn page(
        &self,
        store: &dyn JobStore,
        user: &str,
        limit: usize,
        cursor: Option<Uuid>,
        request: &HeaderMap,
    ) -> Result<Response, ApiError> {
        let versions = store.list_user_versions(user, limit, cursor).await?;
        let tag = page_digest(&versions.entries, versions.next_cursor);
        let etag = weak_etag(tag);
        if etag_matches(request, &etag) {
            return Ok(not_modified(&etag));
        }
        let key = Key::Page {
            user: user.to_string(),
            limit,
            cursor,
        };
        if let Some(hit) = self.get(&key).filter(|r| r.tag == tag) {
            return Ok(hit.respond(request));
        }
        let ids: Vec<Uuid> = versions.entries.iter().map(|(id, _)| *id).collect();
        let jobs = store.get_many_versioned(&ids).await?;
        // Digest what was read: a write between the two reads must not be
        // served under the older tag.
        let read: Vec<(Uuid, u64)> = jobs.iter().map(|(job, v)| (job.id, *v)).collect();
        let tag = page_digest(&read, versions.next_cursor);
        let body = JobListResponse {
            jobs: jobs
                .iter()
                .map(|(job, _): &(Job, u64)| JobSummary::from(job))
                .collect(),
            next_cursor: versions.next_cursor.map(|c| c.to_string()),
        };
        let rendered = Rendered::new(tag, weak_etag(tag), &body)?;
        Ok(self.put(key, rendered).respond(request))
    }

    fn get(&self, key: &Key) -> Option<Arc<Rendered>> {
        self.lock().map.get(key).cloned()
    }

    /// Keeps `rendered` unless a newer status is already there; evicts
    /// arbitrary entries (a hash map's order) to stay within the budget.
    fn put(&self, key: Key, rendered: Rendered) -> Arc<Rendered> {
        let rendered = Arc::new(rendered);
        let size = rendered.size();
        if size > CACHE_BYTES / 16 {
            return rendered;
        }
        let mut entries = self.lock();
        if let (Key::Status(_), Some(current)) = (&key, entries.map.get(&key))
            && current.tag > rendered.tag
        {
            return current.clone();
        }
        if let Some(old) = entries.map.insert(key, rendered.clone()) {
            entries.bytes -= old.size();
        }
        entries.bytes += size;
        while entries.bytes > CACHE_BYTES {
            let Some(victim) = entries.map.keys().next().cloned() else {
                break;
            };
            if let Some(old) = entries.map.remove(&victim) {
                entries.bytes -= old.size();
            }
        }
        rendered
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Holders only insert and remove whole entries: nothing half-done.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The same on every replica (fixed-key SipHash), so ETags agree across them.
fn page_digest(entries: &[(Uuid, u64)], next_cursor: Option<Uuid>) -> u64 {
    let mut hasher = DefaultHasher::new();
    entries.hash(&mut hasher);
    next_cursor.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let etag = status_etag(7);
        assert_eq!(etag, "W/\"7\"");
        for value in ["W/\"7\"", "\"7\"", "\"3\", W/\"7\"", "*"] {
            assert!(
                etag_matches(&headers(&[(header::IF_NONE_MATCH, value)]), &etag),
                "{value}"
            );
        }
        for value in ["W/\"8\"", "7", ""] {
            assert!(
                !etag_matches(&headers(&[(header::IF_NONE_MATCH, value)]), &etag),
                "{value}"
            );
        }
        assert!(!etag_matches(&HeaderMap::new(), &etag));
    }

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let accepts = |v: &str| accepts_gzip(&headers(&[(header::ACCEPT_ENCODING, v)]));
        assert!(accepts("gzip, deflate, br"));
        assert!(accepts("br;q=1.0, gzip;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("*, gzip;q=0"));
        assert!(!accepts("br, identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
