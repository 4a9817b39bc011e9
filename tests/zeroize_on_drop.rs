//! Secrets are wiped before their memory goes back to the allocator.
//!
//! A watching global allocator scans every block freed while it is armed for "needles": bytes of
//! the secret key (phi, p, p², p − 1), the AES data key and the passphrase. Dropping a context
//! that has used every lazily built secret structure must free no block that still holds one.
//! A control block that is not wiped proves the scanner sees what it should.
//!
//! Out of scope (see SECURITY.md): short-lived temporaries inside num-bigint and serde_json
//! while a context is parsed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use num_bigint::BigUint;
use paillier_gpu::{ContextOptions, ExecutionContext, Scheme};
use serde_json::Value;

const NEEDLE_BYTES: usize = 16;
const MAX_NEEDLES: usize = 8;

/// Needles live in static atomics, not on the heap: the allocator must not allocate or lock.
static NEEDLES: [[AtomicU8; NEEDLE_BYTES]; MAX_NEEDLES] =
    [const { [const { AtomicU8::new(0) }; NEEDLE_BYTES] }; MAX_NEEDLES];
static NEEDLE_COUNT: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);
/// Bit i set: needle i was found in a freed block.
static FOUND: AtomicUsize = AtomicUsize::new(0);

struct WatchingAllocator;

unsafe impl GlobalAlloc for WatchingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) && layout.size() >= NEEDLE_BYTES {
            // SAFETY: the block is still allocated and `layout.size()` bytes long.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            let mut needle = [0u8; NEEDLE_BYTES];
            for (i, stored) in NEEDLES
                .iter()
                .enumerate()
                .take(NEEDLE_COUNT.load(Ordering::SeqCst))
            {
                for (byte, cell) in needle.iter_mut().zip(stored) {
                    *byte = cell.load(Ordering::Relaxed);
                }
                if block.windows(NEEDLE_BYTES).any(|w| w == needle) {
                    FOUND.fetch_or(1 << i, Ordering::SeqCst);
                }
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: WatchingAllocator = WatchingAllocator;

fn set_needles(needles: &[(&'static str, [u8; NEEDLE_BYTES])]) {
    assert!(needles.len() <= MAX_NEEDLES);
    for ((_, bytes), stored) in needles.iter().zip(&NEEDLES) {
        for (cell, &b) in stored.iter().zip(bytes) {
            cell.store(b, Ordering::Relaxed);
        }
    }
    NEEDLE_COUNT.store(needles.len(), Ordering::SeqCst);
}

fn low_bytes(value: &BigUint) -> [u8; NEEDLE_BYTES] {
    let mut out = [0u8; NEEDLE_BYTES];
    let bytes = value.to_bytes_le();
    out.copy_from_slice(&bytes[..NEEDLE_BYTES]);
    out
}

fn found_after(f: impl FnOnce()) -> usize {
    FOUND.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    FOUND.load(Ordering::SeqCst)
}

#[test]
fn dropping_a_context_frees_no_block_that_holds_a_secret() {
    const PASSPHRASE: &str = "zeroize-test passphrase, not for use";
    for scheme in [Scheme::Paillier, Scheme::PaillierLookup] {
        let options = ContextOptions {
            scheme,
            key_len: 256,
            embed_len: 32,
            alpha_len: 64,
            allow_insecure: true,
            ..ContextOptions::default()
        };
        let ctx = ExecutionContext::create_with_passphrase(&options, PASSPHRASE).unwrap();
        // Build every lazy secret structure: owner tables (encryption), CRT decoding, the key.
        let vectors = vec![vec![1u8; 32], vec![0u8; 32]];
        let encrypted = ctx.encrypt_batch(&vectors).unwrap();
        assert_eq!(ctx.decode_batch(&encrypted).unwrap(), vec![32, 0]);
        let saved = ctx.to_json().unwrap();
        let reloaded = ExecutionContext::from_json_with_passphrase(&saved, PASSPHRASE).unwrap();
        assert_eq!(reloaded, ctx);
        drop(reloaded);

        let needles = {
            let plain: Value = serde_json::from_str(&ctx.to_plain_json()).unwrap();
            let sk: Value = serde_json::from_str(plain["sk"].as_str().unwrap()).unwrap();
            let int = |v: &Value| match v {
                Value::String(s) => s.parse::<BigUint>().unwrap(),
                other => other.to_string().parse::<BigUint>().unwrap(),
            };
            let phi = int(&sk["phi"]);
            let n = ctx.public().public_key().n().clone();
            let sum = &n - &phi + 1u32; // p + q
            let diff = (&sum * &sum - &n * 4u32).sqrt(); // p − q
            let p = (&sum + &diff) >> 1;
            let mut key = [0u8; NEEDLE_BYTES];
            key.copy_from_slice(&ctx.key_provider().data_key().unwrap().as_bytes()[..16]);
            let mut pass = [0u8; NEEDLE_BYTES];
            pass.copy_from_slice(&PASSPHRASE.as_bytes()[..16]);
            vec![
                ("phi", low_bytes(&phi)),
                ("p", low_bytes(&p)),
                ("p - 1", low_bytes(&(&p - 1u32))),
                ("p squared", low_bytes(&(&p * &p))),
                ("data key", key),
                ("passphrase", pass),
            ]
        };
        set_needles(&needles);

        // Control: an unwiped copy of a needle is found when freed.
        let control = needles[0].1.to_vec();
        assert_eq!(found_after(|| drop(control)), 1, "the scanner is blind");

        assert_eq!(
            std::sync::Arc::strong_count(ctx.secret_key()),
            1,
            "something else keeps the secret key alive"
        );
        // Decoding frees no block holding p, p − 1, p² or the key either (its residues, the
        // exponentiation results and the recombination's values are wiped first).
        let names = |found: usize| -> Vec<&str> {
            needles
                .iter()
                .enumerate()
                .filter(|(i, _)| found & (1 << i) != 0)
                .map(|(_, (name, _))| *name)
                .collect()
        };
        let leaked = names(found_after(|| {
            assert_eq!(ctx.decode_batch(&encrypted).unwrap(), vec![32, 0]);
        }));
        assert!(
            leaked.is_empty(),
            "{scheme:?}: decoding freed memory that still held {leaked:?}"
        );

        let leaked = names(found_after(|| drop(ctx)));
        assert!(
            leaked.is_empty(),
            "{scheme:?}: freed memory still held {leaked:?}"
        );
    }
}
