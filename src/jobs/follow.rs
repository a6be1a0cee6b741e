//! Following one job's events: every event after a given id, in order, each
//! exactly once, while events are still being written.
//!
//! The order of steps is what makes it lossless: subscribe first, then read
//! the log after the last id seen, then take live events, skipping ids already
//! yielded. An event written between the read and the subscription cannot be
//! missed, because the subscription already existed. When the hub drops the
//! subscription (this reader fell behind, or the feed reconnected), the same
//! steps run again from the last id seen.
//!
//! Events that are not logged (progress reports) pass straight through as
//! they arrive: they have no id to order or resume by.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::Stream;
use uuid::Uuid;

use super::hub::Subscription;
use super::model::{Event, EventId};
use super::store::{JobStore, StoreError};

struct Follower {
    store: Arc<dyn JobStore>,
    job_id: Uuid,
    last: Option<EventId>,
    subscription: Option<Subscription>,
    backlog: VecDeque<Arc<Event>>,
    failed: bool,
}

impl Follower {
    async fn next(&mut self) -> Option<Result<Arc<Event>, StoreError>> {
        if self.failed {
            return None;
        }
        loop {
            while let Some(event) = self.backlog.pop_front() {
                if self.last.is_none_or(|last| event.id > last) {
                    self.last = Some(event.id);
                    return Some(Ok(event));
                }
            }
            match &mut self.subscription {
                None => {
                    self.subscription = Some(self.store.subscribe(self.job_id));
                    match self.store.events_after(self.job_id, self.last).await {
                        Ok(events) => self.backlog.extend(events.into_iter().map(Arc::new)),
                        Err(e) => {
                            self.failed = true;
                            return Some(Err(e));
                        }
                    }
                }
                Some(subscription) => match subscription.recv().await {
                    Some(event) if !event.kind.is_logged() => return Some(Ok(event)),
                    Some(event) => self.backlog.push_back(event),
                    None => self.subscription = None,
                },
            }
        }
    }
}

/// The job's events after `after` (from the first when `None`), then live
/// ones, without end: the caller stops at the event it is waiting for. Ends
/// after yielding an error if the store cannot be read.
pub fn follow(
    store: Arc<dyn JobStore>,
    job_id: Uuid,
    after: Option<EventId>,
) -> impl Stream<Item = Result<Arc<Event>, StoreError>> + Send + 'static {
    let follower = Follower {
        store,
        job_id,
        last: after,
        subscription: None,
        backlog: VecDeque::new(),
        failed: false,
    };
    futures::stream::unfold(follower, |mut f| async move {
        let item = f.next().await?;
        Some((item, f))
    })
}
