//! Replication lag: while a directory write spreads to Entra's replicas, the requests that miss it see the
//! version before it. Deterministic (each write is missed by N requests and for M ms) or seeded-random
//! (the number of misses is drawn per write and replicas flap until they agree).

use std::io::Write as _;

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::Serialize;

use crate::config::Settings;

/// In random mode, a request that meets a write still replicating sees it with this probability (a
/// replica that already has it answered).
const FLAP_PROBABILITY: f64 = 0.3;

/// How long one write stays unseen.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lag {
    /// Requests that will still miss the write (each request that meets it uses one).
    pub misses_left: u32,
    /// The write cannot be seen before this instant (emulator clock), whatever the misses left.
    pub visible_at: DateTime<Utc>,
}

impl Lag {
    /// Every replica has the write: no request can miss it any more.
    fn is_over(&self, now: DateTime<Utc>) -> bool {
        self.misses_left == 0 && now >= self.visible_at
    }
}

/// What a write did, and so what a request that misses it sees instead.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "change", rename_all = "camelCase")]
pub enum Change<B> {
    /// A new object: a request that misses it finds nothing.
    Created,
    /// Changed properties: a request that misses the change sees `before`.
    Updated {
        #[serde(rename = "readersSee")]
        before: B,
    },
    /// Deleted on the primary: a request that misses the deletion still finds the object.
    Removed,
}

/// A write that is not everywhere yet.
#[derive(Debug, Clone, Serialize)]
pub struct Pending<B = ()> {
    #[serde(flatten)]
    pub change: Change<B>,
    #[serde(flatten)]
    pub lag: Lag,
}

/// A directory object whose writes replicate with a lag.
pub trait Replicated: Clone {
    /// The properties an update changes (what a request that misses the update sees); `()` for objects
    /// that are only created and removed.
    type Before: Clone;

    /// The write of this object still replicating, if any.
    fn pending(&mut self) -> &mut Option<Pending<Self::Before>>;

    /// The current values of the properties an update changes.
    fn properties(&self) -> Self::Before;

    /// A copy showing `before` instead of the current properties.
    fn as_before(&self, before: &Self::Before) -> Self;

    /// Fills in the parts of `seen` that replicate on their own (an application's keys).
    fn view_parts(&mut self, _seen: &mut Self, _replicator: &mut Replicator, _now: DateTime<Utc>) {}

    /// Whether its creation is still replicating.
    fn being_created(&mut self) -> bool {
        matches!(
            self.pending(),
            Some(Pending {
                change: Change::Created,
                ..
            })
        )
    }
}

/// Makes the lag of each write and decides what each request sees. Holds the RNG of random mode.
#[derive(Debug)]
pub struct Replicator {
    delay_reads: u32,
    delay_ms: u64,
    /// `Some` in random mode.
    rng: Option<StdRng>,
}

impl Replicator {
    /// A replicator for `settings`, seeded with their `replication_random_seed` (silently: the caller
    /// reports seeds where a person can see them).
    pub fn new(settings: &Settings) -> Self {
        Self {
            delay_reads: settings.replication_delay_reads,
            delay_ms: settings.replication_delay_ms,
            rng: settings.replication_random_seed.map(StdRng::seed_from_u64),
        }
    }

    /// Takes new delays for the writes that follow (writes already made keep theirs).
    pub fn configure(&mut self, settings: &Settings) {
        self.delay_reads = settings.replication_delay_reads;
        self.delay_ms = settings.replication_delay_ms;
    }

    /// Random mode from `seed` on (`None`: deterministic), and one line on stderr naming the seed so that
    /// a failing chaos run can be replayed.
    pub fn reseed(&mut self, seed: Option<u64>) {
        self.rng = seed.map(StdRng::seed_from_u64);
        if let Some(seed) = seed {
            report_seed(seed);
        }
    }

