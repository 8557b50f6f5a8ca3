//! The lease table's on-disk format is etcd's; these bytes pin it.

use etcd_lease::{lease_id_from_key, lease_key, LeaseRecord};

#[test]
fn record_encoding_matches_leasepb() {
    let r = LeaseRecord {
        id: 0x694d_8a1f_2b3c_4d5e,
        ttl_s: 100,
        remaining_ttl_s: 0,
    };
    // field 1 varint, field 2 varint 100; RemainingTTL 0 omitted (proto3).
    let golden: &[u8] = &[
        0x08, 0xde, 0x9a, 0xf1, 0xd9, 0xf2, 0xc3, 0xe2, 0xa6, 0x69, 0x10, 0x64,
    ];
    assert_eq!(r.to_bytes(), golden);
    assert_eq!(LeaseRecord::from_bytes(golden), Some(r));

    let r = LeaseRecord {
        id: 1,
        ttl_s: 600,
        remaining_ttl_s: 299,
    };
    let golden: &[u8] = &[0x08, 0x01, 0x10, 0xd8, 0x04, 0x18, 0xab, 0x02];
    assert_eq!(r.to_bytes(), golden);
    assert_eq!(LeaseRecord::from_bytes(golden), Some(r));
}

#[test]
fn key_is_big_endian_id() {
    assert_eq!(lease_key(0x0102_0304_0506_0708), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(
        lease_id_from_key(&[1, 2, 3, 4, 5, 6, 7, 8]),
        Some(0x0102_0304_0506_0708)
    );
    assert_eq!(lease_id_from_key(&[1, 2]), None);
    // Big-endian keys sort like positive ids.
    assert!(lease_key(2) > lease_key(1) && lease_key(256) > lease_key(255));
}
