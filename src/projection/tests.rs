//! The projection against its promises: the same bits for the same direction on every call,
//! other bits under another context, refusals of bad embeddings, and Hamming distances that
//! follow the angle (each bit differs with probability θ / π).

use super::*;
use crate::ContextOptions;

fn context(passphrase: &str) -> ExecutionContext {
    let options = ContextOptions {
        key_len: 256,
        embed_len: 512,
        allow_insecure: true,
        ..Default::default()
    };
    ExecutionContext::create_with_passphrase(&options, passphrase).unwrap()
}

fn hamming(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

#[test]
fn the_same_direction_gives_the_same_bits_and_another_context_others() {
    let ctx = context("pw");
    let embedding = [0.3, -1.0, 2.5, 0.0, 7.0];
    let bits = Projection::for_context(&ctx, 5)
        .unwrap()
        .project(&embedding)
        .unwrap();
    assert_eq!(bits.len(), 512);
    assert!(bits.iter().all(|&b| b <= 1));
    let again = Projection::for_context(&ctx, 5).unwrap();
    assert_eq!(again.project(&embedding.map(|x| x * 3.0)).unwrap(), bits);
    let other = Projection::for_context(&context("other"), 5).unwrap();
    let theirs = other.project(&embedding).unwrap();
    assert!(
        (200..312).contains(&hamming(&bits, &theirs)),
        "{}",
        hamming(&bits, &theirs)
    );
    assert_eq!(
        format!("{again:?}"),
        "Projection { dims: 5, bits: 512, .. }"
    );
}

#[test]
fn distances_follow_the_angle() {
    let ctx = context("pw");
    let projection = Projection::for_context(&ctx, 2).unwrap();
    let base = projection.project(&[1.0, 0.0]).unwrap();
    for degrees in [10.0f64, 45.0, 90.0, 135.0, 180.0] {
        let angle = degrees.to_radians();
        let turned = projection.project(&[angle.cos(), angle.sin()]).unwrap();
        let expected = 512.0 * degrees / 180.0;
        let found = hamming(&base, &turned) as f64;
        // Each of 512 bits differs with probability θ / π: within 5 standard deviations.
        let sigma = (512.0 * (degrees / 180.0) * (1.0 - degrees / 180.0)).sqrt();
        assert!(
            (found - expected).abs() <= 5.0 * sigma + 1.0,
            "{degrees}°: {found}"
        );
    }
}

#[test]
fn bad_embeddings_are_refused() {
    let ctx = context("pw");
    assert!(Projection::for_context(&ctx, 0).is_err());
    let projection = Projection::for_context(&ctx, 3).unwrap();
    assert!(projection.project(&[1.0, 2.0]).is_err());
    assert!(projection.project(&[1.0, f64::NAN, 2.0]).is_err());
    assert!(projection.project(&[1.0, f64::INFINITY, 2.0]).is_err());
    assert!(Projection::for_context(&ctx, 1 << 30).is_err());
}

#[test]
fn a_data_key_and_a_fingerprint_give_the_contexts_projection() {
    let ctx = context("pw");
    let key = ctx.key_provider().data_key().unwrap();
    let fingerprint = ctx.public().public_key().fingerprint().to_string();
    let embedding = [0.5, -0.25, 3.0];
    let from_key = Projection::from_data_key(&key, &fingerprint, 3, 512).unwrap();
    let from_context = Projection::for_context(&ctx, 3).unwrap();
    assert_eq!(
        from_key.project(&embedding).unwrap(),
        from_context.project(&embedding).unwrap()
    );
    // Another fingerprint is another projection; no bits is refused.
    let elsewhere = Projection::from_data_key(&key, "another", 3, 512).unwrap();
    assert_ne!(
        elsewhere.project(&embedding).unwrap(),
        from_key.project(&embedding).unwrap()
    );
    assert!(Projection::from_data_key(&key, &fingerprint, 3, 0).is_err());
}
