//! The table of requests awaiting a response, to pair them for the audit log and
//! to know which response answers a `tools/list`.
//!
//! Owns [`Pending`]: id → what the audit record needs, bounded to [`CAPACITY`]
//! entries per direction (the oldest is evicted and reported unanswered). It must
//! not parse messages or write records; the guard does both.

use std::collections::{HashMap, VecDeque};
use std::time::{Instant, SystemTime};

use super::message::IdKey;

/// Most requests tracked per direction.
pub const CAPACITY: usize = 4096;

/// One request awaiting its response.
#[derive(Debug)]
pub struct Entry {
    pub method: Box<str>,
    pub id_raw: Box<str>,
    pub tool: Option<Box<str>>,
    pub args_sha256: Option<Box<str>>,
    pub arguments: Option<Box<str>>,
    pub ts: SystemTime,
    pub start: Instant,
    pub request_bytes: u64,
    /// The HTTP status the request got (`connect`'s remote transport only).
    pub http_status: Option<u16>,
    seq: u64,
}

impl Entry {
    pub fn new(method: &str, id_raw: &str, request_bytes: u64) -> Self {
        Self::at(
            method,
            id_raw,
            request_bytes,
            SystemTime::now(),
            Instant::now(),
        )
    }

    /// An entry seen at `start` (wall time `ts`), with no clock read.
    pub fn at(
        method: &str,
        id_raw: &str,
        request_bytes: u64,
        ts: SystemTime,
        start: Instant,
    ) -> Self {
        Self {
            method: method.into(),
            id_raw: id_raw.into(),
            tool: None,
            args_sha256: None,
            arguments: None,
            ts,
            start,
            request_bytes,
            http_status: None,
            seq: 0,
        }
    }
}

/// Requests in flight in one direction.
#[derive(Debug)]
pub struct Pending {
    map: HashMap<IdKey, Entry>,
    /// Insertion order, with stale keys (already removed) skipped lazily.
    order: VecDeque<(IdKey, u64)>,
    cap: usize,
    seq: u64,
}

impl Default for Pending {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl Pending {
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
            seq: 0,
        }
    }

    /// Tracks a request. Returns an entry that fell out: the previous one with
    /// the same id, or the oldest one when the table is full.
    pub fn insert(&mut self, key: IdKey, mut entry: Entry) -> Option<Entry> {
        self.seq += 1;
        entry.seq = self.seq;
        if self.order.len() > 2 * self.cap + 16 {
            // drop stale order entries so the queue stays bounded
            let map = &self.map;
            self.order
                .retain(|(k, seq)| map.get(k).is_some_and(|e| e.seq == *seq));
        }
        self.order.push_back((key.clone(), self.seq));
        if let Some(old) = self.map.insert(key, entry) {
            return Some(old);
        }
        if self.map.len() > self.cap {
            while let Some((k, seq)) = self.order.pop_front() {
                if self.map.get(&k).is_some_and(|e| e.seq == seq) {
                    return self.map.remove(&k);
                }
            }
        }
        None
    }

    pub fn remove(&mut self, key: &IdKey) -> Option<Entry> {
        self.map.remove(key)
    }

    pub fn get_mut(&mut self, key: &IdKey) -> Option<&mut Entry> {
        self.map.get_mut(key)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Everything still waiting, oldest first.
    pub fn drain(&mut self) -> Vec<Entry> {
        self.order.clear();
        let mut v: Vec<Entry> = self.map.drain().map(|(_, e)| e).collect();
        v.sort_by_key(|e| e.seq);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u32) -> IdKey {
        IdKey::Num(n.to_string().into())
    }

    #[test]
    fn bounded_and_evicts_oldest() {
        let mut p = Pending::with_capacity(3);
        for i in 0..3 {
            assert!(p.insert(k(i), Entry::new("m", &i.to_string(), 1)).is_none());
        }
        let ev = p.insert(k(9), Entry::new("m", "9", 1)).expect("evicted");
        assert_eq!(&*ev.id_raw, "0");
        assert_eq!(p.len(), 3);
        assert!(p.remove(&k(0)).is_none());
        assert!(p.remove(&k(9)).is_some());
    }

    #[test]
    fn order_queue_stays_bounded_under_churn() {
        let mut p = Pending::with_capacity(4);
        for i in 0..10_000 {
            p.insert(k(i), Entry::new("m", "x", 1));
            if i % 3 != 0 {
                p.remove(&k(i));
            }
            assert!(p.order.len() <= 2 * 4 + 17);
            assert!(p.len() <= 4);
        }
        let left = p.drain();
        assert_eq!(left.len(), 4);
        assert!(left.windows(2).all(|w| w[0].seq < w[1].seq));
    }

    #[test]
    fn duplicate_id_replaces() {
        let mut p = Pending::default();
        p.insert(k(1), Entry::new("a", "1", 1));
        let old = p.insert(k(1), Entry::new("b", "1", 1)).expect("replaced");
        assert_eq!(&*old.method, "a");
        assert_eq!(&*p.remove(&k(1)).expect("b").method, "b");
        assert!(p.is_empty());
    }

    #[test]
    fn string_and_number_ids_are_distinct() {
        let mut p = Pending::default();
        p.insert(k(1), Entry::new("num", "1", 1));
        p.insert(IdKey::Str("1".into()), Entry::new("str", "\"1\"", 1));
        assert_eq!(p.len(), 2);
        assert_eq!(p.drain().len(), 2);
    }
}
