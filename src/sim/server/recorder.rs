//! The request recorder: every request the simulator receives, in arrival
//! order, in a bounded log tests can read, clear and wait on.
//!
//! `wait_for` blocks on a condition variable signalled by each append, so a
//! test waits exactly as long as it takes the request to arrive (its
//! `at` instant is the "frame arriving at vppsim" time of latency checks).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One received request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Position in the recorder's whole history (not reset by `clear`).
    pub seq: u64,
    /// Server-assigned connection id (1, 2, … over the simulator's life).
    pub conn: u64,
    /// Bare message name (`lb_as_set_weight`), `unknown` for an id not in
    /// the table.
    pub name: String,
    pub msg_id: u16,
    /// The body as received (message id first).
    pub body: Vec<u8>,
    /// Decoded fields, `key=value` separated by spaces.
    pub summary: String,
    /// When the frame was complete in the server's buffer.
    pub at: Instant,
}

struct Log {
    records: VecDeque<Record>,
    next_seq: u64,
    capacity: usize,
}

/// The shared, bounded log.
pub struct Recorder {
    log: Mutex<Log>,
    appended: Condvar,
}

impl Recorder {
    /// A log keeping at most `capacity` records (oldest dropped first).
    pub fn new(capacity: usize) -> Recorder {
        Recorder {
            log: Mutex::new(Log {
                records: VecDeque::new(),
                next_seq: 0,
                capacity: capacity.max(1),
            }),
            appended: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        // A panicking test thread must not take the recorder down with it.
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends a record (its `seq` is assigned here) and wakes waiters.
    pub fn append(&self, mut record: Record) {
        let mut log = self.lock();
        record.seq = log.next_seq;
        log.next_seq += 1;
        if log.records.len() >= log.capacity {
            log.records.pop_front();
        }
        log.records.push_back(record);
        drop(log);
        self.appended.notify_all();
    }

    /// A copy of every record kept.
    pub fn records(&self) -> Vec<Record> {
        self.lock().records.iter().cloned().collect()
    }

    pub fn clear(&self) {
        self.lock().records.clear();
    }

    /// The first kept record (oldest first, including ones already there)
    /// satisfying `pred`, waiting up to `timeout` for it to arrive.
    pub fn wait_for(
        &self,
        mut pred: impl FnMut(&Record) -> bool,
        timeout: Duration,
    ) -> Option<Record> {
        let deadline = Instant::now() + timeout;
        let mut log = self.lock();
        // Records up to this seq have been looked at already.
        let mut checked_seq = 0u64;
        loop {
            if let Some(found) = log
                .records
                .iter()
                .filter(|r| r.seq >= checked_seq)
                .find(|r| pred(r))
            {
                return Some(found.clone());
            }
            checked_seq = log.next_seq;
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            log = self
                .appended
                .wait_timeout(log, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn record(name: &str) -> Record {
        Record {
            seq: 0,
            conn: 1,
            name: name.to_owned(),
            msg_id: 1,
            body: vec![0, 1],
            summary: String::new(),
            at: Instant::now(),
        }
    }

    #[test]
    fn bounded_and_sequenced() {
        let rec = Recorder::new(2);
        for name in ["a", "b", "c"] {
            rec.append(record(name));
        }
        let kept = rec.records();
        assert_eq!(
            kept.iter()
                .map(|r| (r.seq, r.name.as_str()))
                .collect::<Vec<_>>(),
            vec![(1, "b"), (2, "c")]
        );
        rec.clear();
        assert!(rec.records().is_empty());
        rec.append(record("d"));
        assert_eq!(rec.records()[0].seq, 3);
    }

    #[test]
    fn wait_for_sees_old_and_new_records_and_times_out() {
        let rec = Arc::new(Recorder::new(10));
        rec.append(record("old"));
        assert_eq!(
            rec.wait_for(|r| r.name == "old", Duration::ZERO)
                .map(|r| r.name),
            Some("old".to_owned())
        );
        let writer = {
            let rec = Arc::clone(&rec);
            std::thread::spawn(move || {
                for name in ["x", "y", "new"] {
                    rec.append(record(name));
                }
            })
        };
        let found = rec.wait_for(|r| r.name == "new", Duration::from_secs(10));
        writer.join().unwrap();
        assert_eq!(found.map(|r| r.seq), Some(3));
        let started = Instant::now();
        assert_eq!(
            rec.wait_for(|r| r.name == "never", Duration::from_millis(30)),
            None
        );
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
