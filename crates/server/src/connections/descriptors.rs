//! The cap on connections against the process's limit of open descriptors: a cap above what the
//! process may open would let idle sockets exhaust the descriptors before the cap evicts any,
//! and then nothing (not even `/healthz`) is accepted.

/// Descriptors kept for everything but the connections: the store's files, the listeners, the
/// runtime, the GPU driver, and the few connections turned away or on the metrics listener.
pub const RESERVED_DESCRIPTORS: usize = 64;

/// The cap in force: `asked`, or less when the soft limit of open descriptors leaves less than
/// `asked` once [`RESERVED_DESCRIPTORS`] are kept. The second value is the limit when it
/// lowered the cap.
pub fn clamp(asked: usize) -> (usize, Option<u64>) {
    match soft_limit() {
        Some(limit) => {
            let room = usize::try_from(limit)
                .unwrap_or(usize::MAX)
                .saturating_sub(RESERVED_DESCRIPTORS)
                .max(1);
            if room < asked {
                (room, Some(limit))
            } else {
                (asked, None)
            }
        }
        None => (asked.max(1), None),
    }
}

/// RLIMIT_NOFILE's soft limit, when there is one.
#[cfg(unix)]
#[allow(unsafe_code)]
fn soft_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer to a local.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if status != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    #[allow(clippy::useless_conversion)] // rlim_t is u64 on most targets, not all
    u64::try_from(limit.rlim_cur).ok()
}

#[cfg(not(unix))]
fn soft_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_never_exceeds_the_descriptors_left() {
        let (cap, clamped) = clamp(usize::MAX);
        match soft_limit() {
            Some(limit) => {
                assert_eq!(clamped, Some(limit));
                assert!(cap as u64 <= limit.saturating_sub(RESERVED_DESCRIPTORS as u64).max(1));
            }
            None => assert_eq!((cap, clamped), (usize::MAX, None)),
        }
        assert_eq!(clamp(1), (1, None));
    }
}
