//! A scheduling hint for the threads on every write's critical path: the
//! Raft thread (WAL append + fsync) and the applier.
//!
//! Why: under Linux's EEVDF scheduler a thread woken by its fsync completing,
//! on a CPU busy with a CPU-bound task (a compiler, a client), waits until
//! that task's time slice ends: milliseconds, for a thread that needs ~20 µs.
//! `perf sched timehist` on a 1-client put showed the Raft thread waiting
//! ~0.35 ms per put this way, the largest single share of put latency. Since
//! Linux 6.12 a `SCHED_OTHER` thread may ask for a shorter slice
//! (`sched_attr.sched_runtime`, which the kernel clamps to 0.1–100 ms); a
//! waking thread whose slice is shorter than the running one's preempts it.
//!
//! Contract: same policy and nice value as before (read back first, so an
//! operator's `nice` stays in force), no privilege needed, no larger CPU
//! share; only threads under `SCHED_OTHER` are touched. Older kernels ignore
//! the field. It is a hint: any failure is ignored.

/// The slice asked for (the kernel's minimum, 0.1 ms).
pub const CRITICAL_THREAD_SLICE_NS: u64 = 100_000;

/// `struct sched_attr` of `sched_setattr(2)` (the 48-byte version with the
/// utilization clamps).
#[cfg(target_os = "linux")]
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
    sched_util_min: u32,
    sched_util_max: u32,
}

/// Asks the kernel for a short time slice for the calling thread; see the
/// module docs. Returns whether the kernel accepted the request.
#[cfg(target_os = "linux")]
pub fn mark_latency_critical() -> bool {
    let size = std::mem::size_of::<SchedAttr>() as u32;
    let mut attr = SchedAttr::default();
    // SAFETY: `attr` is a writable `sched_attr` of `size` bytes; tid 0 is
    // the calling thread.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0,
            &mut attr as *mut SchedAttr,
            size,
            0,
        )
    };
    if rc != 0 || attr.sched_policy != libc::SCHED_OTHER as u32 {
        return false;
    }
    attr.size = size;
    attr.sched_flags = 0;
    attr.sched_runtime = CRITICAL_THREAD_SLICE_NS;
    // SAFETY: `attr` is a valid `sched_attr` of `attr.size` bytes.
    let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    rc == 0
}

/// No such hint on this platform.
#[cfg(not(target_os = "linux"))]
pub fn mark_latency_critical() -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn nice_and_policy() -> (i32, u32) {
        let mut attr = SchedAttr::default();
        let size = std::mem::size_of::<SchedAttr>() as u32;
        // SAFETY: as in `mark_latency_critical`.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_sched_getattr,
                0,
                &mut attr as *mut SchedAttr,
                size,
                0,
            )
        };
        assert_eq!(rc, 0);
        (attr.sched_nice, attr.sched_policy)
    }

    #[test]
    fn keeps_the_threads_nice_value_and_policy() {
        std::thread::spawn(|| {
            // SAFETY: lowers the calling thread's priority only.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 7) };
            let before = nice_and_policy();
            mark_latency_critical();
            assert_eq!(nice_and_policy(), before);
        })
        .join()
        .unwrap();
    }
}