    /// The lag of a write made now; `None` when it is seen at once.
    fn lag(&mut self, now: DateTime<Utc>) -> Option<Lag> {
        let misses = match &mut self.rng {
            None => self.delay_reads,
            Some(rng) => rng.random_range(0..=self.delay_reads.saturating_mul(2)),
        };
        if misses == 0 && self.delay_ms == 0 {
            return None;
        }
        let delay = i64::try_from(self.delay_ms).unwrap_or(i64::MAX);
        Some(Lag {
            misses_left: misses,
            visible_at: now
                .checked_add_signed(TimeDelta::milliseconds(delay))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        })
    }

    /// The pending write of a new object.
    pub fn created<B>(&mut self, now: DateTime<Utc>) -> Option<Pending<B>> {
        self.lag(now).map(|lag| Pending {
            change: Change::Created,
            lag,
        })
    }

    /// Call just before changing `object`'s properties: requests that miss the change keep seeing the
    /// properties they see now (the oldest version not yet replaced everywhere).
    pub fn updating<T: Replicated>(&mut self, object: &mut T, now: DateTime<Utc>) {
        let before = match object.pending().take() {
            // Nobody sees the object yet; it will appear with its latest properties.
            Some(
                created @ Pending {
                    change: Change::Created,
                    ..
                },
            ) => {
                *object.pending() = Some(created);
                return;
            }
            Some(Pending {
                change: Change::Updated { before },
                ..
            }) => before,
            _ => object.properties(),
        };
        *object.pending() = self.lag(now).map(|lag| Pending {
            change: Change::Updated { before },
            lag,
        });
    }

    /// `object` was just deleted on the primary: requests that miss the deletion still find it, with the
    /// properties they saw. An object whose creation nobody saw yet simply vanishes.
    pub fn removed<T: Replicated>(&mut self, mut object: T, tombstones: &mut Vec<T>, now: DateTime<Utc>) {
        if object.being_created() {
            return;
        }
        let Some(lag) = self.lag(now) else {
            return;
        };
        let mut shown = match object.pending().take() {
            Some(Pending {
                change: Change::Updated { before },
                ..
            }) => object.as_before(&before),
            _ => object,
        };
        *shown.pending() = Some(Pending {
            change: Change::Removed,
            lag,
        });
        tombstones.push(shown);
    }

    /// Whether this request sees the write in `slot`. A request that meets a write still replicating uses
    /// one of its misses; the slot is cleared once the write is everywhere.
    pub fn sees<B>(&mut self, slot: &mut Option<Pending<B>>, now: DateTime<Utc>) -> bool {
        let Some(pending) = slot else {
            return true;
        };
        if pending.lag.is_over(now) {
            *slot = None;
            return true;
        }
        pending.lag.misses_left = pending.lag.misses_left.saturating_sub(1);
        self.rng
            .as_mut()
            .is_some_and(|rng| rng.random_bool(FLAP_PROBABILITY))
    }

    /// A committed object as this request sees it: `None` while it misses the object's creation.
    pub fn view<T: Replicated>(&mut self, object: &mut T, now: DateTime<Utc>) -> Option<T> {
        let change = object.pending().as_ref().map(|p| p.change.clone());
        let mut seen = match change {
            None => object.clone(),
            Some(_) if self.sees(object.pending(), now) => object.clone(),
            Some(Change::Created) => return None,
            Some(Change::Updated { before }) => object.as_before(&before),
            Some(Change::Removed) => object.clone(),
        };
        object.view_parts(&mut seen, self, now);
        Some(seen)
    }

    /// The removed objects `wanted` picks that this request still finds; forgets those removed everywhere.
    pub fn still_seen<T: Replicated>(
        &mut self,
        tombstones: &mut Vec<T>,
        wanted: impl Fn(&T) -> bool,
        now: DateTime<Utc>,
    ) -> Vec<T> {
        let mut seen = Vec::new();
        tombstones.retain_mut(|tombstone| {
            if !wanted(tombstone) {
                return true;
            }
            if !self.sees(tombstone.pending(), now) {
                seen.push(tombstone.clone());
            }
            tombstone.pending().is_some()
        });
        seen
    }

