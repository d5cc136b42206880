//! The C allocator's one setting for a process that relays large messages.
//!
//! Owns fixing glibc's mmap threshold at its initial 128 KiB. Left adaptive,
//! glibc raises the threshold to the largest mapped block freed so far, so
//! after one megabyte message every later one is carved from the heap and its
//! pages stay resident; fixed, a large buffer is mapped on its own and given
//! back to the system when freed. Resident memory then follows what a relay
//! holds now, not the largest message it once carried. Must not do anything
//! else.

/// The threshold, in bytes: glibc's own initial value.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Best effort, once at start-up; nothing where the C library has no such setting.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator parameter; it takes no pointers.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}
