//! The permission cache: each user's key permissions, merged over all its
//! roles, as two sorted lists of disjoint key intervals (read and write).
//!
//! Contract (etcd's `range_perm_cache.go`): a permission `(key, range_end)`
//! covers the single key `key` when `range_end` is empty, every key from
//! `key` on when `range_end` is `"\0"`, and `[key, range_end)` otherwise. A
//! request for a range is allowed when the union of the user's intervals of
//! that type covers the whole requested range (adjacent intervals join), and
//! for a single key when some interval contains it. `READWRITE` counts for
//! both types. An empty or inverted permission range covers nothing.

use etcd_proto::authpb::{permission::Type, Permission};

/// The kind of access a check asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermType {
    /// Reading keys (range, watch, txn compares).
    Read,
    /// Writing keys (put, delete).
    Write,
}

/// `[start, end)`; `end == None` means unbounded.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Interval {
    start: Vec<u8>,
    end: Option<Vec<u8>>,
}

/// One user's merged permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPerms {
    read: Vec<Interval>,
    write: Vec<Interval>,
}

/// The smallest key after `key`.
fn next_key(key: &[u8]) -> Vec<u8> {
    let mut k = key.to_vec();
    k.push(0);
    k
}

/// The interval a `(key, range_end)` pair names, or `None` if it is empty.
fn interval(key: &[u8], range_end: &[u8]) -> Option<Interval> {
    match range_end {
        [] => Some(Interval {
            start: key.to_vec(),
            end: Some(next_key(key)),
        }),
        [0] => Some(Interval {
            start: key.to_vec(),
            end: None,
        }),
        end if end > key => Some(Interval {
            start: key.to_vec(),
            end: Some(end.to_vec()),
        }),
        _ => None,
    }
}

/// Sorts and joins overlapping or adjacent intervals.
fn merge(mut v: Vec<Interval>) -> Vec<Interval> {
    v.sort_by(|a, b| a.start.cmp(&b.start));
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for iv in v {
        if let Some(last) = out.last_mut() {
            let touches = match &last.end {
                None => true,
                Some(e) => iv.start <= *e,
            };
            if touches {
                last.end = match (last.end.take(), iv.end) {
                    (None, _) | (_, None) => None,
                    (Some(a), Some(b)) => Some(a.max(b)),
                };
                continue;
            }
        }
        out.push(iv);
    }
    out
}

/// True when one interval of `set` (sorted, disjoint) covers `want`.
fn covers(set: &[Interval], want: &Interval) -> bool {
    let idx = set.partition_point(|iv| iv.start <= want.start);
    let Some(iv) = idx.checked_sub(1).map(|i| &set[i]) else {
        return false;
    };
    match (&iv.end, &want.end) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(have), Some(w)) => have >= w,
    }
}