    /// The objects `wanted` picks as this request sees them: committed ones, then removed ones it still
    /// finds. A filter applies to the version the request sees (an updated object is met if either its
    /// old or its new version matches, and listed if the one it sees does).
    pub fn list<T: Replicated>(
        &mut self,
        committed: &mut [T],
        tombstones: &mut Vec<T>,
        wanted: impl Fn(&T) -> bool,
        now: DateTime<Utc>,
    ) -> Vec<T> {
        let mut seen = Vec::new();
        for object in committed.iter_mut() {
            let before = match object.pending() {
                Some(Pending {
                    change: Change::Updated { before },
                    ..
                }) => Some(before.clone()),
                _ => None,
            };
            let met = wanted(object) || before.is_some_and(|b| wanted(&object.as_before(&b)));
            if !met {
                continue;
            }
            if let Some(view) = self.view(object, now).filter(|view| wanted(view)) {
                seen.push(view);
            }
        }
        seen.extend(self.still_seen(tombstones, wanted, now));
        seen
    }

    /// The one object `key` addresses, as this request sees it: the committed one, else a removed one a
    /// lagging replica still has.
    pub fn find<T: Replicated>(
        &mut self,
        committed: &mut [T],
        tombstones: &mut Vec<T>,
        key: impl Fn(&T) -> bool,
        now: DateTime<Utc>,
    ) -> Option<T> {
        if let Some(object) = committed.iter_mut().find(|object| key(object)) {
            if let Some(seen) = self.view(object, now) {
                return Some(seen);
            }
        }
        self.still_seen(tombstones, key, now).into_iter().next()
    }

    /// The index of the committed object a write addresses, if this request sees its creation (a write
    /// to an object created moments ago fails like a read).
    pub fn for_write<T: Replicated>(
        &mut self,
        committed: &mut [T],
        key: impl Fn(&T) -> bool,
        now: DateTime<Utc>,
    ) -> Option<usize> {
        let index = committed.iter().position(key)?;
        let object = committed.get_mut(index)?;
        if object.being_created() && !self.sees(object.pending(), now) {
            return None;
        }
        Some(index)
    }
}

/// Clears the pending write of `object` once it is everywhere (so the state dump shows only live lags).
pub fn forget_if_over<T: Replicated>(object: &mut T, now: DateTime<Utc>) {
    if object.pending().as_ref().is_some_and(|p| p.lag.is_over(now)) {
        *object.pending() = None;
    }
}

/// Drops the removed objects every replica has forgotten.
pub fn forget_tombstones<T: Replicated>(tombstones: &mut Vec<T>, now: DateTime<Utc>) {
    tombstones.retain_mut(|t| t.pending().as_ref().is_some_and(|p| !p.lag.is_over(now)));
}

