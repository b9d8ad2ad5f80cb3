//! Flush memory bookkeeping and change accounting.

use std::collections::{BTreeMap, BTreeSet};

use super::test_support::*;
use super::*;

#[test]
fn change_counts() {
    let k = key("192.0.2.1", 6, 80);
    let calls = vec![
        add_vip(k, Encap::Gre4, false),
        add(k, "10.0.0.1", 1),
        add(k, "10.0.0.2", 1),
        set(k, "10.0.0.1", 0, true),
        del(k, "10.0.0.2"),
        LbCall::DelVip { key: k },
    ];
    let counts = ChangeCounts::count(&calls);
    assert_eq!(
        counts,
        ChangeCounts {
            vip_added: 1,
            vip_removed: 1,
            as_added: 2,
            as_removed: 1,
            as_weight_updated: 1
        }
    );
    assert_eq!(counts.total(), 6);
    assert_eq!(counts.by_kind()[2], ("as_added", 2));
    assert!(ChangeCounts::count(&[]).is_empty());
    assert!(calls[3].is_flush() && calls[4].is_flush() && !calls[1].is_flush());
    assert_eq!(
        calls.iter().map(LbCall::key).collect::<BTreeSet<_>>().len(),
        1
    );
}

#[test]
fn flush_memory_bookkeeping() {
    let k = key("192.0.2.1", 6, 80);
    let other = key("192.0.2.2", 6, 80);
    let want = desired(
        k,
        Encap::Gre4,
        false,
        &[("10.0.0.1", 0, true, 4), ("10.0.0.2", 5, false, 4)],
    );
    let mut memory = FlushMemory::new();

    memory.record(&set(k, "10.0.0.1", 0, false), Some(&want));
    assert!(memory.is_empty(), "no flush, no marker");
    memory.record(&set(k, "10.0.0.2", 5, true), Some(&want));
    assert!(
        memory.is_empty(),
        "forced flush of a no-flush AS leaves no marker"
    );
    memory.record(&set(k, "10.0.0.1", 0, true), Some(&want));
    assert!(memory.holds(&k, ip("10.0.0.1"), 4));
    assert!(!memory.holds(&k, ip("10.0.0.1"), 5));
    memory.record(&set(k, "10.0.0.1", 0, true), None);
    assert_eq!(
        memory.len(),
        1,
        "no desired VIP: nothing learnt, nothing lost"
    );

    memory.record(&del(k, "10.0.0.1"), None);
    assert!(memory.is_empty());
    memory.record(&add(k, "10.0.0.1", 0), Some(&want));
    assert!(
        memory.holds(&k, ip("10.0.0.1"), 4),
        "a fresh AS counts as flushed"
    );
    memory.record(&add(other, "10.0.0.1", 0), Some(&want));
    assert_eq!(memory.len(), 1, "desired VIP of another key is not used");

    memory.record(&add_vip(k, Encap::Gre4, false), Some(&want));
    assert!(memory.is_empty(), "new VIP object forgets markers");
    memory.record(&add(k, "10.0.0.1", 0), Some(&want));
    memory.record(&LbCall::DelVip { key: k }, None);
    assert!(memory.is_empty());

    memory.record(&add(k, "10.0.0.1", 0), Some(&want));
    let configured: BTreeMap<VipKey, DesiredVip> =
        [(other, desired(other, Encap::Gre4, false, &[]))].into();
    memory.retain_vips(&configured);
    assert!(memory.is_empty());
    memory.record(&add(k, "10.0.0.1", 0), Some(&want));
    memory.clear();
    assert!(memory.is_empty());
    memory.record(&add(k, "10.0.0.1", 0), Some(&want));
    memory.forget_vip(&other);
    assert_eq!(memory.len(), 1);
    memory.forget_vip(&k);
    assert!(memory.is_empty());
}