impl UserPerms {
    /// Merges the permissions of all of a user's roles.
    pub fn from_permissions<'a>(perms: impl IntoIterator<Item = &'a Permission>) -> UserPerms {
        let (mut read, mut write) = (Vec::new(), Vec::new());
        for p in perms {
            let Some(iv) = interval(&p.key, &p.range_end) else {
                continue;
            };
            match Type::try_from(p.perm_type).unwrap_or(Type::Read) {
                Type::Read => read.push(iv),
                Type::Write => write.push(iv),
                Type::Readwrite => {
                    read.push(iv.clone());
                    write.push(iv);
                }
            }
        }
        UserPerms {
            read: merge(read),
            write: merge(write),
        }
    }

    /// Whether the user may access `[key, range_end)` (or the single `key`
    /// when `range_end` is empty; from `key` on when it is `"\0"`).
    pub fn allows(&self, key: &[u8], range_end: &[u8], ty: PermType) -> bool {
        let set = match ty {
            PermType::Read => &self.read,
            PermType::Write => &self.write,
        };
        let want = match range_end {
            [] => Interval {
                start: key.to_vec(),
                end: Some(next_key(key)),
            },
            [0] => Interval {
                start: key.to_vec(),
                end: None,
            },
            end => Interval {
                start: key.to_vec(),
                end: Some(end.to_vec()),
            },
        };
        covers(set, &want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(key: &str, end: &[u8], t: Type) -> Permission {
        Permission {
            perm_type: t as i32,
            key: key.as_bytes().to_vec(),
            range_end: end.to_vec(),
        }
    }

    #[test]
    fn single_key_permission_covers_only_that_key() {
        let p = UserPerms::from_permissions(&[perm("foo", b"", Type::Read)]);
        assert!(p.allows(b"foo", b"", PermType::Read));
        assert!(!p.allows(b"foo", b"", PermType::Write));
        assert!(!p.allows(b"foo0", b"", PermType::Read));
        assert!(!p.allows(b"foo", b"fop", PermType::Read));
        assert!(p.allows(b"foo", b"foo\0", PermType::Read));
    }

    #[test]
    fn prefix_and_from_key() {
        let p = UserPerms::from_permissions(&[perm("a/", b"a0", Type::Readwrite), perm("m", b"\0", Type::Write)]);
        assert!(p.allows(b"a/x", b"", PermType::Read));
        assert!(p.allows(b"a/", b"a0", PermType::Write));
        assert!(!p.allows(b"a", b"", PermType::Read));
        assert!(p.allows(b"zzz", b"", PermType::Write));
        assert!(p.allows(b"m", b"\0", PermType::Write));
        assert!(!p.allows(b"l", b"\0", PermType::Write));
        assert!(!p.allows(b"m", b"\0", PermType::Read));
    }

    #[test]
    fn adjacent_intervals_join() {
        let p = UserPerms::from_permissions(&[perm("a", b"c", Type::Read), perm("c", b"e", Type::Read)]);
        assert!(p.allows(b"a", b"e", PermType::Read));
        assert!(!p.allows(b"a", b"f", PermType::Read));
        let gap = UserPerms::from_permissions(&[perm("a", b"c", Type::Read), perm("d", b"e", Type::Read)]);
        assert!(!gap.allows(b"a", b"e", PermType::Read));
    }

    #[test]
    fn empty_and_inverted_permissions_cover_nothing() {
        let p = UserPerms::from_permissions(&[perm("b", b"a", Type::Read)]);
        assert!(!p.allows(b"b", b"", PermType::Read));
    }

    proptest::proptest! {
        /// Against a model: a key range over a small alphabet is allowed
        /// exactly when every key in it is covered by some permission.
        #[test]
        fn matches_brute_force(
            perms in proptest::collection::vec((0u8..6, 0u8..7), 0..5),
            start in 0u8..6, end in 0u8..7,
        ) {
            let to_perm = |(s, e): (u8, u8)| {
                let end = if e == 6 { vec![0] } else { vec![b'a' + e] };
                Permission { perm_type: Type::Read as i32, key: vec![b'a' + s], range_end: end }
            };
            let ps: Vec<Permission> = perms.iter().copied().map(to_perm).collect();
            let up = UserPerms::from_permissions(&ps);
            // Keys are single letters a..f plus "g" standing for "anything beyond".
            let in_perm = |k: u8, p: &Permission| {
                let key = p.key[0];
                if p.range_end == [0] { k >= key } else { k >= key && k < p.range_end[0] }
            };
            let req_end = if end == 6 { None } else { Some(b'a' + end) };
            let keys: Vec<u8> = (b'a' + start..=b'g').filter(|k| req_end.is_none_or(|e| *k < e)).collect();
            let expected = if req_end.is_some_and(|e| e <= b'a' + start) {
                None
            } else {
                Some(keys.iter().all(|k| ps.iter().any(|p| in_perm(*k, p))))
            };
            let range_end = req_end.map(|e| vec![e]).unwrap_or(vec![0]);
            if let Some(expected) = expected {
                proptest::prop_assert_eq!(up.allows(&[b'a' + start], &range_end, PermType::Read), expected);
            }
        }
    }
}
