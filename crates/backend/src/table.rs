//! The fixed set of tables (etcd's bolt buckets) and their redb definitions.
//!
//! Table names equal etcd's bucket names so tooling output matches. Every
//! table maps raw bytes to raw bytes; the layers above own the encodings.

use redb::TableDefinition;

/// A table of the backend. The set is fixed; all are created on open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// MVCC revisions: 17/18-byte revision key → encoded `mvccpb.KeyValue`.
    Key,
    /// Store metadata: consistent index, compaction marks.
    Meta,
    /// Leases.
    Lease,
    /// Cluster members.
    Members,
    /// Removed member ids.
    MembersRemoved,
    /// Cluster-wide settings (cluster version).
    Cluster,
    /// Raised alarms.
    Alarm,
    /// Auth settings (enabled flag, auth revision).
    Auth,
    /// Auth users.
    AuthUsers,
    /// Auth roles.
    AuthRoles,
}

/// Number of tables.
pub(crate) const TABLE_COUNT: usize = 10;

impl Table {
    /// Every table, in index order.
    pub const ALL: [Table; TABLE_COUNT] = [
        Table::Key,
        Table::Meta,
        Table::Lease,
        Table::Members,
        Table::MembersRemoved,
        Table::Cluster,
        Table::Alarm,
        Table::Auth,
        Table::AuthUsers,
        Table::AuthRoles,
    ];

    /// The on-disk name (etcd's bucket name).
    pub fn name(self) -> &'static str {
        match self {
            Table::Key => "key",
            Table::Meta => "meta",
            Table::Lease => "lease",
            Table::Members => "members",
            Table::MembersRemoved => "members_removed",
            Table::Cluster => "cluster",
            Table::Alarm => "alarm",
            Table::Auth => "auth",
            Table::AuthUsers => "authUsers",
            Table::AuthRoles => "authRoles",
        }
    }

    /// Position in [`Table::ALL`], used to index per-table buffers.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The redb definition of this table.
    pub(crate) fn definition(self) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
        TableDefinition::new(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_index_order_and_names_are_unique() {
        for (i, t) in Table::ALL.iter().enumerate() {
            assert_eq!(t.index(), i);
        }
        let mut names: Vec<_> = Table::ALL.iter().map(|t| t.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE_COUNT);
    }
}