/// One line on stderr. Written by hand: `eprintln!` panics when stderr is closed.
pub fn report_seed(seed: u64) {
    let _ = writeln!(
        std::io::stderr(),
        "partnercenter-emulator: replication random seed {seed}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone)]
    struct Note {
        text: String,
        pending: Option<Pending<String>>,
    }

    impl Replicated for Note {
        type Before = String;
        fn pending(&mut self) -> &mut Option<Pending<String>> {
            &mut self.pending
        }
        fn properties(&self) -> String {
            self.text.clone()
        }
        fn as_before(&self, before: &String) -> Self {
            Self {
                text: before.clone(),
                pending: self.pending.clone(),
            }
        }
    }

    fn settings(reads: u32, ms: u64, seed: Option<u64>) -> Settings {
        Settings {
            replication_delay_reads: reads,
            replication_delay_ms: ms,
            replication_random_seed: seed,
            ..Settings::default()
        }
    }

    #[test]
    fn misses_then_time_must_pass() {
        let now = Utc::now();
        let mut replicator = Replicator::new(&settings(2, 1000, None));
        let mut note = Note {
            text: "new".into(),
            pending: replicator.created(now),
        };
        assert!(replicator.view(&mut note, now).is_none());
        assert!(replicator.view(&mut note, now).is_none());
        assert!(
            replicator.view(&mut note, now).is_none(),
            "misses used up, but the second has not passed"
        );
        let later = now + TimeDelta::milliseconds(1000);
        assert!(replicator.view(&mut note, later).is_some());
        assert!(note.pending.is_none());
        assert!(
            Replicator::new(&settings(0, 0, None))
                .created::<()>(now)
                .is_none()
        );
    }

    #[test]
    fn updates_show_the_oldest_unreplaced_version() {
        let now = Utc::now();
        let mut replicator = Replicator::new(&settings(1, 0, None));
        let mut note = Note {
            text: "v1".into(),
            pending: None,
        };
        replicator.updating(&mut note, now);
        note.text = "v2".into();
        replicator.updating(&mut note, now);
        note.text = "v3".into();
        let seen = replicator.view(&mut note, now).map(|n| n.text);
        assert_eq!(seen.as_deref(), Some("v1"));
        let seen = replicator.view(&mut note, now).map(|n| n.text);
        assert_eq!(seen.as_deref(), Some("v3"));
    }

    #[test]
    fn filters_apply_to_the_version_a_request_sees() {
        let now = Utc::now();
        let mut replicator = Replicator::new(&settings(1, 0, None));
        let mut committed = vec![Note {
            text: "old".into(),
            pending: None,
        }];
        replicator.updating(&mut committed[0], now);
        committed[0].text = "new".into();
        let mut tombstones = Vec::new();
        let mut named = |text: &str| {
            replicator
                .list(&mut committed, &mut tombstones, |n| n.text == text, now)
                .len()
        };
        assert_eq!(named("new"), 0, "the lagging request sees the old name");
        assert_eq!(named("old"), 0, "… no longer: the update has replicated");
        assert_eq!(named("new"), 1);
    }

    #[test]
    fn removed_objects_stay_findable_until_replicated() {
        let now = Utc::now();
        let mut replicator = Replicator::new(&settings(2, 0, None));
        let mut tombstones = Vec::new();
        let note = Note {
            text: "gone".into(),
            pending: None,
        };
        replicator.removed(note, &mut tombstones, now);
        let mut committed: Vec<Note> = vec![];
        for _ in 0..2 {
            let found = replicator.find(&mut committed, &mut tombstones, |_| true, now);
            assert_eq!(found.map(|n| n.text).as_deref(), Some("gone"));
        }
        assert!(
            replicator
                .find(&mut committed, &mut tombstones, |_| true, now)
                .is_none()
        );
        assert!(tombstones.is_empty());
        // Removing what nobody saw created leaves nothing behind.
        let fresh = Note {
            text: "fresh".into(),
            pending: replicator.created(now),
        };
        replicator.removed(fresh, &mut tombstones, now);
        assert!(tombstones.is_empty());
    }

    #[test]
    fn random_mode_is_reproducible_and_flaps() {
        fn run(seed: u64) -> Vec<bool> {
            let now = Utc::now();
            let mut replicator = Replicator::new(&settings(4, 0, Some(seed)));
            let mut seen = Vec::new();
            for _ in 0..50 {
                let mut note = Note {
                    text: "x".into(),
                    pending: replicator.created(now),
                };
                for _ in 0..10 {
                    seen.push(replicator.view(&mut note, now).is_some());
                }
            }
            seen
        }
        let first = run(7);
        assert_eq!(first, run(7), "a seed reproduces a run");
        assert_ne!(first, run(8));
        let flapped = first
            .chunks(10)
            .any(|reads| reads.windows(2).any(|w| w[0] && !w[1]));
        assert!(
            flapped,
            "a replica that had the write can be followed by one that has not"
        );
        assert!(first.chunks(10).all(|reads| reads[9]), "at most 8 misses");
    }
}
