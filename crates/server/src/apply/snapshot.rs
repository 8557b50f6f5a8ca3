//! Snapshots between members, on the applier's side.
//!
//! Leader: when Raft wants to send a snapshot, the applier commits and pins
//! the backend between two entries (`Backend::export`), a helper thread
//! copies it to a file, and the transport ships it with the message.
//! Follower: when Raft installs a received snapshot, the database that came
//! with it replaces the backend; the KV index, leases and membership are
//! reloaded from it and the snapshot's membership. Entries after the
//! snapshot that the shipped database already covers are skipped by the
//! usual `consistent_index` rule.

use etcd_raft_node::raft::eraftpb::{Message, Snapshot};

use super::{fatal, Applier};

/// Exports the backend for `msg`'s peer and hands both to the transport.
pub(super) fn export(a: &mut Applier, msg: Message) {
    let export = match a.backend.export() {
        Ok(e) => e,
        Err(e) => fatal(&format!("backend commit failed: {e}")),
    };
    let path = a
        .snap_dir
        .join(format!("{:x}-{:016x}.send.db", msg.to, msg.get_snapshot().get_metadata().index));
    let transport = a.transport.clone();
    let spawned = std::thread::Builder::new().name("snapshot-export".into()).spawn(move || {
        match export.write_to(&path) {
            Ok(()) => transport.send_snapshot(msg, path),
            Err(e) => tracing::error!(target: "etcdserver", "failed to write a database snapshot: {e}"),
        }
    });
    if let Err(e) = spawned {
        tracing::error!(target: "etcdserver", "cannot start the snapshot export: {e}");
    }
}

/// Installs a snapshot from the leader with the database that came with it.
pub(super) fn install(a: &mut Applier, snap: Snapshot) {
    let meta = snap.get_metadata();
    let db = etcd_transport::snapshot::db_path(&a.snap_dir, meta.index);
    if !db.exists() {
        fatal(&format!("snapshot at index {} arrived without its database {}", meta.index, db.display()));
    }
    tracing::info!(target: "etcdserver", "applying snapshot at index {}...", meta.index);
    if let Err(e) = a.backend.restore_from(&db) {
        fatal(&format!("failed to restore the database from the snapshot: {e}"));
    }
    if let Err(e) = a.kv.reload() {
        fatal(&format!("failed to reload the key-value store from the snapshot: {e}"));
    }
    // The store jumped ahead without notifications: synced watchers must
    // catch up from the new data (found by the robustness suite, seed 1).
    a.watch_hub.restore(a.kv.current_revision());
    if let Err(e) = super::lease::restore(&a.lease.lessor, &a.backend, &a.kv) {
        fatal(&format!("failed to restore leases from the snapshot: {e}"));
    }
    if let Err(e) = a.alarm.alarms.reload() {
        fatal(&format!("failed to restore alarms from the snapshot: {e}"));
    }
    match crate::auth::load_store(&a.backend) {
        Ok(store) => *a.auth.store.write() = store,
        Err(e) => fatal(&format!("failed to restore auth from the snapshot: {e}")),
    }
    let (membership, v2) = crate::snapshot_payload::decode(&snap.data);
    a.members.restore(&membership);
    if let Some(v2) = v2 {
        if let Err(e) = a.v2.lock().recover(&v2) {
            fatal(&format!("failed to restore the v2 store from the snapshot: {e}"));
        }
    }
    for m in a.members.list() {
        a.transport.add_peer(m.id, m.peer_urls.clone());
    }
    a.conf_state = meta.get_conf_state().clone();
    a.applied_index = meta.index;
    a.snapshot_index = meta.index;
    a.applied_tx.send_replace(meta.index);
    tracing::info!(target: "etcdserver", "finished applying incoming snapshot at index {} (backend at consistent index {})",
        meta.index, a.kv.consistent_index());
}
