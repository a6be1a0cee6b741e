//! Listing jobs across users for operators: which jobs a filter selects, and
//! the id bounds that let a store skip what a date range excludes (job ids
//! are UUID v7, so they sort by creation time).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::model::{Job, JobStatus, WorkflowMode};

/// Which jobs an operator listing returns; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    pub user_id: Option<String>,
    pub status: Option<JobStatus>,
    pub mode: Option<WorkflowMode>,
    /// Created at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before this instant.
    pub created_before: Option<DateTime<Utc>>,
}

impl JobFilter {
    pub fn matches(&self, job: &Job) -> bool {
        self.user_id.as_ref().is_none_or(|u| *u == job.user_id)
            && self.status.is_none_or(|s| s == job.status)
            && self.mode.is_none_or(|m| m == job.mode)
            && self.created_from.is_none_or(|t| job.created_at >= t)
            && self.created_before.is_none_or(|t| job.created_at < t)
    }

    /// Ids below this are older than `created_from` (inclusive bound).
    pub fn lowest_id(&self) -> Option<Uuid> {
        self.created_from.map(first_id_at)
    }

    /// Ids at or above this are not older than `created_before`
    /// (exclusive bound); with a cursor, the lower of the two.
    pub fn id_ceiling(&self, cursor: Option<Uuid>) -> Option<Uuid> {
        let before = self.created_before.map(first_id_at);
        match (before, cursor) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// How many jobs one listing request reads at most when the filter selects
/// few of them: the page then ends early with a cursor to continue from, so a
/// request stays bounded however many jobs the store holds.
pub const MAX_SCANNED: usize = 2_000;

/// The smallest v7 id a job created at `at` can have: its millisecond, the
/// version nibble, every random bit zero. A creation time is a whole number of
/// milliseconds; an instant before 1970 bounds nothing and maps to the nil id.
pub fn first_id_at(at: DateTime<Utc>) -> Uuid {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobRequest;

    #[test]
    fn first_id_at_orders_with_real_ids_of_that_millisecond() {
        let job = Job::new("u".into(), WorkflowMode::Reactive, JobRequest::default());
        let ms = job.id.get_timestamp().map(|t| t.to_unix()).unwrap();
        let at = DateTime::from_timestamp(ms.0 as i64, ms.1).unwrap();
        assert!(first_id_at(at) <= job.id);
        assert!(first_id_at(at + chrono::Duration::milliseconds(1)) > job.id);
        assert!(first_id_at(at).to_string() <= job.id.to_string());
    }

    #[test]
    fn the_ceiling_is_the_lower_of_cursor_and_end_date() {
        let early = Utc::now() - chrono::Duration::days(1);
        let filter = JobFilter {
            created_before: Some(early),
            ..JobFilter::default()
        };
        let recent = Uuid::now_v7();
        assert_eq!(filter.id_ceiling(Some(recent)), Some(first_id_at(early)));
        assert_eq!(JobFilter::default().id_ceiling(Some(recent)), Some(recent));
        assert_eq!(JobFilter::default().id_ceiling(None), None);
    }
}
